"""netcore.sklearn: scikit-learn's estimator checks, and the nets inside scikit-learn's tools."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_wine
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import netcore
from netcore.sklearn import NetcoreClassifier, NetcoreRegressor

# Few epochs at a high learning rate: every check trains in milliseconds, and still learns
# enough for the checks that score a fit (check_classifiers_train, check_regressors_train).
FAST = {"epochs": 20, "lr": 1e-2, "random_state": 0}
# Early stopping, dropout and batch norm change what fit does: the contract holds with them too.
NOISY = {**FAST, "early_stopping": True, "dropout": 0.1, "batch_norm": True}
CHECKED = [NetcoreClassifier(**FAST), NetcoreRegressor(**FAST),
           NetcoreClassifier(**FAST, dtype="float64"), NetcoreRegressor(**FAST, dtype="float64"),
           NetcoreClassifier(**NOISY), NetcoreRegressor(**NOISY)]


def expected_failed_checks(estimator) -> dict[str, str]:
    if estimator.dtype != "float32":
        return {}
    return {"check_methods_subset_invariance": (
        "float32 rounding: a row predicted alone goes through a matrix-vector product, a batch "
        "through a matrix-matrix one, and their sums round differently by a few float32 ulps "
        "(~1e-7, the check allows 1e-7); the float64 estimators pass it, and "
        "test_float32_predictions_of_one_row_and_of_a_batch_agree_to_float32_precision bounds it")}


# Not strict: whether the two BLAS paths round a given sum apart depends on the BLAS build.
@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks, xfail_strict=False)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True, as_frame=True)
    names = np.array(["barolo", "grignolino", "barbera"], dtype=object)
    return X, names[y.to_numpy()]


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True, scaled=False)


def test_float32_predictions_of_one_row_and_of_a_batch_agree_to_float32_precision(wine):
    X, y = wine
    model = NetcoreClassifier(**FAST).fit(X, y)
    batch = model.predict_proba(X)
    rows = np.vstack([model.predict_proba(X.iloc[[i]]) for i in range(len(X))])
    np.testing.assert_allclose(rows, batch, rtol=1e-5, atol=1e-6)
    assert model.net_.params.dtype == np.float32


def test_a_classifier_in_a_pipeline_cross_validates_with_the_users_labels(wine):
    X, y = wine
    pipe = make_pipeline(StandardScaler(), NetcoreClassifier(hidden=(32,), standardize=False, **FAST))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.min() > 0.9
    assert set(pipe.fit(X, y).predict(X)) <= {"barolo", "grignolino", "barbera"}
    assert pipe[-1].classes_.tolist() == ["barbera", "barolo", "grignolino"]
    assert pipe.feature_names_in_.tolist() == X.columns.tolist()


def test_the_net_standardizes_raw_rows_itself_unless_told_not_to(wine):
    X, y = wine  # proline is in the thousands, hue around 1: raw wine columns differ by 10^3
    scaled = cross_val_score(NetcoreClassifier(**FAST), X, y, cv=3).mean()
    raw = cross_val_score(NetcoreClassifier(**FAST, standardize=False), X, y, cv=3).mean()
    assert scaled > 0.9 and scaled > raw + 0.05


def test_grid_search_cv_picks_among_netcore_nets_and_refits_the_best(wine):
    X, y = wine
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    grid = GridSearchCV(NetcoreClassifier(**FAST), {"hidden": [(4,), (32,)], "lr": [1e-4, 1e-2]}, cv=3)
    grid.fit(X_train, y_train)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_["lr"] == 1e-2  # 20 epochs at 1e-4 barely move the weights
    assert grid.best_estimator_.get_params()["hidden"] == grid.best_params_["hidden"]
    assert grid.score(X_test, y_test) > 0.9


def test_the_same_random_state_gives_the_same_net_bit_for_bit(wine):
    X, y = wine
    options = {**FAST, "dropout": 0.2, "early_stopping": True}
    first = NetcoreClassifier(**options).fit(X, y)
    second = NetcoreClassifier(**options).fit(X, y)
    np.testing.assert_array_equal(first.net_.params, second.net_.params)
    other = NetcoreClassifier(**{**options, "random_state": 1}).fit(X, y)
    assert not np.array_equal(first.net_.params, other.net_.params)


def test_early_stopping_holds_out_rows_and_stops_on_their_loss(wine):
    X, y = wine
    model = NetcoreClassifier(**{**FAST, "epochs": 300, "early_stopping": True, "patience": 3}).fit(X, y)
    assert model.history_.stop_reason == "early_stopping" and model.n_iter_ < 300
    assert len(model.history_["val_loss"]) == model.n_iter_
    assert model.history_.restored_epoch == model.n_iter_ - 3  # the best epoch's weights


def test_get_params_set_params_and_clone_round_trip():
    model = NetcoreRegressor(hidden=(16, 8), activation="tanh", lr=3e-3, fit_options={"schedule": "cosine"},
                             random_state=4)
    params = model.get_params()
    assert params["hidden"] == (16, 8) and params["standardize_target"] is True
    copy = clone(model)
    assert copy is not model and copy.get_params() == params
    copy.set_params(lr=0.1, hidden=(3,))
    assert (copy.lr, copy.hidden, model.lr) == (0.1, (3,), 3e-3)
    pipe = make_pipeline(StandardScaler(), model)
    pipe.set_params(netcoreregressor__epochs=7)
    assert model.epochs == 7


def test_clone_of_a_fitted_estimator_is_unfitted_with_the_same_hyperparameters(wine):
    X, y = wine
    fitted = NetcoreClassifier(**FAST).fit(X, y)
    fresh = clone(fitted)
    assert fresh.get_params() == fitted.get_params()
    assert not hasattr(fresh, "net_")


def test_the_regressor_answers_in_the_targets_units_and_beats_a_raw_target_fit(diabetes):
    X, y = diabetes  # targets 25..346: a net on the raw target is still far from them
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    model = NetcoreRegressor(epochs=30, random_state=0).fit(X_train, y_train)
    predictions = model.predict(X_test)
    assert predictions.shape == y_test.shape and predictions.dtype == np.float64
    assert abs(predictions.mean() - y_test.mean()) < 0.15 * y_test.mean()
    raw = NetcoreRegressor(epochs=30, random_state=0, standardize_target=False).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.15
    assert raw.score(X_test, y_test) < 0  # worse than predicting the mean


def test_a_2d_target_trains_one_output_per_column(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, -2 * y])
    model = NetcoreRegressor(**FAST).fit(X, Y)
    predictions = model.predict(X)
    assert predictions.shape == (len(X), 2)
    assert np.corrcoef(predictions[:, 0], predictions[:, 1])[0, 1] < -0.9


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_columns_in_another_order_are_refused_not_misread(wine):
    X, y = wine
    model = NetcoreClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="same order"):
        model.predict(X[X.columns[::-1]])
    with pytest.raises(ValueError, match="12 features, but NetcoreClassifier is expecting 13"):
        model.predict(X.to_numpy()[:, :12])


@pytest.mark.parametrize(("options", "message"), [
    ({"hidden": "64"}, "hidden must be a sequence of positive layer widths"),
    ({"hidden": (32, 0)}, "hidden must be a sequence of positive layer widths"),
    ({"activation": "relu2"}, "'activation' parameter must be one of"),
    ({"lr": 0}, "lr must be a finite number > 0"),
    ({"fit_options": {"lr": 1.0}}, r"fit_options has unknown or reserved keys \['lr'\]"),
    ({"early_stopping": "yes"}, "early_stopping must be True or False"),
    ({"early_stopping": True, "validation_fraction": 1.0}, "validation_fraction must be a number in"),
    ({"random_state": "seed"}, "random_state must be None, an int or a numpy.random.RandomState"),
    ({"dtype": "float16"}, "'dtype' parameter must be one of"),
])
def test_bad_hyperparameters_are_refused_at_fit_naming_the_argument(wine, options, message):
    X, y = wine
    model = NetcoreClassifier(**{**FAST, **options})  # constructing never validates (clone needs it)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)


def test_a_diverging_fit_raises_instead_of_predicting_nan(wine):
    X, y = wine
    with pytest.raises(FloatingPointError, match="training diverged at epoch 1"):
        NetcoreClassifier(optimizer="sgd", lr=1e6, epochs=3, random_state=0).fit(X, y)


def test_a_randomstate_seeds_the_fit_as_scikit_learn_estimators_accept(wine):
    X, y = wine
    first = NetcoreClassifier(**{**FAST, "random_state": np.random.RandomState(3)}).fit(X, y)
    second = NetcoreClassifier(**{**FAST, "random_state": np.random.RandomState(3)}).fit(X, y)
    np.testing.assert_array_equal(first.net_.params, second.net_.params)


def test_a_pickled_estimator_predicts_the_same_and_keeps_one_flat_parameter_buffer(wine):
    X, y = wine
    model = NetcoreClassifier(**FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))  # our own object, as joblib ships it to workers
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    for layer in restored.net_.dense_layers:  # pickling views would have split them into copies
        assert np.shares_memory(layer.W, restored.net_.params)


# from_model: a trained netcore model, with the preprocessing it carries, as a fitted estimator.

def _bare_outputs(model: netcore.MLP, X_prepared: np.ndarray) -> np.ndarray:
    """The net's own outputs on prepared inputs, whatever its preprocessing."""
    net = model.copy()
    net.preprocessing = None
    return net.predict_proba(X_prepared)


