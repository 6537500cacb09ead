"""Dataset.from_arrays: splits, stratification, standardization, labels and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

import netcore
from netcore import Dataset


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_split_sizes_and_stratification(iris):
    X, y = iris
    data = Dataset.from_arrays(X, y, val=0.2, test=0.2, seed=0)
    assert (len(data.X_train), len(data.X_val), len(data.X_test)) == (90, 30, 30)
    for labels in (data.y_train, data.y_val, data.y_test):
        np.testing.assert_array_equal(np.bincount(labels), [len(labels) // 3] * 3)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert all(a.flags.c_contiguous for a in (data.X_train, data.X_val, data.X_test, data.y_test))
    assert data.n_classes == data.n_outputs == 3 and data.task == "classification"
    assert data.preprocessing.classes == (0, 1, 2) and data.name == "arrays"


def test_seed_decides_the_split(iris):
    X, y = iris
    a, b = Dataset.from_arrays(X, y, seed=1), Dataset.from_arrays(X, y, seed=1)
    c = Dataset.from_arrays(X, y, seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert not np.array_equal(a.X_train, c.X_train)


def test_standardized_on_the_training_split_only(iris):
    X, y = iris
    data = Dataset.from_arrays(X, y, dtype="float64")
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1, atol=1e-12)
    assert np.abs(data.X_val.mean(axis=0)).max() > 1e-3  # val statistics were not used
    prep = data.preprocessing
    raw = Dataset.from_arrays(X, y, standardize=False, dtype="float64")
    assert raw.preprocessing.mean is None and raw.preprocessing.scale is None
    np.testing.assert_allclose(prep.transform(raw.X_val, dtype="float64"), data.X_val)


def test_constant_feature_is_only_centred():
    X = np.column_stack([np.arange(20.0), np.full(20, 7.0)])
    data = Dataset.from_arrays(X, np.arange(20) % 2)
    assert data.preprocessing.scale[1] == 1.0 and np.all(data.X_train[:, 1] == 0)


def test_explicit_splits_are_used_as_given(iris):
    order = np.random.default_rng(0).permutation(150)  # iris is sorted by class
    X, y = iris[0][order], iris[1][order]
    data = Dataset.from_arrays(X[:100], y[:100], X_val=X[100:120], y_val=y[100:120],
                               X_test=X[120:], y_test=y[120:], standardize=False)
    assert (len(data.X_train), len(data.X_val), len(data.X_test)) == (100, 20, 30)
    np.testing.assert_array_equal(data.X_test, X[120:].astype(np.float32))
    np.testing.assert_array_equal(data.y_val, y[100:120])
    only_test = Dataset.from_arrays(X[:120], y[:120], X_test=X[120:], y_test=y[120:], val=0.25)
    assert (len(only_test.X_train), len(only_test.X_val), len(only_test.X_test)) == (90, 30, 30)


def test_string_labels_map_and_round_trip():
    y = np.array(["spam", "ham", "eggs"] * 10)
    data = Dataset.from_arrays(np.arange(60.0).reshape(30, 2), y)
    prep = data.preprocessing
    assert prep.classes == ("eggs", "ham", "spam") and data.n_classes == 3
    assert set(np.unique(data.y_train)) == {0, 1, 2}
    labels = prep.decode(data.y_test)
    np.testing.assert_array_equal(prep.encode(labels), data.y_test)


def test_dataframe_with_categorical_target():
    frame = pd.DataFrame({"x1": np.arange(40.0), "flag": [True, False] * 20,
                          "size": pd.Categorical(["small", "large"] * 20)})
    data = Dataset.from_arrays(frame[["x1", "flag"]], frame["size"])
    assert data.preprocessing.feature_names == ("x1", "flag")
    assert data.preprocessing.classes == ("large", "small") and data.task == "classification"


def test_float_target_means_regression():
    X, y = load_diabetes(return_X_y=True)
    data = Dataset.from_arrays(X, y, stratify=True)
    assert data.task == "regression" and data.n_classes == 0 and data.n_outputs == 1
    assert data.y_train.dtype == np.float32 and data.preprocessing.classes is None
    multi = Dataset.from_arrays(X, np.column_stack([y, -y]))
    assert multi.n_outputs == 2
    ints = Dataset.from_arrays(X, y.astype(np.int64), task="regression")
    assert ints.task == "regression" and ints.y_train.dtype == np.float32
    floats = Dataset.from_arrays(X, (y > 140).astype(float), task="classification")
    assert floats.preprocessing.classes == (0, 1)


def _xy(n=20):
    return np.arange(n * 2.0).reshape(n, 2), np.arange(n) % 2


@pytest.mark.parametrize("change, error, match", [
    ({"X": np.array([[1.0, np.nan]] * 20)}, ValueError, r"20 NaN or infinite values.*\[1\]"),
    ({"X": pd.DataFrame({"a": [1.0] * 20, "b": [np.inf] + [0.0] * 19})}, ValueError,
     r"1 NaN or infinite values, in the columns \['b'\]"),
    ({"y": np.array([0.0, np.nan] * 10), "task": "classification"}, ValueError, "missing"),
    ({"y": np.zeros(20, dtype=int)}, ValueError, "needs at least 2"),
    ({"y": np.arange(19) % 2}, ValueError, "different lengths: 20 and 19"),
    ({"X": np.arange(20.0)}, ValueError, "reshape"),
    ({"X": np.zeros((0, 2)), "y": []}, ValueError, "at least 1 row"),
    ({"X": np.zeros((20, 0))}, ValueError, "at least 1 row and 1 feature"),
    ({"val": 0}, ValueError, r"val must be a fraction in \(0, 1\)"),
    ({"test": 1.5}, ValueError, "test must be a fraction"),
    ({"val": 0.6, "test": 0.4}, ValueError, "val \\+ test must be < 1"),
    ({"task": "ranking"}, ValueError, r"\['classification', 'regression'\]"),
    ({"dtype": "float16"}, ValueError, "'dtype' parameter"),
    ({"X": pd.DataFrame({"a": range(20), "b": ["x"] * 20})}, TypeError, r"\['b'\].*get_dummies"),
    ({"y": np.linspace(0, 1, 20), "task": "classification"}, ValueError, "non-integral"),
    ({"X_val": np.zeros((3, 2))}, ValueError, "X_val and y_val must be given together"),
    ({"X_val": np.zeros((3, 2)), "y_val": [0, 1, 7]}, ValueError, r"y_val has labels not seen.*\[7\]"),
    ({"X_test": np.zeros((3, 5)), "y_test": [0, 1, 1]}, ValueError, "X_test has 5 features"),
    ({"y": ["a"] * 18 + ["b", "c"]}, ValueError, r"class 'b'.*stratify=False"),
])
def test_bad_input_is_refused(change, error, match):
    X, y = _xy()
    args = {"X": X, "y": y, **change}
    with pytest.raises(error, match=match):
        Dataset.from_arrays(args.pop("X"), args.pop("y"), **args)


def test_too_few_rows_for_the_splits():
    with pytest.raises(ValueError, match="keep at least 1 row for training"):
        Dataset.from_arrays(np.zeros((2, 1)), [0, 1], stratify=False)
    data = Dataset.from_arrays(np.arange(6.0).reshape(3, 2), [0, 1, 0], stratify=False)
    assert len(data.X_train) == len(data.X_val) == len(data.X_test) == 1


def test_rare_class_trains_without_stratify():
    X, _ = _xy()
    data = Dataset.from_arrays(X, ["a"] * 18 + ["b", "c"], stratify=False)
    assert data.n_classes == 3


def test_existing_positional_construction_still_works():
    X, y = _xy()
    data = Dataset("toy", X, y, X, y, X, y, 2)
    assert data.task == "classification" and data.preprocessing is None and data.n_outputs == 2
    assert data.subset(5).X_train.shape == (5, 2)
    with pytest.raises(ValueError, match="'task' parameter"):
        Dataset("toy", X, y, X, y, X, y, 2, "clustering")


def test_subset_keeps_the_new_fields():
    X, y = load_diabetes(return_X_y=True)
    data = Dataset.from_arrays(X, y)
    small = data.subset(10, 5)
    assert small.task == "regression" and small.preprocessing is data.preprocessing
    assert small.X_train.shape == (10, 10) and small.y_val.shape == (5,)


def test_breast_cancer_trains_to_high_accuracy():
    X, y = load_breast_cancer(return_X_y=True)
    data = Dataset.from_arrays(X, y, seed=0)
    model = netcore.MLP([30, 16, 2], seed=0)
    netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val, lr=1e-2,
                batch_size=32, epochs=10, seed=0)
    assert model.evaluate(data.X_test, data.y_test)["accuracy"] > 0.9


def test_diabetes_regression_records_its_scores():
    X, y = load_diabetes(return_X_y=True)
    data = Dataset.from_arrays(X, y, seed=0)
    model = netcore.MLP([10, 16, 1], loss="mse", seed=0)
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val, lr=1e-2,
                       batch_size=32, epochs=5, seed=0)
    assert np.isfinite(hist["val_rmse"]).all() and np.isfinite(hist["val_r2"]).all()
