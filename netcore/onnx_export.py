"""Export a trained MLP, with its preprocessing, as an ONNX graph.

The graph takes raw feature rows (input ``X``, shape ``[N, n_features]``, in
the model's float dtype) and computes what ``model.predict`` and
``model.predict_proba`` compute on raw rows: the stored standardization, the
layers in inference mode (dropout is the identity, batch norm uses its running
statistics), the output nonlinearity and, for a classifier, the user's class
labels; for a regressor, the target's units. Its outputs:

- ``prediction``: the class label of each row (the user's labels, through a
  Gather over a constant tensor of them; class indices without stored labels),
  or the regression values in the target's units (``[N]`` for one target);
- ``probabilities`` (classifiers): ``[N, n_classes]``, one column per class of
  ``model.classes_`` (a one-output sigmoid net: ``1 - p`` and ``p``).

Only standard ``ai.onnx`` operators of opset ``OPSET`` are used (no ZipMap,
no LabelEncoder), so any ONNX runtime runs the file. A graph checks nothing:
it takes the columns in the model's order (``feature_names`` in the file's
metadata) and passes NaN through, where ``predict`` refuses them. ``onnx`` is
imported only when a model is exported: ``pip install 'hpsearch[onnx]'``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from netcore.activations import Activation
from netcore.data.tabular import Preprocessing
from netcore.layers import ActivationLayer, BatchNorm, Dense, Dropout, Layer, PReLULayer
from netcore.losses import Loss

if TYPE_CHECKING:  # onnx is optional: imported where a model is exported
    import onnx


class Exportable(Protocol):
    """What export reads of a ``netcore.MLP`` (named so, not imported: the model imports this module)."""

    sizes: list[int]
    layers: list[Layer]
    loss: Loss
    dtype: np.dtype
    preprocessing: Preprocessing | None

    @property
    def n_outputs(self) -> int: ...


OPSET = 17
# The IR version of opset 17 (onnx 1.12): older runtimes read the file too.
IR_VERSION = 8
INSTALL_HINT = "pip install 'hpsearch[onnx]' (or: pip install onnx)"


def import_onnx():
    """The ``onnx`` module, or an ImportError saying in one line what to install."""
    try:
        import onnx
    except ImportError:
        raise ImportError(f"ONNX export needs the onnx package: {INSTALL_HINT}") from None
    return onnx


class _Graph:
    """Nodes and constant tensors of a graph under construction, with unique names."""

    def __init__(self, onnx_module, dtype: np.dtype):
        self.onnx, self.dtype = onnx_module, np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value, *, cast: bool = True) -> str:
        """A constant tensor, float values in the graph's dtype unless not ``cast``; returns its name."""
        array = np.asarray(value)
        if cast and array.dtype.kind == "f":
            array = array.astype(self.dtype)
        name = self._name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, output: str | None = None,
           **attributes) -> str:
        """Append one node; returns the name of its output."""
        output = output or self._name(hint)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output],
                                                     name=self._name(op_type), **attributes))
        return output


def _leaky_relu(g: _Graph, slope: float, x: str) -> str:
    if g.dtype == np.float32:
        return g.op("LeakyRelu", [x], "leaky_relu", alpha=slope)
    # An attribute is float32: max(z, slope * z) keeps the double slope, as numpy does.
    return g.op("Max", [x, g.op("Mul", [x, g.const("slope", slope)], "sloped")], "leaky_relu")


def _elu(g: _Graph, alpha: float, x: str) -> str:
    if g.dtype == np.float32:
        return g.op("Elu", [x], "elu", alpha=alpha)
    # onnxruntime has no double Elu: max(z, 0) + alpha * (exp(min(z, 0)) - 1), never overflowing.
    exp = g.op("Exp", [g.op("Min", [x, g.const("zero", 0.0)], "negative_part")], "exp")
    tail = g.op("Mul", [g.op("Sub", [exp, g.const("one", 1.0)], "expm1"), g.const("alpha", alpha)],
                "elu_tail")
    return g.op("Add", [g.op("Relu", [x], "relu"), tail], "elu")


