"""Gradient diagnostics: how fast each layer learns, and why it may not.

Nielsen (chapter 5) measures the "speed of learning" of layer l by the norm
of its bias gradient dC/db^l. In a deep sigmoid net the earlier layers learn
slower (vanishing gradients): every layer multiplies the backpropagated error
by ``w * sigma'(z)``, and ``sigma' <= 1/4``. With large weights the product
exceeds 1 and the gradient explodes instead.

- ``gradient_norms(model, X, y)``: per-layer norms at the current weights.
- ``GradientNormMonitor``: a ``fit`` callback recording them every epoch.
- ``exploding_gradient_net``: Nielsen's construction of an exploding gradient.

Layers are numbered like the dense layers, from 1 (the first hidden layer)
to the output layer. Per layer the quantities are:

- ``weight_grad_norm``: ||dC/dW|| (Frobenius);
- ``bias_grad_norm``: ||dC/db||, or ||dC/dbeta|| when batch norm replaces the bias;
- ``saturated``: fraction of the layer's activations in the flat tails of a
  sigmoid (a < 0.02 or a > 0.98, where sigma' < 0.02, under 8% of its
  maximum) or a tanh (|a| > 0.96, where tanh' < 0.08, the same 8%); NaN for
  other activations and the output layer;
- ``dead``: fraction of ReLU units whose output is 0 for every sample of the
  batch (or probe); NaN for other activations and the output layer.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netcore.callbacks import Callback
from netcore.layers import BatchNorm, Dense, Layer
from netcore.model import MLP
from netcore.validation import check_positive, check_positive_int

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

QUANTITIES = ("weight_grad_norm", "bias_grad_norm", "saturated", "dead")
# Activation name -> (low, high): an output outside [low, high] counts as saturated.
SATURATION = {"sigmoid": (0.02, 0.98), "tanh": (-0.96, 0.96)}


@dataclass
class _Block:
    """One dense layer and what follows it up to the next dense layer."""

    dense: Dense
    shift: Layer
    activation: Layer | None = None

    def bias_grad(self) -> np.ndarray:
        return self.shift.dbeta if isinstance(self.shift, BatchNorm) else self.shift.db


def _blocks(model: MLP) -> list[_Block]:
    blocks: list[_Block] = []
    for layer in model.layers:
        if isinstance(layer, Dense):
            blocks.append(_Block(layer, layer))
        elif blocks and isinstance(layer, BatchNorm):
            blocks[-1].shift = layer
        elif blocks and hasattr(layer, "activation"):
            blocks[-1].activation = layer
    return blocks


def _unit_stats(layer: Layer | None) -> tuple[float, float]:
    """(saturated, dead) fractions of an activation layer's last output."""
    if layer is None:
        return math.nan, math.nan
    name, a = layer.activation.name, layer.a
    saturated = dead = math.nan
    if name in SATURATION:
        low, high = SATURATION[name]
        saturated = np.count_nonzero((a < low) | (a > high)) / a.size
    if name == "relu":
        dead = np.count_nonzero(a.max(axis=0) <= 0) / a.shape[1]
    return saturated, dead


def _measure(blocks: list[_Block]) -> np.ndarray:
    """Array (n_layers, len(QUANTITIES)) from the gradients and outputs of the last pass."""
    rows = [(np.linalg.norm(b.dense.dW), np.linalg.norm(b.bias_grad()), *_unit_stats(b.activation))
            for b in blocks]
    return np.array(rows, dtype=np.float64)


def _probe_pass(model: MLP, X, y, seed: int) -> np.ndarray:
    """Forward and backward over (X, y) on a copy of ``model``: the model is untouched."""
    net = model.copy()
    net.set_rng(np.random.default_rng(seed))
    net.backprop(*net.prepare_data(X, y))
    return _measure(_blocks(net))


def gradient_norms(model: MLP, X, y, *, seed: int = 0) -> pd.DataFrame:
    """Per-layer gradient norms of the mean loss over ``(X, y)`` at the current weights.

    The pass runs in training mode (batch norm on the batch statistics of
    ``X``, dropout masks drawn with ``seed``) on a copy, so ``model`` and its
    gradient buffer are left as they were.

    Returns:
        A DataFrame indexed by ``layer`` (1 = first hidden layer, last = output
        layer) with the columns of ``QUANTITIES``.

    Example:
        >>> norms = gradient_norms(model, X[:1000], y[:1000])
        >>> norms["bias_grad_norm"]          # grows with the layer in a deep sigmoid net
    """
    import pandas as pd  # on use: importing pandas takes 0.2 s

    if not isinstance(model, MLP):
        raise TypeError(f"model must be a netcore.MLP, got {type(model).__name__}")
    values = _probe_pass(model, X, y, seed)
    index = pd.RangeIndex(1, len(values) + 1, name="layer")
    return pd.DataFrame(values, index=index, columns=list(QUANTITIES))


def _check_epochs(epochs) -> frozenset[int] | None:
    if epochs is None:
        return None
    chosen = [epochs] if isinstance(epochs, numbers.Integral) else list(epochs)
    if any(isinstance(e, bool) or not isinstance(e, numbers.Integral) or e < 0 for e in chosen):
        raise ValueError(f"epochs must be None or integers >= 0, got {epochs!r}")
    return frozenset(int(e) for e in chosen)


