"""Labels of the wrong kind (strings, objects, a column) get an error naming ``y``
and what to do, or match the net when they can."""

from __future__ import annotations

import numpy as np
import pytest

import netcore


# Labels of the wrong kind get an error naming y and what to do.
@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy", "mse"])
@pytest.mark.parametrize("labels", [np.array(["a", "b", "a", "b"]),
                                    np.array(["a", 1, None, 2.0], dtype=object)])
def test_string_or_object_labels_are_a_type_error_naming_y(rng, loss, labels):
    model = netcore.MLP([3, 4, 2 if loss == "cross_entropy" else 1], loss=loss, seed=0)
    X = rng.normal(size=(4, 3))
    with pytest.raises(TypeError, match=r"^y must hold .*got dtype"):
        netcore.fit(model, X, labels, epochs=1)
    with pytest.raises(TypeError, match=r"^y must hold"):
        model.evaluate(X, labels)
    with pytest.raises(TypeError, match=r"^y_val must hold"):
        netcore.fit(model, X, np.array([0, 1, 0, 1]), X, labels, epochs=1)


def test_string_labels_say_how_to_encode_them(rng):
    model = netcore.MLP([3, 4, 2], seed=0)
    with pytest.raises(TypeError, match=r"np\.unique\(y, return_inverse=True\)"):
        netcore.fit(model, rng.normal(size=(4, 3)), np.array(["a", "b", "a", "b"]), epochs=1)


def test_column_labels_for_a_softmax_net_say_ravel(rng):
    model = netcore.MLP([3, 4, 2], seed=0)
    X, y = rng.normal(size=(6, 3)), np.array([0, 1, 0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"y has shape \(6, 1\).*pass y\.ravel\(\)"):
        netcore.fit(model, X, y.reshape(-1, 1), epochs=1)
    with pytest.raises(ValueError, match=r"y has shape \(6, 1\).*y\.ravel\(\)"):
        model.evaluate(X, y.reshape(-1, 1))
    netcore.fit(model, X, y, epochs=1)  # 1-D labels train


def test_column_targets_match_a_one_output_sigmoid_net(rng):
    # One sigmoid output: (n, 1) targets have the output's own shape and are accepted.
    model = netcore.MLP([3, 4, 1], loss="binary_cross_entropy", seed=0)
    X, y = rng.normal(size=(6, 3)), np.array([0, 1, 0, 1, 1, 0])
    assert model.evaluate(X, y.reshape(-1, 1)) == model.evaluate(X, y)
