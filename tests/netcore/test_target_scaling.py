"""Regression targets are standardized by default; every number the user sees is in
the target's units (training history, ``evaluate``, ``predict``, the saved model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score

import netcore
from netcore.data import Preprocessing


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y.to_numpy()


def _explicit(X, y):
    """Training rows, and validation rows the test keeps raw."""
    return dict(X=X.iloc[:300], y=y[:300], X_val=X.iloc[300:], y_val=y[300:])


def test_a_regression_dataset_holds_the_standardized_target_and_its_scaling(diabetes):
    X, y = diabetes
    data = netcore.Dataset.from_arrays(X[:400], y[:400], X_test=X[400:], y_test=y[400:], seed=0)
    prep = data.preprocessing
    assert data.y_train.dtype == np.float32
    assert abs(float(data.y_train.mean())) < 1e-5 and float(data.y_train.std()) == \
        pytest.approx(1, rel=1e-5)
    np.testing.assert_allclose(prep.decode(data.y_test), y[400:], rtol=1e-6)
    assert prep.target_mean.shape == (1,) and prep.target_scale[0] > 50
    plain = netcore.Dataset.from_arrays(X[:400], y[:400], X_test=X[400:], y_test=y[400:],
                                        seed=0, standardize_target=False)
    assert plain.preprocessing.target_mean is None
    np.testing.assert_allclose(plain.y_train, prep.decode(data.y_train), rtol=1e-5)
    with pytest.raises(TypeError, match="standardize_target must be True or False"):
        netcore.Dataset.from_arrays(X, y, standardize_target="yes")


def test_history_evaluate_and_predict_are_in_the_targets_units(diabetes):
    X, y = diabetes
    parts = _explicit(X, y)
    data = netcore.Dataset.from_arrays(parts["X"], parts["y"], X_val=parts["X_val"],
                                       y_val=parts["y_val"], test=0.2, seed=0)
    model = netcore.MLP([10, 16, 1], loss="mse", seed=0)
    model.preprocessing = data.preprocessing
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val, lr=1e-2,
                       epochs=3, seed=0)
    predicted = model.predict(parts["X_val"])
    rmse = float(np.sqrt(np.mean((predicted - parts["y_val"]) ** 2)))
    assert hist["val_rmse"][-1] == pytest.approx(rmse, rel=1e-6)
    assert hist["val_r2"][-1] == pytest.approx(r2_score(parts["y_val"], predicted), rel=1e-5)
    assert hist["val_loss"][-1] == pytest.approx(0.5 * rmse ** 2, rel=1e-5)
    assert 0.5 * 40 ** 2 < hist["loss"][-1] < 0.5 * 200 ** 2  # training loss in units too
    assert hist["val_r2"][-1] > 0


def test_several_targets_are_scaled_each_by_its_own_statistics(diabetes):
    X, y = diabetes
    targets = np.column_stack([y, y / 100 + X["bmi"].to_numpy()])
    data = netcore.Dataset.from_arrays(X, targets, seed=0)
    model = netcore.MLP([10, 16, 2], loss="mse", seed=0)
    model.preprocessing = data.preprocessing
    netcore.fit(model, data.X_train, data.y_train, lr=1e-2, epochs=2, seed=0)
    metrics = model.evaluate(data.X_test, data.y_test)
    truth = data.preprocessing.decode(data.y_test)
    predicted = data.preprocessing.decode(model.predict_prepared(data.X_test))
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - truth) ** 2)), rel=1e-5)
    assert metrics["r2"] == pytest.approx(r2_score(truth, predicted), rel=1e-4, abs=1e-6)
    assert metrics["loss"] == pytest.approx(0.5 * np.mean(np.sum((predicted - truth) ** 2, 1)),
                                            rel=1e-5)


def test_the_model_file_keeps_the_target_scaling(tmp_path, diabetes):
    X, y = diabetes
    data = netcore.Dataset.from_arrays(X, y, seed=0)
    model = netcore.MLP([10, 8, 1], loss="mse", seed=0)
    model.preprocessing = data.preprocessing
    loaded = netcore.load(netcore.save(model, tmp_path / "m.npz"))
    assert loaded.preprocessing == data.preprocessing
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert netcore.gradcheck(loaded, data.X_train[:8], data.y_train[:8]) < 1e-6


def test_files_written_before_target_scaling_read_as_unscaled():
    old = {"task": "regression", "feature_names": None, "target": None, "mean": [0.0],
           "scale": [1.0], "classes": None}
    prep = Preprocessing.from_dict(old)
    assert prep.target_mean is None and prep.to_dict() == old
    model = netcore.MLP([1, 1], loss="mse", seed=0)
    model.preprocessing = prep
    np.testing.assert_array_equal(model.predict([[2.0]]), model.predict_prepared([[2.0]]))


def test_a_preprocessing_that_does_not_fit_the_net_is_refused():
    model = netcore.MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match="3 classes, the model 2 outputs"):
        model.preprocessing = Preprocessing(classes=("a", "b", "c"))
    with pytest.raises(ValueError, match="task='regression'"):
        model.preprocessing = Preprocessing(task="regression")
    with pytest.raises(ValueError, match="2 features, the model's input layer 3"):
        model.preprocessing = Preprocessing(feature_names=("a", "b"), classes=("x", "y"))
    with pytest.raises(TypeError, match=r"netcore\.Preprocessing or None"):
        model.preprocessing = {"classes": ["x", "y"]}
    with pytest.raises(ValueError, match="for task='regression' only"):
        Preprocessing(classes=("x", "y"), target_mean=[0.0], target_scale=[1.0])


def test_int_column_names_and_frames_without_rows(diabetes):
    X, y = diabetes
    frame = pd.DataFrame(X.to_numpy())
    data = netcore.Dataset.from_arrays(frame, y, seed=0)
    model = netcore.MLP([10, 4, 1], loss="mse", seed=0)
    model.preprocessing = data.preprocessing
    np.testing.assert_array_equal(model.predict(frame.iloc[:, ::-1]), model.predict(X.to_numpy()))
    with pytest.raises(ValueError, match="has columns but no rows"):
        model.predict(frame.iloc[:0])