class GradientNormMonitor(Callback):
    """Records per-layer gradient norms and unit saturation while ``fit`` trains.

    Args:
        probe: ``(X, y)`` to measure on at the end of each chosen epoch, and at
            epoch 0 (before any step). ``None``: average over each epoch's
            training batches, from the gradients the optimizer stepped with
            (after penalties and clipping) and the batch's activations.
        epochs: epochs to record (an int or iterable of ints; 0 is
            initialisation, probe only); ``None`` records every epoch.
        seed: dropout masks of the probe passes.

    After training, ``to_frame()`` holds the records and ``plot()`` draws them.

    Example:
        >>> monitor = GradientNormMonitor(probe=(X[:1000], y[:1000]))
        >>> fit(model, X, y, epochs=10, callbacks=[monitor])
        >>> monitor.to_frame()["bias_grad_norm"]        # epoch x layer
    """

    def __init__(self, probe: tuple | None = None, *, epochs: int | Iterable[int] | None = None,
                 seed: int = 0):
        if probe is not None and (not isinstance(probe, tuple | list) or len(probe) != 2):
            raise TypeError(f"probe must be None or a pair (X, y), got {type(probe).__name__}")
        self.probe, self.epochs, self.seed = probe, _check_epochs(epochs), seed
        self.records: list[dict] = []

    def _wanted(self, epoch: int) -> bool:
        return self.epochs is None or epoch in self.epochs

    def on_train_begin(self, model, history):
        self.records, self._epoch = [], 1
        self._blocks, self._sum, self._count = _blocks(model), None, 0
        if self.probe is not None and (0 in self.epochs if self.epochs is not None else True):
            self._record(0, _probe_pass(model, *self.probe, self.seed))

    def on_batch_end(self, model, step):
        if self.probe is not None or not self._wanted(self._epoch):
            return
        values = _measure(self._blocks)
        self._sum = values if self._sum is None else self._sum + values
        self._count += 1

    def on_epoch_end(self, epoch, logs, model):
        if self._wanted(epoch):
            if self.probe is not None:
                self._record(epoch, _probe_pass(model, *self.probe, self.seed))
            else:
                self._flush(epoch)
        self._epoch = epoch + 1

    def on_train_end(self, model, history):
        # An epoch cut short by divergence still has its batches averaged.
        if self._count:
            self._flush(self._epoch)

    def _flush(self, epoch: int) -> None:
        if self._count:
            self._record(epoch, self._sum / self._count)
        self._sum, self._count = None, 0

    def _record(self, epoch: int, values: np.ndarray) -> None:
        for layer, row in enumerate(values, start=1):
            self.records.append({"epoch": epoch, "layer": layer, **dict(zip(QUANTITIES, row, strict=True))})

    def to_frame(self, *, long: bool = False) -> pd.DataFrame:
        """The records: wide (default) indexed by epoch with columns (quantity, layer),
        so ``frame["bias_grad_norm"]`` is epoch x layer; or ``long=True``, indexed
        by (epoch, layer) with one column per quantity."""
        import pandas as pd  # on use: importing pandas takes 0.2 s

        frame = pd.DataFrame(self.records, columns=["epoch", "layer", *QUANTITIES])
        if long:
            return frame.set_index(["epoch", "layer"])
        return frame.pivot(index="epoch", columns="layer", values=list(QUANTITIES))

    def plot(self, path: str | Path | None = None) -> Figure:
        """Weight and bias gradient norms per layer against the epoch, on a log scale.

        Returns the matplotlib ``Figure`` (not attached to pyplot, so nothing
        is shown); with ``path`` it is also saved there.
        """
        if not self.records:
            raise ValueError("nothing recorded yet: pass the monitor to fit(callbacks=[...]) first")
        from matplotlib.ticker import MaxNLocator

        from netcore.figures import new_figure

        wide = self.to_frame()
        fig = new_figure(figsize=(10, 4), layout="constrained")
        axes = fig.subplots(1, 2, sharex=True)
        n_layers = wide.columns.get_level_values("layer").max()
        for ax, quantity in zip(axes, ("weight_grad_norm", "bias_grad_norm"), strict=True):
            for layer, series in wide[quantity].items():
                label = f"layer {layer}" + (" (output)" if layer == n_layers else "")
                ax.plot(series.index, series.to_numpy(), marker="o", label=label)
            ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(quantity.replace("_", " "))
        axes[1].legend(title="dense layer")
        if path is not None:
            fig.savefig(path)
        return fig


def exploding_gradient_net(n_layers: int = 4, width: int = 1, *, weight: float = 100.0,
                           n_inputs: int = 1, dtype: str = "float64") -> tuple[MLP, np.ndarray, np.ndarray]:
    """Nielsen's exploding-gradient construction: large weights, every z = 0.

    A sigmoid net ``[n_inputs] + [width] * n_layers + [1]`` (mse loss) with
    every weight equal to ``weight`` and biases chosen so that on the returned
    input (all ones) every pre-activation z is exactly 0. Then sigma'(z) = 1/4,
    and backprop multiplies the error of each unit by ``weight * width / 4``
    per layer (25 for Nielsen's single-unit chain with w = 100): the bias
    gradients grow geometrically toward the first layer.

    Returns:
        ``(model, X, y)``: the model, one input row of ones and its target 1.

    Example:
        >>> model, X, y = exploding_gradient_net(4)
        >>> gradient_norms(model, X, y)["bias_grad_norm"]   # 25**4, 25**3, 25**2, 25, 1
    """
    n_layers, width = check_positive_int(n_layers, "n_layers"), check_positive_int(width, "width")
    n_inputs, weight = check_positive_int(n_inputs, "n_inputs"), check_positive(weight, "weight")
    model = MLP([n_inputs, *[width] * n_layers, 1], activation="sigmoid", loss="mse", seed=0, dtype=dtype)
    for i, layer in enumerate(model.dense_layers):
        # Sum of the layer's inputs: the ones of X, then sigma(0) = 1/2 from each unit.
        incoming = float(n_inputs) if i == 0 else 0.5 * width
        layer.W[...] = weight
        layer.b[...] = -weight * incoming
    return model, np.ones((1, n_inputs), dtype=model.dtype), np.ones(1)
