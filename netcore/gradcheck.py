"""Finite-difference gradient check of the backward pass."""

from __future__ import annotations

import numpy as np

from netcore.model import MLP


def _mean_loss(model: MLP, X: np.ndarray, T: np.ndarray) -> float:
    loss, _ = model.loss.loss_sum(model.forward(X, training=True), T)
    return loss / len(X)


def _numeric_gradient(net: MLP, X, T, indices, eps: float) -> np.ndarray:
    numeric = np.zeros(len(indices))
    for k, i in enumerate(indices):
        original = net.params[i]
        net.params[i] = original + eps
        plus = _mean_loss(net, X, T)
        net.params[i] = original - eps
        minus = _mean_loss(net, X, T)
        net.params[i] = original
        numeric[k] = (plus - minus) / (2 * eps)
    return numeric


def gradcheck(model: MLP, X, y, *, eps: float = 1e-5, max_per_array: int | None = None,
              seed: int = 0) -> float:
    """Relative error between backprop and central differences, worst array first.

    Works on a float64 copy of ``model``, so the model itself is untouched. For
    each parameter array (each layer's W and b, batch norm's gamma and beta,
    PReLU's slopes) it compares the analytic gradient ``a`` of the mean loss
    with the central difference ``n`` as ``||a - n|| / (||a|| + ||n||)`` and
    returns the largest value. Comparing
    whole arrays rather than single entries keeps entries whose gradient is
    ~1e-10 (saturated units) from turning float64 rounding into a false alarm.

    Every pass runs in training mode: batch norm uses the batch statistics of
    ``X``, and dropout draws its masks once (from the copy's seeded Generator)
    and then reuses them (``MLP.fixed_noise``), so the loss being differentiated
    is one fixed function of the parameters.

    Args:
        eps: step of the central difference.
        max_per_array: check at most this many entries of each array, drawn
            with ``seed``; ``None`` checks every parameter.

    Returns:
        The maximum relative error; below about 1e-6 means the gradients agree.
    """
    net = model.astype("float64")
    net.preprocessing = None  # the bare net: its loss is the one its gradients belong to
    X, T = net.prepare_data(X, y)
    net.backprop(X, T)
    # The dropout masks drawn above stay fixed, so every loss below is the same function.
    with net.fixed_noise():
        return _worst_error(net, X, T, net.grads.copy(), eps, max_per_array,
                            np.random.default_rng(seed))


def _worst_error(net: MLP, X, T, analytic: np.ndarray, eps: float, max_per_array: int | None,
                 rng: np.random.Generator) -> float:
    """Largest relative error over the parameter arrays (see ``gradcheck``)."""
    worst = 0.0
    for _, _, part in net.param_slices:
        indices = np.arange(part.start, part.stop)
        if max_per_array is not None and len(indices) > max_per_array:
            indices = rng.choice(indices, max_per_array, replace=False)
        a = analytic[indices]
        n = _numeric_gradient(net, X, T, indices, eps)
        scale = np.linalg.norm(a) + np.linalg.norm(n)
        if scale > 0:
            worst = max(worst, float(np.linalg.norm(a - n) / scale))
    return worst