def _softplus(g: _Graph, x: str) -> str:
    if g.dtype == np.float32:
        return g.op("Softplus", [x], "softplus")
    # onnxruntime has no double Softplus: max(z, 0) + log(1 + exp(-|z|)), finite for any z.
    rest = g.op("Exp", [g.op("Neg", [g.op("Abs", [x], "abs")], "neg")], "exp")
    log = g.op("Log", [g.op("Add", [rest, g.const("one", 1.0)], "one_plus")], "log1p")
    return g.op("Add", [g.op("Relu", [x], "relu"), log], "softplus")


_ACTIVATIONS = {
    "relu": lambda g, act, x: g.op("Relu", [x], "relu"),
    "leaky_relu": lambda g, act, x: _leaky_relu(g, act.slope, x),
    "elu": lambda g, act, x: _elu(g, act.alpha, x),
    "tanh": lambda g, act, x: g.op("Tanh", [x], "tanh"),
    "sigmoid": lambda g, act, x: g.op("Sigmoid", [x], "sigmoid"),
    "softplus": lambda g, act, x: _softplus(g, x),
    "linear": lambda g, act, x: x,
}


def _activation(g: _Graph, activation: Activation, x: str) -> str:
    if activation.name not in _ACTIVATIONS:
        raise ValueError(f"cannot export the activation {activation.name!r} to ONNX; exportable "
                         f"activations: {sorted([*_ACTIVATIONS, 'prelu'])}")
    return _ACTIVATIONS[activation.name](g, activation, x)


def _layer(g: _Graph, layer: Layer, x: str) -> str:
    """The nodes of one layer in inference mode, on input ``x``; returns the output name."""
    if isinstance(layer, Dropout):
        return x  # inverted dropout: the identity at inference
    if isinstance(layer, Dense):
        W = g.const("W", layer.W)
        if layer.b is None:
            return g.op("MatMul", [x, W], "dense")
        return g.op("Gemm", [x, W, g.const("b", layer.b)], "dense")
    if isinstance(layer, BatchNorm):
        # As BatchNorm.forward in evaluation: x * scale + (beta - mean * scale).
        scale = layer.gamma / np.sqrt(layer.running_var + layer.eps)
        scaled = g.op("Mul", [x, g.const("bn_scale", scale)], "bn_scaled")
        return g.op("Add", [scaled, g.const("bn_shift", layer.beta - layer.running_mean * scale)],
                    "batch_norm")
    if isinstance(layer, PReLULayer):
        return g.op("PRelu", [x, g.const("slope", layer.slope)], "prelu")
    if isinstance(layer, ActivationLayer):
        return _activation(g, layer.activation, x)
    raise TypeError(f"cannot export a {type(layer).__name__} layer to ONNX")


def _standardized(g: _Graph, prep: Preprocessing | None, x: str) -> str:
    if prep is None or prep.mean is None:
        return x
    centred = g.op("Sub", [x, g.const("mean", prep.mean)], "centred")
    return g.op("Div", [centred, g.const("scale", prep.scale)], "standardized")


# (name, numpy dtype, shape) of a graph output.
Output = tuple[str, np.dtype, list]


def _classifier_outputs(g: _Graph, model: Exportable, prep: Preprocessing | None, z: str) -> list[Output]:
    """``prediction`` (labels) and ``probabilities`` from the logits ``z``."""
    softmax = model.loss.name == "cross_entropy"
    proba = g.op("Softmax", [z], "softmax", axis=1) if softmax else g.op("Sigmoid", [z], "sigmoid")
    if model.n_outputs == 1:  # one sigmoid output p = P(class 1): the columns 1 - p and p
        proba = g.op("Concat", [g.op("Sub", [g.const("one", 1.0), proba], "p0"), proba],
                     "proba", axis=1)
    g.op("Identity", [proba], "", output="probabilities")
    # The first largest probability, as numpy's argmax; with one output, exactly p > 0.5.
    index = g.op("ArgMax", [proba], "class_index", axis=1, keepdims=0)
    probabilities = ("probabilities", g.dtype, ["N", max(model.n_outputs, 2)])
    if prep is None or prep.classes is None:
        g.op("Identity", [index], "", output="prediction")
        return [("prediction", np.dtype(np.int64), ["N"]), probabilities]
    labels = np.asarray(prep.classes)  # the array Preprocessing.decode takes labels from
    if labels.dtype.kind == "U":
        labels = labels.astype(object)
    g.op("Gather", [g.const("classes", labels, cast=False), index], "", output="prediction", axis=0)
    return [("prediction", labels.dtype, ["N"]), probabilities]


