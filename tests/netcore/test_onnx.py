"""ONNX export: the file, run in onnxruntime on raw rows, answers as the netcore model does."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine

import netcore
from netcore.activations import ACTIVATIONS, Activation
from netcore.layers import BatchNorm

onnx = pytest.importorskip("onnx", reason="the onnx extra: pip install 'hpsearch[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra: pip install 'hpsearch[onnx]'")

RTOL = 1e-5  # float32 graphs: onnxruntime's kernels round differently from numpy's


@pytest.fixture(scope="module")
def wine():
    """Wine as a user has it: a DataFrame of raw features and string labels, standardized."""
    bunch = load_wine(as_frame=True)
    labels = bunch.target_names[bunch.target]
    data = netcore.Dataset.from_arrays(bunch.data, labels, val=0.2, test=0.2, seed=0)
    return data, bunch.data


def _trained(data, **options) -> netcore.MLP:
    n_out = options.pop("n_out", data.n_classes)
    model = netcore.MLP([data.n_features, 12, 8, n_out], seed=0, **options)
    netcore.fit(model, data.X_train, data.y_train, lr=2e-2, batch_size=32, epochs=4, seed=0)
    model.preprocessing = data.preprocessing
    return model


def _run(path, rows) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    double = session.get_inputs()[0].type == "tensor(double)"
    X = np.asarray(rows, dtype=np.float64 if double else np.float32)
    names = [out.name for out in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X}), strict=True))


def _netcore_answers(model, rows) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities (one column per class) of raw rows."""
    return model.predict(rows), model.predict_proba(rows)


def _assert_same_answers(model, rows, tmp_path):
    path = model.to_onnx(tmp_path / "model.onnx")
    found = _run(path, rows)
    labels, proba = _netcore_answers(model, rows)
    np.testing.assert_allclose(found["probabilities"], proba, rtol=RTOL, atol=0)
    np.testing.assert_array_equal(found["prediction"], labels)
    return found


# Options other than the defaults, so that the exported value is the model's own.
OPTIONS = {"leaky_relu": {"slope": 0.2}, "elu": {"alpha": 0.5}, "prelu": {"slope": 0.1}}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_exports_and_answers_as_netcore(wine, activation, tmp_path):
    data, raw = wine
    model = _trained(data, activation=activation, activation_options=OPTIONS.get(activation))
    found = _assert_same_answers(model, raw, tmp_path)
    assert found["prediction"].dtype == object and set(found["prediction"]) <= set(
        data.preprocessing.classes)


def test_learned_prelu_slopes_are_exported_per_unit(wine, tmp_path):
    data, raw = wine
    model = _trained(data, activation="prelu")
    slopes = [layer.slope for layer in model.layers if hasattr(layer, "slope")]
    assert all(np.ptp(slope) > 0 for slope in slopes)  # trained apart from their initial 0.25
    _assert_same_answers(model, raw, tmp_path)


def test_batch_norm_in_inference_mode_and_dropout_off(wine, tmp_path):
    data, raw = wine
    model = _trained(data, batch_norm=True, dropout=0.5, input_dropout=0.2)
    norms = [layer for layer in model.layers if isinstance(layer, BatchNorm)]
    assert all(not np.allclose(n.running_var, 1.0) for n in norms)  # statistics were learned
    _assert_same_answers(model, raw, tmp_path)
    graph = onnx.load(tmp_path / "model.onnx").graph
    assert not {node.op_type for node in graph.node} & {"Dropout", "BatchNormalization"}


def test_classifier_with_string_labels_and_standardization(wine, tmp_path):
    data, raw = wine
    model = _trained(data)
    shuffled = raw.sample(frac=1.0, random_state=0)
    found = _assert_same_answers(model, shuffled, tmp_path)
    truth = load_wine().target_names[load_wine().target[shuffled.index]]
    assert (found["prediction"] == truth).mean() > 0.8
    meta = {p.key: json.loads(p.value) for p in onnx.load(tmp_path / "model.onnx").metadata_props}
    assert meta["feature_names"] == list(raw.columns)
    assert meta["classes"] == ["class_0", "class_1", "class_2"] and meta["task"] == "classification"


