"""The multilayer perceptron: layers over one flat parameter buffer."""

from __future__ import annotations

import contextlib
import inspect
import itertools
import math
import numbers
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netcore import kernels
from netcore.activations import get_activation
from netcore.data.tabular import Preprocessing
from netcore.init import BIAS_INITS, get_initializer, init_bias
from netcore.layers import ActivationLayer, BatchNorm, Dense, Dropout, Layer, PReLULayer
from netcore.losses import get_loss
from netcore.metrics import regression_metrics
from netcore.validation import check_choice, check_features, check_options

if TYPE_CHECKING:  # a net trained on arrays needs no pandas
    import pandas as pd

_DTYPES = {"float32": np.float32, "float64": np.float64}
_EVAL_CHUNK = 4096


def _check_dtype(dtype) -> np.dtype:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        check_choice(dtype, sorted(_DTYPES), "dtype")
    return np.dtype(_DTYPES[name])


def _check_sizes(sizes) -> list[int]:
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list of layer widths such as [784, 100, 10], got {sizes!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {list(sizes)}")
    for width in sizes:
        if not isinstance(width, numbers.Integral) or isinstance(width, bool) or width < 1:
            raise ValueError(f"sizes must hold positive integers, got {list(sizes)}")
    return [int(w) for w in sizes]


def _hidden_activations(activation, n_hidden: int) -> list[str]:
    names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(names) != n_hidden:
        raise ValueError(
            f"activation must be one name or one per hidden layer ({n_hidden}), got {activation!r}"
        )
    return names


def _check_rate(rate, argument: str) -> float:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= rate < 1.0:
        raise ValueError(f"{argument} must be a rate in [0, 1), got {rate!r}")
    return float(rate)


def _dropout_rates(dropout, n_hidden: int) -> list[float]:
    if isinstance(dropout, numbers.Real) and not isinstance(dropout, bool):
        return [_check_rate(dropout, "dropout")] * n_hidden
    if isinstance(dropout, np.ndarray) and dropout.ndim == 1:
        dropout = dropout.tolist()
    if isinstance(dropout, str | bytes) or not isinstance(dropout, Sequence) or len(dropout) != n_hidden:
        raise ValueError(
            f"dropout must be one rate in [0, 1) or one per hidden layer ({n_hidden}), got {dropout!r}"
        )
    return [_check_rate(rate, "dropout") for rate in dropout]


def param_count(config: dict) -> int:
    """``MLP(**config).n_params`` from the layer shapes alone, allocating no parameters.

    A model file's stored parameter count can be checked against its
    configuration before a (possibly huge) model is built from it.

    Raises:
        ValueError, TypeError: for options ``MLP`` would refuse.
    """
    config = dict(config)
    if "sizes" not in config:
        raise TypeError("config needs 'sizes'")
    shell = MLP.__new__(MLP)
    shell._configure(config.pop("sizes"), **{**_DEFAULTS, **_known_options(config)})
    return sum(math.prod(shape) for layer in shell.layers for _, shape, _ in layer.param_shapes())


def _known_options(config: dict) -> dict:
    check_options(config, _DEFAULTS, what="unknown MLP options", allows="the options are",
                  error=TypeError)
    return config


class MLP:
    """A dense feed-forward network whose parameters live in one flat buffer.

    Args:
        sizes: layer widths, input first, e.g. ``[784, 100, 10]``.
        activation: hidden activation name, or one name per hidden layer.
        loss: ``"cross_entropy"`` (softmax outputs), ``"binary_cross_entropy"``
            (sigmoid outputs) or ``"mse"`` (linear outputs, regression).
        init: weight initializer name (``"he"``, ``"xavier"``/``"glorot"``,
            ``"lecun"``, ``"standard"``).
        bias_init: ``"zeros"`` or ``"normal"`` (N(0, 1), as in Nielsen's code).
        seed: seed of the initialization; ``None`` draws fresh entropy.
        dtype: ``"float32"`` (default) or ``"float64"``.
        activation_options: extra arguments of the activation, e.g. ``{"slope": 0.1}``
            (for ``"prelu"``, ``slope`` is the initial value of the learned slopes, 0.25).
        dropout: inverted-dropout rate after each hidden activation: one rate,
            or one per hidden layer (0 means none there).
        input_dropout: dropout rate applied to the inputs.
        batch_norm: put a ``BatchNorm`` between each hidden dense layer and its
            activation. Those dense layers then have no bias (batch norm's
            ``beta`` replaces it), so ``n_params`` counts ``gamma``/``beta``
            instead of the hidden biases.
        bn_momentum: batch norm's running-average factor:
            ``running = bn_momentum * running + (1 - bn_momentum) * batch``.

    ``params`` and ``grads`` are flat arrays; all weight matrices come first
    (``params[:n_weights]``), so weight decay is one slice operation. Dropout
    masks are drawn from ``self.rng`` (see ``set_rng``; ``fit`` seeds it).

    Raw rows and prepared arrays: ``preprocessing`` (a ``netcore.Preprocessing``
    or None; it travels through ``copy``, ``save`` and ``load``) makes
    ``predict``/``predict_proba`` answer the user's raw rows (a DataFrame's
    columns picked by name, an array's width checked, the stored standardization
    applied) with the user's labels or the target's units. The bare net on
    prepared arrays (a ``Dataset``'s ``X_*``/``y_*``) is ``predict_prepared``,
    ``predict_proba_prepared``, ``evaluate`` and ``fit``; a model without
    preprocessing answers the same on both. A standardized regression target
    (``preprocessing.target_scale``) makes every reported loss and metric, also
    ``fit``'s, be in the target's units.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activation: str | Sequence[str] = "relu",
        loss: str = "cross_entropy",
        init: str = "he",
        bias_init: str = "zeros",
        seed: int | None = None,
        dtype: str = "float32",
        activation_options: dict | None = None,
        dropout: float | Sequence[float] = 0.0,
        input_dropout: float = 0.0,
        batch_norm: bool = False,
        bn_momentum: float = 0.9,
    ):
        self._configure(sizes, activation, loss, init, bias_init, seed, dtype, activation_options,
                        dropout, input_dropout, batch_norm, bn_momentum)
        self._allocate()
        if kernels.for_model(self.params.size, self.dtype):
            self._use_kernels()
        rng = np.random.default_rng(seed)
        self._initialize(get_initializer(init), rng)
        # Backprop stops at the first layer with parameters (input dropout needs no gradient).
        self._first_param_layer = next(i for i, layer in enumerate(self.layers) if isinstance(layer, Dense))
        self.set_rng(rng.spawn(1)[0])
        # How raw rows become inputs and outputs labels (netcore.Preprocessing); saved with the model.
        self._preprocessing = None

    def _configure(self, sizes, activation, loss, init, bias_init, seed, dtype, activation_options,
                   dropout, input_dropout, batch_norm, bn_momentum) -> None:
        """Validate the options and build the layers; nothing is allocated yet."""
        self.sizes = _check_sizes(sizes)
        self.activations = _hidden_activations(activation, len(self.sizes) - 2)
        self.activation_options = dict(activation_options or {})
        self._set_noise_options(dropout, input_dropout, batch_norm, bn_momentum)
        self.loss = get_loss(loss)
        self.init, self.bias_init, self.seed = init, bias_init, seed
        self.dtype = _check_dtype(dtype)
        get_initializer(init)  # validates the name
        check_choice(bias_init, BIAS_INITS, "bias_init")
        self.layers = self._build_layers()

    def _set_noise_options(self, dropout, input_dropout, batch_norm, bn_momentum) -> None:
        self.dropout = _dropout_rates(dropout, len(self.activations))
        self.input_dropout = _check_rate(input_dropout, "input_dropout")
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm must be True or False, got {batch_norm!r}")
        if isinstance(bn_momentum, bool) or not isinstance(bn_momentum, numbers.Real) \
                or not 0.0 <= bn_momentum < 1.0:
            raise ValueError(f"bn_momentum must satisfy 0 <= bn_momentum < 1, got {bn_momentum!r}")
        self.batch_norm, self.bn_momentum = batch_norm, float(bn_momentum)

    def _build_layers(self) -> list[Layer]:
        layers: list[Layer] = [Dropout(self.input_dropout)] if self.input_dropout else []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(self.sizes)):
            hidden = i < len(self.activations)
            layers.append(Dense(n_in, n_out, bias=not (hidden and self.batch_norm)))
            if hidden:
                layers.extend(self._hidden_block(i, n_out))
        return layers

    def _hidden_block(self, i: int, width: int) -> list[Layer]:
        """[BatchNorm], activation, [Dropout] after the i-th hidden dense layer."""
        block: list[Layer] = [BatchNorm(width, self.bn_momentum)] if self.batch_norm else []
        act = get_activation(self.activations[i], **self.activation_options)
        block.append(PReLULayer(width, act) if act.learned else ActivationLayer(act))
        if self.dropout[i]:
            block.append(Dropout(self.dropout[i]))
        return block

    def _allocate(self) -> None:
        specs = [(layer, name, shape, kind) for layer in self.layers
                 for name, shape, kind in layer.param_shapes()]
        # Weights first, then everything else: decay touches one leading slice.
        specs.sort(key=lambda spec: spec[3] != "weight")
        sizes = [int(np.prod(shape)) for _, _, shape, _ in specs]
        self.n_weights = sum(s for s, spec in zip(sizes, specs, strict=True) if spec[3] == "weight")
        self.params = np.zeros(sum(sizes), dtype=self.dtype)
        self.grads = np.zeros_like(self.params)
        views: dict[int, tuple[dict, dict]] = {id(layer): ({}, {}) for layer in self.layers}
        # (layer index, array name, slice of the flat buffer), in buffer order.
        self.param_slices: list[tuple[int, str, slice]] = []
        offset = 0
        for (layer, name, shape, _), size in zip(specs, sizes, strict=True):
            p, g = views[id(layer)]
            p[name] = self.params[offset:offset + size].reshape(shape)
            g[name] = self.grads[offset:offset + size].reshape(shape)
            self.param_slices.append((self.layers.index(layer), name, slice(offset, offset + size)))
            offset += size
        for layer in self.layers:
            layer.bind(*views[id(layer)])

    def _use_kernels(self) -> None:
        """Hand the ReLU layers and the softmax loss their compiled kernels (``netcore.kernels``)."""
        for previous, layer in itertools.pairwise(self.layers):
            if isinstance(layer, ActivationLayer):
                layer.use_kernels(previous)
        self.loss.compiled = True

    def _initialize(self, initializer, rng: np.random.Generator) -> None:
        for layer in self.layers:
            if isinstance(layer, Dense):
                initializer(layer.W, rng)
                if layer.b is not None:
                    init_bias(layer.b, self.bias_init, rng)
            else:
                layer.reset_parameters()

    def set_rng(self, rng: np.random.Generator) -> None:
        """Use ``rng`` for the dropout masks (``fit`` passes one derived from its seed)."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {rng!r}")
        self.rng = rng
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng

    @contextlib.contextmanager
    def fixed_noise(self) -> Iterator[MLP]:
        """Within this block, training-mode passes reuse the last dropout masks and
        leave batch norm's running statistics alone: the training loss becomes a
        deterministic function of the parameters, as a gradient check needs."""
        previous = [layer.fixed for layer in self.layers]
        for layer in self.layers:
            layer.fixed = True
        try:
            yield self
        finally:
            for layer, fixed in zip(self.layers, previous, strict=True):
                layer.fixed = fixed

    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def n_params(self) -> int:
        """Number of trainable parameters: sum(n_in * n_out + n_out) for a plain net."""
        return int(self.params.size)

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    def forward(self, X: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Raw outputs of the last dense layer (logits). Returns an internal buffer."""
        out = X
        for layer in self.layers:
            out = layer.forward(out, training)
        return out

    def backward(self, delta: np.ndarray) -> None:
        """Backpropagate ``dL/dz`` of the outputs, filling ``self.grads``."""
        first = self._first_param_layer
        for i in range(len(self.layers) - 1, first - 1, -1):
            delta = self.layers[i].backward(delta, need_input_grad=i > first)

    def _chunks(self, X: np.ndarray):
        for start in range(0, len(X), _EVAL_CHUNK):
            yield start, self.forward(X[start:start + _EVAL_CHUNK])

    @property
    def preprocessing(self) -> Preprocessing | None:
        """How raw rows become this net's inputs and its outputs the user's answers."""
        return self._preprocessing

    @preprocessing.setter
    def preprocessing(self, prep: Preprocessing | None) -> None:
        if prep is not None:
            if not isinstance(prep, Preprocessing):
                raise TypeError(f"preprocessing must be a netcore.Preprocessing or None, got "
                                f"{type(prep).__name__}")
            prep.check_fits(self.sizes[0], self.n_outputs, self.loss.is_classifier)
        self._preprocessing = prep
        if not self.loss.is_classifier:
            scale = None if prep is None else prep.target_scale
            self.loss.unit_weights = None if scale is None else scale ** 2

    @property
    def n_features_in_(self) -> int:
        """The number of input features (raw columns) the model takes."""
        return self.sizes[0]

    @property
    def classes_(self) -> np.ndarray:
        """The labels of ``predict_proba``'s columns, in order: the user's labels, or
        ``0..k-1`` without preprocessing. A regression model has none (AttributeError)."""
        if not self.loss.is_classifier:
            raise AttributeError("a regression model (loss 'mse') has no classes_")
        prep = self._preprocessing
        if prep is not None and prep.classes is not None:
            return np.asarray(prep.classes)
        return np.arange(max(2, self.n_outputs))

    def _inputs(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """The net's inputs from raw rows (unchanged without preprocessing)."""
        return X if self._preprocessing is None else \
            self._preprocessing.transform(X, dtype=self.dtype.name)

    def predict_proba(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """On raw rows: one probability column per class of ``classes_`` (also for a
        one-output sigmoid net), or regression values in the target's units. Without
        preprocessing the same as ``predict_proba_prepared``.

        Raises:
            ValueError, TypeError: columns missing, another width, NaN/inf, non-numeric values.
        """
        out = self.predict_proba_prepared(self._inputs(X))
        prep = self._preprocessing
        if prep is None:
            return out
        if not self.loss.is_classifier:
            return prep.decode(out)
        return np.column_stack([1 - out[:, 0], out[:, 0]]) if out.shape[1] == 1 else out

    def predict(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """On raw rows: the user's class labels, or regression values in the target's
        units. Without preprocessing the same as ``predict_prepared``."""
        out = self.predict_prepared(self._inputs(X))
        return out if self._preprocessing is None else self._preprocessing.decode(out)

    def predict_proba_prepared(self, X: np.ndarray) -> np.ndarray:
        """The bare net on prepared inputs: class probabilities (or regression values,
        standardized when the target is, for ``mse``)."""
        X = check_features(X, self.sizes[0], self.dtype)
        return np.concatenate([self.loss.output(z) for _, z in self._chunks(X)])

    def predict_prepared(self, X: np.ndarray) -> np.ndarray:
        """The bare net on prepared inputs: class indices (or regression values, as
        ``predict_proba_prepared``)."""
        out = self.predict_proba_prepared(X)
        if not self.loss.is_classifier:
            return out[:, 0] if out.shape[1] == 1 else out
        if out.shape[1] == 1:
            return (out[:, 0] > 0.5).astype(np.int64)
        return out.argmax(axis=1)

    def prepare_data(self, X, y, names: tuple[str, str] = ("X", "y")
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Checked inputs in the model's dtype and the targets its loss works with.

        Raises:
            ValueError, TypeError: naming the argument (``names``) at fault.
        """
        X = check_features(X, self.sizes[0], self.dtype, names[0])
        targets = self.loss.prepare_targets(y, self.n_outputs, self.dtype, names[1])
        if len(targets) != len(X):
            raise ValueError(f"{names[0]} and {names[1]} have different lengths: "
                             f"{len(X)} and {len(targets)}")
        return X, targets

    def backprop(self, X: np.ndarray, targets: np.ndarray) -> float:
        """One training-mode pass over prepared data: fills ``grads`` with the
        gradient of the mean loss and returns that loss."""
        z = self.forward(X, training=True)
        loss, _ = self.loss.loss_and_delta(z, targets, scale=1.0 / len(X))
        self.backward(z)
        return loss / len(X)

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Mean loss and, for classifiers, accuracy: ``{"loss": .., "accuracy": ..}``;
        for ``mse``, root mean squared error and R^2: ``{"loss": .., "rmse": .., "r2": ..}``.

        ``X`` and ``y`` are prepared arrays (class indices; a ``Dataset``'s splits);
        with a standardized target the values are in the target's units."""
        return self.evaluate_prepared(*self.prepare_data(X, y))

    def evaluate_prepared(self, X: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """``evaluate`` for inputs already checked and targets already prepared."""
        total, correct = 0.0, 0
        # Per-output residual sums of squares, in float64, for the regression scores.
        ss_res = None if self.loss.is_classifier else np.zeros(self.n_outputs)
        for start, z in self._chunks(X):
            t = targets[start:start + len(z)]
            if ss_res is not None:
                residuals = z.astype(np.float64) - t
                ss_res += np.einsum("ij,ij->j", residuals, residuals)
            loss, hits = self.loss.loss_sum(z, t)
            total, correct = total + loss, correct + hits
        metrics = {"loss": total / len(X)}
        if self.loss.is_classifier:
            metrics["accuracy"] = correct / len(X)
        elif self.loss.unit_weights is None:
            metrics.update(regression_metrics(ss_res, targets))
        else:  # the standardized target's residuals, in the target's units
            units = np.sqrt(self.loss.unit_weights)
            metrics.update(regression_metrics(ss_res * self.loss.unit_weights,
                                              targets.reshape(len(targets), -1) * units))
        return metrics

    def get_buffers(self) -> dict[str, np.ndarray]:
        """Copies of all non-trainable state, keyed ``"<layer index>.<name>"``."""
        return {f"{i}.{name}": array.copy() for i, layer in enumerate(self.layers)
                for name, array in layer.buffers().items()}

    def set_buffers(self, buffers: dict[str, np.ndarray]) -> None:
        """Write back state taken with ``get_buffers``."""
        for i, layer in enumerate(self.layers):
            for name, array in layer.buffers().items():
                array[...] = buffers[f"{i}.{name}"]

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this architecture."""
        return {
            "sizes": list(self.sizes), "activation": list(self.activations),
            "loss": self.loss.name, "init": self.init, "bias_init": self.bias_init,
            "seed": self.seed, "dtype": self.dtype.name,
            "activation_options": dict(self.activation_options),
            "dropout": list(self.dropout), "input_dropout": self.input_dropout,
            "batch_norm": self.batch_norm, "bn_momentum": self.bn_momentum,
        }

    def astype(self, dtype: str) -> MLP:
        """A copy of this model with parameters in another float dtype (and the same preprocessing)."""
        clone = MLP(**{**self.get_config(), "dtype": dtype})
        clone.params[...] = self.params
        clone.set_buffers(self.get_buffers())
        clone.preprocessing = self.preprocessing
        return clone

    def copy(self) -> MLP:
        return self.astype(self.dtype.name)

    def to_onnx(self, path: str | Path) -> Path:
        """Write this model and its preprocessing as an ONNX graph (``.onnx`` appended when
        missing): raw rows in, labels or target values out (see ``netcore.onnx_export``).

        Raises:
            ImportError: without the onnx package (``pip install 'hpsearch[onnx]'``).
        """
        from netcore.onnx_export import save_onnx

        return save_onnx(self, path)

    def __repr__(self) -> str:
        extras = "".join([f", dropout={self.dropout}" if any(self.dropout) else "",
                          f", input_dropout={self.input_dropout}" if self.input_dropout else "",
                          ", batch_norm=True" if self.batch_norm else ""])
        return (f"MLP(sizes={self.sizes}, activation={self.activations}{extras}, "
                f"loss={self.loss.name!r}, n_params={self.n_params}, dtype={self.dtype.name})")


# The keyword options of MLP and their defaults, for param_count.
_DEFAULTS = {name: p.default for name, p in inspect.signature(MLP).parameters.items()
             if p.kind is inspect.Parameter.KEYWORD_ONLY}
