"""scikit-learn estimators over netcore's MLP: ``NetcoreClassifier`` and ``NetcoreRegressor``.

They keep scikit-learn's estimator contract (``fit``, ``predict``,
``predict_proba``, ``score``, ``get_params``/``set_params``, ``classes_``,
``n_features_in_``, ``feature_names_in_``), so a netcore net drops into a
``Pipeline``, ``cross_val_score`` or ``GridSearchCV``. Hyperparameters keep the
names of ``netcore.MLP`` and ``netcore.fit`` (``hidden`` as hpsearch's spaces
name it); ``random_state`` seeds the initialization, the shuffling, the dropout
masks and the early-stopping split, so a fit is deterministic given it.

>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from netcore.sklearn import NetcoreClassifier
>>> pipe = make_pipeline(StandardScaler(), NetcoreClassifier(hidden=(32,), epochs=20, random_state=0))

``NetcoreClassifier.from_model(study.best_model())`` wraps a trained netcore
model, with the preprocessing it carries, as a fitted estimator.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from netcore.callbacks import EarlyStopping
from netcore.data.preprocess import Standardizer
from netcore.data.tabular import Preprocessing
from netcore.model import MLP
from netcore.train import TrainConfig, fit
from netcore.validation import check_options

# Options of ``fit`` that the estimators set from their own hyperparameters; ``fit_options``
# may hold any other (``schedule``, ``momentum``, ``clip_norm``, ...).
_OWN_FIT_OPTIONS = ("optimizer", "lr", "batch_size", "epochs", "l2", "seed", "early_stopping")
_FIT_OPTIONS = tuple(name for name in TrainConfig.__dataclass_fields__ if name not in _OWN_FIT_OPTIONS)
# The Preprocessing fields the estimators know how to apply (anything more is refused).
_KNOWN_PREPROCESSING = {"task", "feature_names", "target", "mean", "scale", "classes",
                        "target_mean", "target_scale"}


def _check_hidden(hidden) -> tuple[int, ...]:
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if isinstance(hidden, str | bytes) or not isinstance(hidden, Sequence | np.ndarray) or not all(
            isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1 for w in hidden):
        raise ValueError(f"hidden must be a sequence of positive layer widths such as (64,) or "
                         f"(128, 64), got {hidden!r}")
    return tuple(int(w) for w in hidden)


def _check_bool(value, argument: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{argument} must be True or False, got {value!r}")
    return bool(value)


def _check_fraction(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
        raise ValueError(f"validation_fraction must be a number in (0, 1), got {value!r}")
    return float(value)


def _seed(random_state) -> int | None:
    """An int seed from ``random_state`` (None: fresh entropy; a RandomState: one draw of it)."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    raise ValueError(f"random_state must be None, an int or a numpy.random.RandomState, "
                     f"got {random_state!r}")


