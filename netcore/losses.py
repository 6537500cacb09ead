"""Output layers fused with their losses.

Each loss takes the raw outputs ``z`` of the last dense layer. Pairing the
output nonlinearity with its loss gives the simple fused gradient
``dL/dz = (Y - T) / n`` (softmax with cross-entropy, sigmoid with binary
cross-entropy, identity with squared error) and numerically stable values.

``prepare_targets`` turns user labels into the array the loss works with once,
before training; ``loss_and_delta`` returns the summed loss and the number of
correct predictions of a batch and overwrites ``z`` with the gradient.
"""

from __future__ import annotations

import numpy as np

from netcore import kernels
from netcore.reductions import row_sums
from netcore.validation import check_choice


class Loss:
    """Base class: output activation, loss value and fused gradient."""

    name = "loss"
    is_classifier = True
    # Set by the model (``MLP``) when the compiled kernels (``netcore.kernels``) run; only the
    # softmax cross-entropy has one.
    compiled = False

    def prepare_targets(self, y: np.ndarray, n_outputs: int, dtype) -> np.ndarray:
        raise NotImplementedError

    def output(self, z: np.ndarray) -> np.ndarray:
        """The network's prediction (probabilities or values) from raw outputs."""
        raise NotImplementedError

    def loss_and_delta(self, z: np.ndarray, t: np.ndarray, *, scale: float) -> tuple[float, int]:
        """Sum of losses and number correct; writes ``scale * dL/dz`` into ``z``."""
        raise NotImplementedError

    def loss_sum(self, z: np.ndarray, t: np.ndarray) -> tuple[float, int]:
        """Sum of losses and number correct, leaving ``z`` untouched."""
        return self.loss_and_delta(z.copy(), t, scale=1.0)


def _numeric(y, argument: str, what: str, hint: str = "") -> np.ndarray:
    """``y`` as an array of numbers (or booleans), or a TypeError naming ``argument``."""
    y = np.asarray(y)
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"{argument} must hold {what}, got dtype {y.dtype}{hint}")
    return y


def _class_labels(y: np.ndarray, n_classes: int, argument: str, *,
                  column: bool = False) -> np.ndarray:
    """Validate integer class labels in [0, n_classes); an (n, 1) column only when
    ``column`` (the targets of a one-output net have its output's shape)."""
    y = _numeric(y, argument, f"integer class labels in [0, {n_classes})",
                 f"; encode them first: classes, {argument} = np.unique({argument}, "
                 "return_inverse=True) (netcore.Dataset.from_arrays does it for you)")
    if y.ndim == 2 and y.shape[1] == 1:
        if not column:
            raise ValueError(f"{argument} has shape {y.shape}, a column; class labels must be "
                             f"1-D of shape ({len(y)},): pass {argument}.ravel()")
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{argument} must be a 1-D array of class labels, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{argument} contains NaN or infinite values")
        if not np.all(y == np.round(y)):
            raise ValueError(f"{argument} must hold integer class labels, got non-integer values")
    labels = y.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{argument} must hold labels in [0, {n_classes}) for a net with {n_classes} "
            f"outputs, got values in [{labels.min()}, {labels.max()}]"
        )
    return labels