def test_one_sigmoid_output_with_integer_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)) * [1.0, 10.0, 0.1, 5.0] + [0.0, 50.0, -2.0, 1.0]
    y = np.where(X[:, 0] + X[:, 2] * 10 > -20, 7, 3)
    data = netcore.Dataset.from_arrays(X, y, seed=0)
    model = _trained(data, loss="binary_cross_entropy", activation="tanh", n_out=1)
    found = _assert_same_answers(model, X, tmp_path)
    assert found["prediction"].dtype == np.int64 and set(found["prediction"]) <= {3, 7}


@pytest.mark.parametrize(("classes", "dtype"), [(("maybe", "no", "yes"), object),
                                              ((3, 7, 11), np.int64), ((False, True), bool)])
def test_class_labels_of_every_kind_come_back_as_themselves(classes, dtype, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = [classes[i] for i in np.argmax(X[:, :len(classes)], axis=1)]
    data = netcore.Dataset.from_arrays(X, y, task="classification", seed=0)
    assert data.preprocessing.classes == classes
    found = _assert_same_answers(_trained(data), X, tmp_path)
    assert found["prediction"].dtype == dtype and set(found["prediction"]) == set(classes)


def test_model_without_preprocessing_answers_class_indices(wine, tmp_path):
    data, _ = wine
    model = _trained(data)
    model.preprocessing = None
    found = _assert_same_answers(model, data.X_test, tmp_path)
    np.testing.assert_array_equal(found["prediction"], model.predict(data.X_test))


def test_regressor_answers_in_the_targets_units(tmp_path):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    data = netcore.Dataset.from_arrays(X.iloc[:200], y.iloc[:200], seed=0)
    assert data.preprocessing.target_scale is not None  # the net learns a standardized target
    model = _trained(data, loss="mse", activation="elu", n_out=1)
    found = _run(model.to_onnx(tmp_path / "model.onnx"), X.iloc[200:260])["prediction"]
    expected = model.predict(X.iloc[200:260])
    assert found.shape == (60,) and 50 < expected.mean() < 300  # in the target's units
    np.testing.assert_allclose(found, expected, rtol=RTOL, atol=0)


def test_regressor_with_several_targets(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    targets = np.column_stack([y, X[:, 2] * 1000])
    data = netcore.Dataset.from_arrays(X[:200], targets[:200], seed=0)
    model = _trained(data, loss="mse", activation="relu", n_out=2)
    found = _run(model.to_onnx(tmp_path / "model.onnx"), X[200:260])["prediction"]
    assert found.shape == (60, 2)
    np.testing.assert_allclose(found, model.predict(X[200:260]), rtol=RTOL, atol=0)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_float64_model_exports_a_double_graph(wine, activation, tmp_path):
    data, raw = wine
    model = _trained(data, activation=activation,
                     activation_options=OPTIONS.get(activation)).astype("float64")
    path = model.to_onnx(tmp_path / "model")
    assert path.name == "model.onnx"
    found = _run(path, raw)
    np.testing.assert_allclose(found["probabilities"], _netcore_answers(model, raw)[1],
                               rtol=1e-12, atol=0)


class Swish(Activation):
    """z * sigmoid(z): an activation registered in netcore (forward only) that export does not know."""

    name = "swish"

    def forward(self, z, out):
        np.multiply(z, 0.5 * (1 + np.tanh(0.5 * z)), out=out)
        return out


def test_an_activation_export_does_not_know_is_refused_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(ACTIVATIONS, "swish", Swish)
    model = netcore.MLP([4, 6, 3], activation="swish", seed=0)
    assert model.predict(np.ones((2, 4))).shape == (2,)
    with pytest.raises(ValueError, match=r"cannot export the activation 'swish' to ONNX; "
                                         r"exportable activations: \['elu', "):
        model.to_onnx(tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_onnx_is_imported_only_to_export_and_its_absence_is_one_line(tmp_path):
    script = f"""
import sys
import netcore
model = netcore.MLP([3, 4, 2], seed=0)
netcore.save(model, {str(tmp_path / 'model.npz')!r})
netcore.load({str(tmp_path / 'model.npz')!r}).predict([[1.0, 2.0, 3.0]])
assert "onnx" not in sys.modules, "netcore imported onnx"
sys.modules["onnx"] = None  # as when the package is not installed
try:
    model.to_onnx({str(tmp_path / 'model.onnx')!r})
except ImportError as exc:
    print(exc)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("ONNX export needs the onnx package: pip install 'hpsearch[onnx]' "
                             "(or: pip install onnx)\n")