class _NetcoreEstimator(BaseEstimator):
    """What the classifier and the regressor share: hyperparameters, training, prediction."""

    _loss = "cross_entropy"

    def __init__(self, *, hidden=(64,), activation="relu", init="he", dropout=0.0, batch_norm=False,
                 optimizer="adam", lr=1e-3, batch_size=32, epochs=100, l2=0.0,
                 early_stopping=False, validation_fraction=0.1, patience=10, standardize=True,
                 random_state=None, dtype="float32", fit_options=None):
        self.hidden = hidden
        self.activation = activation
        self.init = init
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.l2 = l2
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.standardize = standardize
        self.random_state = random_state
        self.dtype = dtype
        self.fit_options = fit_options

    def _fit_options(self, seed: int | None) -> dict:
        """``netcore.fit``'s options from the hyperparameters (validated there)."""
        extra = {} if self.fit_options is None else self.fit_options
        if not isinstance(extra, dict):
            raise ValueError(f"fit_options must be a dict of netcore.fit options or None, got {extra!r}")
        check_options(extra, _FIT_OPTIONS, what="fit_options has unknown or reserved keys",
                      allows="it may hold")
        stopping = None
        if _check_bool(self.early_stopping, "early_stopping"):
            stopping = EarlyStopping("val_loss", patience=self.patience, restore_best=True)
        return {**extra, "optimizer": self.optimizer, "lr": self.lr, "batch_size": self.batch_size,
                "epochs": self.epochs, "l2": self.l2, "seed": seed, "early_stopping": stopping}

    def _build_net(self, n_features: int, n_outputs: int, seed: int | None) -> MLP:
        sizes = [n_features, *_check_hidden(self.hidden), n_outputs]
        return MLP(sizes, activation=self.activation, init=self.init, dropout=self.dropout,
                   batch_norm=_check_bool(self.batch_norm, "batch_norm"), loss=self._loss,
                   seed=seed, dtype=self.dtype)

    def _fit_net(self, X: np.ndarray, targets: np.ndarray, n_outputs: int, stratify=None):
        """Standardize ``X`` (when asked), train a fresh net on ``targets``, keep both."""
        seed = _seed(self.random_state)
        options = self._fit_options(seed)
        net = self._build_net(X.shape[1], n_outputs, seed)
        mean = scale = None
        if _check_bool(self.standardize, "standardize"):
            scaler = Standardizer().fit(X)
            mean, scale = scaler.mean_, scaler.scale_
        self.preprocessing_ = Preprocessing(task=self._task, mean=mean, scale=scale,
                                            feature_names=self._feature_names())
        inputs = self.preprocessing_.transform(X, net.dtype)
        history = fit(net, *self._split(inputs, targets, seed, stratify), **options)
        if history.diverged:
            raise FloatingPointError(f"training diverged at epoch {history.diverged_epoch} (the loss "
                                     "became NaN or infinite); lower lr or standardize the inputs")
        self.net_, self.history_, self.n_iter_ = net, history, history.epochs_run
        return self

    def _split(self, X, targets, seed, stratify) -> tuple:
        if not self.early_stopping:
            return X, targets
        fraction = _check_fraction(self.validation_fraction)
        n_val = math.ceil(fraction * len(X))  # as train_test_split counts it
        if n_val >= len(X):
            raise ValueError(f"early_stopping: validation_fraction={fraction} of {len(X)} samples "
                             "leaves none to train on")
        counts = None if stratify is None else np.bincount(stratify)
        if counts is not None and (counts.min() < 2 or n_val < len(counts)):
            stratify = None  # too few rows to hold every class on both sides
        X_train, X_val, t_train, t_val = train_test_split(
            X, targets, test_size=fraction, random_state=seed, stratify=stratify)
        return X_train, t_train, X_val, t_val

    def _feature_names(self) -> tuple[str, ...] | None:
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else tuple(str(n) for n in names)

    def _outputs(self, X) -> np.ndarray:
        """The net's outputs (probabilities or standardized values) for raw rows ``X``."""
        check_is_fitted(self, "net_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.net_.predict_proba(self.preprocessing_.transform(X, self.net_.dtype))

    def __getstate__(self) -> dict:
        """The net as its configuration, parameters and buffers (its layers hold views
        of one flat buffer, which pickling would split into copies)."""
        state = self.__dict__.copy()
        net = state.pop("net_", None)
        if net is not None:
            state["_net_state"] = (net.get_config(), net.params.copy(), net.get_buffers())
        return state

    def __setstate__(self, state: dict) -> None:
        saved = state.pop("_net_state", None)
        self.__dict__.update(state)
        if saved is not None:
            config, params, buffers = saved
            self.net_ = MLP(**config)
            self.net_.params[...] = params
            self.net_.set_buffers(buffers)

    @classmethod
    def _unfitted_from(cls, model: MLP):
        """An estimator whose hyperparameters rebuild ``model``'s architecture."""
        if not isinstance(model, MLP):
            raise TypeError(f"model must be a netcore.MLP, got {type(model).__name__}")
        prep = model.preprocessing
        if prep is not None:
            check_options(prep.to_dict(), _KNOWN_PREPROCESSING, what=f"{cls.__name__}.from_model: "
                          "the model's preprocessing has fields this estimator cannot apply",
                          allows="it applies")
        config = model.get_config()
        activation, dropout = config["activation"], config["dropout"]
        return cls(hidden=tuple(config["sizes"][1:-1]),
                   activation=activation[0] if len(set(activation)) == 1 else tuple(activation),
                   init=config["init"], dropout=dropout[0] if len(set(dropout)) == 1 else tuple(dropout),
                   batch_norm=config["batch_norm"], dtype=config["dtype"], random_state=config["seed"],
                   standardize=prep is not None and prep.mean is not None)

    def _adopt(self, model: MLP, task: str) -> None:
        """Take ``model`` (a copy) and its preprocessing as this estimator's fitted state."""
        prep = model.preprocessing
        if prep is not None and prep.task != task:
            raise ValueError(f"{type(self).__name__}.from_model needs a {task} model; this one's "
                             f"preprocessing is for task={prep.task!r}")
        self.net_ = model.copy()
        self.net_.preprocessing = None  # the estimator applies it: the net answers prepared inputs
        self.preprocessing_ = prep if prep is not None else Preprocessing(task=task)
        self.n_features_in_ = model.sizes[0]
        if prep is not None and prep.feature_names is not None:
            self.feature_names_in_ = np.asarray(prep.feature_names, dtype=object)
        self.n_iter_, self.history_ = 0, None


class NetcoreClassifier(ClassifierMixin, _NetcoreEstimator):
    """A netcore MLP classifier (softmax outputs, cross-entropy) with scikit-learn's API.

    Args:
        hidden: hidden layer widths, e.g. ``(128, 64)``.
        activation, init, dropout, batch_norm: as in ``netcore.MLP``.
        optimizer, lr, batch_size, epochs, l2: as in ``netcore.fit``.
        early_stopping: hold out ``validation_fraction`` of the rows (stratified)
            and stop after ``patience`` epochs without a lower validation loss,
            keeping the best epoch's weights.
        standardize: standardize the inputs with the training rows' statistics.
        random_state: None, an int or a ``numpy.random.RandomState``.
        dtype: ``"float32"`` (default) or ``"float64"``.
        fit_options: any other ``netcore.fit`` option, e.g. ``{"schedule": "cosine"}``.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``feature_names_in_``
    (DataFrame input), ``net_`` (the ``netcore.MLP``, answering standardized
    inputs), ``preprocessing_``, ``history_`` and ``n_iter_`` (epochs run).
    """

    _task = "classification"

    def fit(self, X, y) -> NetcoreClassifier:
        """Train a fresh net on ``X`` and the class labels ``y``; returns self."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes in y, got 1 class: "
                             f"{self.classes_.tolist()}")
        return self._fit_net(X, codes.astype(np.int64), len(self.classes_), stratify=codes)

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities, one column per class of ``classes_``, in float64."""
        probabilities = self._outputs(X).astype(np.float64)
        if probabilities.shape[1] == 1:  # a wrapped sigmoid net: P(classes_[1])
            probabilities = np.hstack([1.0 - probabilities, probabilities])
        return probabilities

    def predict(self, X) -> np.ndarray:
        """The most probable class label of each row."""
        indices = self.predict_proba(X).argmax(axis=1)
        return self.classes_.take(indices)

    @classmethod
    def from_model(cls, model: MLP) -> NetcoreClassifier:
        """A fitted classifier answering raw rows with ``model`` (a trained
        ``netcore.MLP``, e.g. ``study.best_model()``) and the preprocessing it
        carries: its columns, standardization and class labels.

        Raises:
            TypeError: for a regression net (use ``NetcoreRegressor.from_model``).
            ValueError: for preprocessing of another task, or fields it cannot apply.
        """
        estimator = cls._unfitted_from(model)
        if not model.loss.is_classifier:
            raise TypeError(f"from_model: the model is a regression net (loss {model.loss.name!r}); "
                            "use NetcoreRegressor.from_model")
        if model.loss.name == "binary_cross_entropy" and model.n_outputs != 1:
            raise ValueError("from_model: a binary_cross_entropy net with several outputs is "
                             "multi-label, which NetcoreClassifier does not answer")
        estimator._adopt(model, "classification")
        prep = estimator.preprocessing_
        n_classes = max(model.n_outputs, 2)
        estimator.classes_ = np.asarray(prep.classes) if prep.classes is not None \
            else np.arange(n_classes)
        if len(estimator.classes_) != n_classes:
            raise ValueError(f"from_model: the model has {n_classes} classes but its preprocessing "
                             f"names {len(estimator.classes_)}")
        return estimator


class NetcoreRegressor(RegressorMixin, _NetcoreEstimator):
    """A netcore MLP regressor (linear outputs, squared error) with scikit-learn's API.

    Takes the classifier's hyperparameters (see ``NetcoreClassifier``) and
    ``standardize_target``: train on ``(y - mean) / std`` of the training
    targets and answer in ``y``'s units (as scikit-learn's
    ``TransformedTargetRegressor`` with a ``StandardScaler`` does). A 2-D ``y``
    trains one output per column. Fitted attributes as the classifier's
    (without ``classes_``), plus ``target_mean_`` and ``target_scale_``.
    """

    _loss = "mse"
    _task = "regression"

    def __init__(self, *, hidden=(64,), activation="relu", init="he", dropout=0.0, batch_norm=False,
                 optimizer="adam", lr=1e-3, batch_size=32, epochs=100, l2=0.0,
                 early_stopping=False, validation_fraction=0.1, patience=10, standardize=True,
                 standardize_target=True, random_state=None, dtype="float32", fit_options=None):
        super().__init__(hidden=hidden, activation=activation, init=init, dropout=dropout,
                         batch_norm=batch_norm, optimizer=optimizer, lr=lr, batch_size=batch_size,
                         epochs=epochs, l2=l2, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         standardize=standardize, random_state=random_state, dtype=dtype,
                         fit_options=fit_options)
        self.standardize_target = standardize_target

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y) -> NetcoreRegressor:
        """Train a fresh net on ``X`` and the targets ``y`` (1-D or one column per output)."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True,
                             multi_output=True)
        targets = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        self._one_d = np.ndim(y) == 1
        self.target_mean_, self.target_scale_ = np.zeros(targets.shape[1]), np.ones(targets.shape[1])
        if _check_bool(self.standardize_target, "standardize_target"):
            scaler = Standardizer().fit(targets)
            self.target_mean_, self.target_scale_ = scaler.mean_, scaler.scale_
        scaled = (targets - self.target_mean_) / self.target_scale_
        return self._fit_net(X, scaled, targets.shape[1])

    def predict(self, X) -> np.ndarray:
        """Predictions in ``y``'s units (float64): 1-D when fitted on a 1-D ``y``."""
        # A wrapped model's own target scaling is its preprocessing's (decode undoes it);
        # a net this estimator trained has target_mean_ and target_scale_ instead.
        outputs = self._outputs(X)  # first: it checks that the estimator is fitted
        outputs = self.preprocessing_.decode(outputs)
        values = np.asarray(outputs, dtype=np.float64) * self.target_scale_ + self.target_mean_
        return values[:, 0] if self._one_d else values

    @classmethod
    def from_model(cls, model: MLP) -> NetcoreRegressor:
        """A fitted regressor answering raw rows with ``model`` (a trained ``mse``
        ``netcore.MLP``) and the preprocessing it carries.

        Raises:
            TypeError: for a classification net (use ``NetcoreClassifier.from_model``).
            ValueError: for preprocessing of another task, or fields it cannot apply.
        """
        estimator = cls._unfitted_from(model)
        if model.loss.is_classifier:
            raise TypeError(f"from_model: the model is a classifier (loss {model.loss.name!r}); "
                            "use NetcoreClassifier.from_model")
        estimator._adopt(model, "regression")
        # A refit of a clone standardizes the target as the model's training did (older
        # Preprocessing objects have no target scaling).
        estimator.standardize_target = getattr(model.preprocessing, "target_mean", None) is not None
        estimator.target_mean_ = np.zeros(model.n_outputs)
        estimator.target_scale_ = np.ones(model.n_outputs)
        estimator._one_d = model.n_outputs == 1
        return estimator
