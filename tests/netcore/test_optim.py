"""Each optimizer's update against a hand computation, and the gradient transforms."""

from __future__ import annotations

import numpy as np
import pytest

from netcore.optim import (
    OPTIMIZERS,
    ClipGlobalNorm,
    L1Penalty,
    L2Penalty,
    get_optimizer,
)

P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.1, -0.3, 2.0])
G2 = np.array([-0.2, 0.4, 1.0])
LR = 0.1


def _two_steps(name, **options):
    opt = get_optimizer(name, **options)
    p = P0.copy()
    opt.step(p, G1.copy(), LR)
    after_one = p.copy()
    opt.step(p, G2.copy(), LR)
    return after_one, p


def test_sgd():
    one, two = _two_steps("sgd")
    np.testing.assert_allclose(one, P0 - LR * G1)
    np.testing.assert_allclose(two, P0 - LR * G1 - LR * G2)


def test_momentum():
    one, two = _two_steps("momentum", momentum=0.9)
    v1 = -LR * G1
    v2 = 0.9 * v1 - LR * G2
    np.testing.assert_allclose(one, P0 + v1)
    np.testing.assert_allclose(two, P0 + v1 + v2)


def test_nesterov():
    one, two = _two_steps("nesterov", momentum=0.9)
    v1 = -LR * G1
    p1 = P0 + (1 + 0.9) * v1
    v2 = 0.9 * v1 - LR * G2
    p2 = p1 - 0.9 * v1 + (1 + 0.9) * v2
    np.testing.assert_allclose(one, p1)
    np.testing.assert_allclose(two, p2)


def test_rmsprop():
    one, two = _two_steps("rmsprop", rho=0.9, eps=1e-8)
    s1 = 0.1 * G1**2
    p1 = P0 - LR * G1 / (np.sqrt(s1) + 1e-8)
    s2 = 0.9 * s1 + 0.1 * G2**2
    np.testing.assert_allclose(one, p1)
    np.testing.assert_allclose(two, p1 - LR * G2 / (np.sqrt(s2) + 1e-8))


def test_adam_with_bias_correction():
    b1, b2, eps = 0.9, 0.999, 1e-8
    one, two = _two_steps("adam", beta1=b1, beta2=b2, eps=eps)
    m, v, p = np.zeros(3), np.zeros(3), P0.copy()
    expected = []
    for t, g in enumerate([G1, G2], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - LR * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(p)
    # The first Adam step moves each parameter by about lr * sign(g).
    np.testing.assert_allclose(one - P0, -LR * np.sign(G1), rtol=1e-6)
    np.testing.assert_allclose(one, expected[0], rtol=1e-7)
    np.testing.assert_allclose(two, expected[1], rtol=1e-7)


def test_adagrad():
    one, two = _two_steps("adagrad", eps=1e-10)
    a1 = G1**2
    p1 = P0 - LR * G1 / (np.sqrt(a1) + 1e-10)
    a2 = a1 + G2**2
    np.testing.assert_allclose(one, p1)
    np.testing.assert_allclose(two, p1 - LR * G2 / (np.sqrt(a2) + 1e-10))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_round_trip_is_exact(name):
    opt = get_optimizer(name)
    p = P0.copy()
    opt.step(p, G1.copy(), LR)
    saved, p_saved = opt.state_dict(), p.copy()
    opt.step(p, G2.copy(), LR)
    after = p.copy()
    opt.load_state_dict(saved)
    p[...] = p_saved
    opt.step(p, G2.copy(), LR)
    np.testing.assert_array_equal(p, after)


def test_float32_updates_stay_float32():
    p = P0.astype(np.float32)
    get_optimizer("adam").step(p, G1.astype(np.float32), LR)
    assert p.dtype == np.float32


def test_unknown_optimizer_lists_the_allowed_names():
    with pytest.raises(ValueError, match=r"must be one of \['adagrad', 'adam'"):
        get_optimizer("adamw")


def test_option_the_optimizer_does_not_take():
    with pytest.raises(ValueError, match="does not take \\['momentum'\\]"):
        get_optimizer("adam", momentum=0.9)


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan")])
def test_bad_momentum(bad):
    with pytest.raises(ValueError, match="momentum"):
        get_optimizer("momentum", momentum=bad)


def test_l2_decays_weights_not_biases():
    params = np.array([1.0, -2.0, 3.0, 4.0])
    grads = np.zeros(4)
    L2Penalty(0.5)(params, grads, n_weights=2)
    np.testing.assert_allclose(grads, [0.5, -1.0, 0.0, 0.0])
    grads[:] = 0
    L2Penalty(0.5, include_biases=True)(params, grads, n_weights=2)
    np.testing.assert_allclose(grads, 0.5 * params)


def test_l1_adds_the_sign():
    params = np.array([1.0, -2.0, 0.0, 4.0])
    grads = np.ones(4)
    L1Penalty(0.1)(params, grads, n_weights=3)
    np.testing.assert_allclose(grads, [1.1, 0.9, 1.0, 1.0])


def test_global_norm_clipping():
    grads = np.array([3.0, 4.0])
    ClipGlobalNorm(1.0)(None, grads, 2)
    np.testing.assert_allclose(grads, [0.6, 0.8])
    small = np.array([0.3, 0.4])
    ClipGlobalNorm(1.0)(None, small, 2)
    np.testing.assert_allclose(small, [0.3, 0.4])