def _trained_on(X, y, **options):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    data = netcore.Dataset.from_arrays(X_train, y_train, test=0.0, val=0.2, X_test=X_test,
                                       y_test=y_test, **options)
    model = netcore.MLP([data.X_train.shape[1], 16, data.n_classes or 1],
                        loss="cross_entropy" if data.n_classes else "mse", seed=0)
    netcore.fit(model, data.X_train, data.y_train, epochs=20, lr=1e-2, seed=0)
    model.preprocessing = data.preprocessing
    return model, data, X_test, y_test


def test_from_model_answers_raw_rows_with_the_users_labels(wine, tmp_path):
    X, y = wine
    model, data, X_test, y_test = _trained_on(X, y)
    netcore.save(model, tmp_path / "wine.npz")
    estimator = NetcoreClassifier.from_model(netcore.load(tmp_path / "wine.npz"))
    assert estimator.classes_.tolist() == ["barbera", "barolo", "grignolino"]
    assert estimator.feature_names_in_.tolist() == X.columns.tolist()
    np.testing.assert_allclose(estimator.predict_proba(X_test), _bare_outputs(model, data.X_test),
                               rtol=1e-6, atol=1e-7)
    accuracy = model.copy().evaluate(data.X_test, data.y_test)["accuracy"]
    assert estimator.score(X_test, y_test) == pytest.approx(accuracy) and accuracy > 0.85
    assert estimator.get_params()["hidden"] == (16,) and estimator.standardize is True