class SoftmaxCrossEntropy(Loss):
    """Softmax outputs with the categorical cross-entropy; targets are class labels."""

    name = "cross_entropy"

    def prepare_targets(self, y, n_outputs, dtype, argument="y"):
        if n_outputs < 2:
            raise ValueError("cross_entropy needs at least 2 outputs; use binary_cross_entropy")
        return _class_labels(y, n_outputs, argument)

    def output(self, z):
        p = z - z.max(axis=1, keepdims=True)
        np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        return p

    def loss_and_delta(self, z, t, *, scale):
        if self.compiled and kernels.compiled("softmax_shift") is not None:
            return self._compiled_loss_and_delta(z, t, scale)
        n, k = z.shape
        correct = int(np.count_nonzero(z.argmax(axis=1) == t))
        z -= z.max(axis=1, keepdims=True)
        # Flat positions of the true classes: a take and a put, cheaper than z[rows, t].
        true_at = np.arange(0, n * k, k) + t
        true_logit = z.take(true_at)
        np.exp(z, out=z)
        total = row_sums(z)
        loss = float(np.log(total).sum() - true_logit.sum())
        z *= (scale / total)[:, None]
        flat = z.reshape(-1)
        flat[true_at] -= scale
        return loss, correct

    def _compiled_loss_and_delta(self, z, t, scale):
        """``loss_and_delta`` with its elementwise passes compiled (``netcore.kernels``): the same
        operations in the same order, and numpy's own exp, log and sums, so the same bits."""
        true_logit = np.empty(len(z), dtype=z.dtype)
        correct = kernels.compiled("softmax_shift")(z, t, true_logit)
        np.exp(z, out=z)
        total = row_sums(z)
        loss = float(np.log(total).sum() - true_logit.sum())
        kernels.compiled("softmax_finish")(z, t, total, z.dtype.type(scale))
        return loss, int(correct)


class SigmoidBinaryCrossEntropy(Loss):
    """Independent sigmoid outputs with binary cross-entropy.

    One output: targets are 0/1. Several outputs: targets are class labels,
    one-hot encoded (the cross-entropy cost of Nielsen's ``network2``).
    """

    name = "binary_cross_entropy"

    def prepare_targets(self, y, n_outputs, dtype, argument="y"):
        labels = _class_labels(y, max(n_outputs, 2), argument, column=n_outputs == 1)
        if n_outputs == 1:
            return labels.astype(dtype).reshape(-1, 1)
        onehot = np.zeros((len(labels), n_outputs), dtype=dtype)
        onehot[np.arange(len(labels)), labels] = 1.0
        return onehot

    def output(self, z):
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    def loss_and_delta(self, z, t, *, scale):
        if z.shape[1] == 1:
            correct = int(np.count_nonzero((z > 0) == (t > 0.5)))
        else:
            correct = int(np.count_nonzero(z.argmax(axis=1) == t.argmax(axis=1)))
        # log(1 + exp(z)) - t * z is the stable form of the binary cross-entropy.
        loss = float(np.sum(np.logaddexp(z, 0.0) - t * z))
        np.multiply(z, 0.5, out=z)
        np.tanh(z, out=z)
        z += 1.0
        z *= 0.5
        z -= t
        z *= scale
        return loss, correct


class MeanSquaredError(Loss):
    """Identity outputs with the quadratic cost 0.5 * ||z - t||^2 per sample."""

    name = "mse"
    is_classifier = False
    # Per-output weights of the reported loss value (None: all 1). A model whose target is
    # standardized sets them to target_scale ** 2, so that its losses are in the target's
    # units; the gradient stays that of the standardized target the net learns.
    unit_weights: np.ndarray | None = None

    def prepare_targets(self, y, n_outputs, dtype, argument="y"):
        y = _numeric(y, argument, "numbers for mse").astype(dtype, copy=False)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(
                f"{argument} must have shape (n_samples,) or (n_samples, {n_outputs}) for mse, "
                f"got {y.shape}"
            )
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{argument} contains NaN or infinite values")
        return y

    def output(self, z):
        return z.copy()

    def loss_and_delta(self, z, t, *, scale):
        z -= t
        if self.unit_weights is None:
            loss = 0.5 * float(np.vdot(z, z))
        else:
            loss = 0.5 * float(np.einsum("ij,ij,j->", z, z, self.unit_weights))
        z *= scale
        return loss, 0


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": SoftmaxCrossEntropy,
    "binary_cross_entropy": SigmoidBinaryCrossEntropy,
    "mse": MeanSquaredError,
}


def get_loss(name: str) -> Loss:
    """Build the loss registered as ``name``."""
    return LOSSES[check_choice(name, sorted(LOSSES), "loss")]()