def _regression_outputs(g: _Graph, model: Exportable, prep: Preprocessing | None, z: str) -> list[Output]:
    """``prediction`` from the outputs ``z`` in the target's units: ``[N]`` for one target,
    else ``[N, k]``."""
    if prep is not None and prep.target_mean is not None:  # as Preprocessing.decode
        scaled = g.op("Mul", [z, g.const("target_scale", prep.target_scale)], "target_scaled")
        z = g.op("Add", [scaled, g.const("target_mean", prep.target_mean)], "in_units")
    if model.n_outputs > 1:
        g.op("Identity", [z], "", output="prediction")
        return [("prediction", g.dtype, ["N", model.n_outputs])]
    g.op("Reshape", [z, g.const("flat", np.array([-1], dtype=np.int64))], "",
         output="prediction")
    return [("prediction", g.dtype, ["N"])]


# The graph's outputs, by the loss the model was trained with.
_OUTPUTS = {"cross_entropy": _classifier_outputs, "binary_cross_entropy": _classifier_outputs,
            "mse": _regression_outputs}


def _value_info(onnx_module, output: Output):
    name, dtype, shape = output
    elem = onnx_module.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return onnx_module.helper.make_tensor_value_info(name, elem, shape)


def _metadata(model: Exportable, prep: Preprocessing | None) -> dict[str, str]:
    """What a user of the file needs to feed it: the feature columns, the task and the labels."""
    task = "classification" if model.loss.is_classifier else "regression"
    entries = {"task": task, "n_features": model.sizes[0]}
    if prep is not None:
        entries.update(feature_names=prep.feature_names, classes=prep.classes, target=prep.target)
    return {key: json.dumps(value) for key, value in entries.items()}


def onnx_model(model: Exportable) -> onnx.ModelProto:
    """The ONNX model of ``model`` (a ``netcore.MLP``) and its ``preprocessing``.

    Raises:
        ImportError: when the onnx package is not installed (one line saying what to install).
        ValueError, TypeError: for an activation, layer or loss ONNX export does not know.
    """
    onnx_module = import_onnx()
    if model.loss.name not in _OUTPUTS:
        raise ValueError(f"cannot export the loss {model.loss.name!r} to ONNX; exportable losses: "
                         f"{sorted(_OUTPUTS)}")
    g, prep = _Graph(onnx_module, model.dtype), model.preprocessing
    x = _standardized(g, prep, "X")
    for layer in model.layers:
        x = _layer(g, layer, x)
    outputs = _OUTPUTS[model.loss.name](g, model, prep, x)
    helper = onnx_module.helper
    features = helper.make_tensor_value_info(
        "X", helper.np_dtype_to_tensor_dtype(model.dtype), ["N", model.sizes[0]])
    graph = helper.make_graph(g.nodes, "netcore_mlp", [features],
                              [_value_info(onnx_module, out) for out in outputs], g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="netcore", ir_version=IR_VERSION,
                              doc_string=repr(model))
    helper.set_model_props(proto, _metadata(model, prep))
    onnx_module.checker.check_model(proto, full_check=True)
    return proto


def save_onnx(model: Exportable, path: str | Path) -> Path:
    """Write ``model`` as an ONNX file at ``path`` (``.onnx`` is appended when missing).

    Raises:
        ImportError, ValueError, TypeError: as ``onnx_model``.
    """
    path = Path(path)
    if path.suffix != ".onnx":
        path = path.with_name(path.name + ".onnx")
    proto = onnx_model(model)
    import_onnx().save_model(proto, str(path))
    return path