def test_from_model_on_numpy_rows_checks_their_width(wine):
    X, y = wine
    model, data, X_test, _ = _trained_on(X.to_numpy(), y)
    estimator = NetcoreClassifier.from_model(model)
    assert not hasattr(estimator, "feature_names_in_") and estimator.n_features_in_ == 13
    np.testing.assert_array_equal(estimator.predict(X_test),
                                  estimator.classes_[_bare_outputs(model, data.X_test).argmax(axis=1)])
    with pytest.raises(ValueError, match="expecting 13 features"):
        estimator.predict(X_test[:, :5])


def test_from_model_of_a_model_without_preprocessing_answers_class_indices():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    model = netcore.MLP([3, 8, 2], seed=0)
    netcore.fit(model, X, y, epochs=5, seed=0)
    estimator = NetcoreClassifier.from_model(model)
    assert estimator.classes_.tolist() == [0, 1] and estimator.standardize is False
    np.testing.assert_array_equal(estimator.predict(X), model.copy().predict(X))


def test_from_model_of_a_sigmoid_net_gives_two_probability_columns():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    model = netcore.MLP([3, 4, 1], loss="binary_cross_entropy", seed=0)
    probabilities = NetcoreClassifier.from_model(model).predict_proba(X)
    np.testing.assert_allclose(probabilities[:, 1], model.copy().predict_proba(X)[:, 0], rtol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_regressor_from_model_predicts_raw_rows(diabetes):
    X, y = diabetes
    model, data, X_test, _ = _trained_on(X, y.astype(float))
    estimator = NetcoreRegressor.from_model(model)
    predictions = estimator.predict(X_test)
    assert predictions.shape == (len(X_test),) and predictions.dtype == np.float64
    in_units = data.preprocessing.decode(_bare_outputs(model, data.X_test))  # undoes any target scaling
    np.testing.assert_allclose(predictions, in_units[:, 0], rtol=1e-6)


def test_from_model_refuses_the_wrong_kind_of_net(wine, diabetes):
    classifier = netcore.MLP([3, 4, 2], seed=0)
    regressor = netcore.MLP([3, 4, 1], loss="mse", seed=0)
    with pytest.raises(TypeError, match=r"use NetcoreRegressor\.from_model"):
        NetcoreClassifier.from_model(regressor)
    with pytest.raises(TypeError, match=r"use NetcoreClassifier\.from_model"):
        NetcoreRegressor.from_model(classifier)
    with pytest.raises(TypeError, match=r"model must be a netcore\.MLP"):
        NetcoreClassifier.from_model("model.npz")


def test_a_wrapped_model_refits_from_scratch_with_its_architecture(wine):
    X, y = wine
    model, *_ = _trained_on(X, y)
    estimator = clone(NetcoreClassifier.from_model(model)).set_params(epochs=20, lr=1e-2)
    estimator.fit(X, y)
    assert estimator.net_.sizes == model.sizes and estimator.score(X, y) > 0.9


def test_the_readmes_scikit_learn_example_runs():
    readme = (Path(__file__).resolve().parents[2] / "docs" / "netcore.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
                 if "NetcoreClassifier(" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["scores"].mean() > 0.9
    assert len(namespace["grid"].cv_results_["params"]) == 2
