"""The objective: one parameter set in, one trained netcore model's metrics out.

A parameter set mixes model options (``activation``, ``init``, ...), training
options (``optimizer``, ``lr``, ``batch_size``, ...) and the architecture
(``hidden`` as a list of widths, or ``n_layers`` with ``units``). Fixed
settings of the study fill whatever the parameters leave out.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import math
import runpy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

import netcore
from hpsearch import lr_finder
from netcore.train import TrainConfig
from netcore.validation import check_positive_int

METRICS = {"val_loss": "minimize", "val_accuracy": "maximize",
           "cv_loss": "minimize", "cv_accuracy": "maximize"}
ARCHITECTURE_KEYS = ("hidden", "n_layers", "units")
_NOT_SEARCHABLE = {"sizes", "seed", "callbacks", "early_stopping"}


def model_keys() -> list[str]:
    """MLP options a parameter set may hold."""
    names = inspect.signature(netcore.MLP.__init__).parameters
    return [n for n in names if n not in _NOT_SEARCHABLE and n != "self"]


def fit_keys() -> list[str]:
    """fit options a parameter set may hold."""
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name not in _NOT_SEARCHABLE]


def parameter_names() -> list[str]:
    """Every name a search space or the fixed settings may use."""
    return sorted({*model_keys(), *fit_keys(), *ARCHITECTURE_KEYS, "patience"})


class DivergedError(RuntimeError):
    """Training produced a NaN or infinite loss."""


class TrialTimeoutError(RuntimeError):
    """A trial ran longer than the study's ``trial_timeout``."""


class _Deadline(netcore.Callback):
    """Stops a training that runs past its time limit, checked after every batch."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def on_batch_end(self, model, step: int) -> None:
        if time.monotonic() > self.deadline:
            raise TrialTimeoutError(f"the trial exceeded its time limit of {self.seconds:g} s "
                                    f"(after {step} optimizer steps)")


@dataclass(frozen=True)
class ObjectiveConfig:
    """What every trial of a study shares.

    Args:
        dataset: a ``netcore.load_dataset`` name.
        metric: ``val_loss`` (default), ``val_accuracy``, or ``cv_loss`` /
            ``cv_accuracy`` for k-fold cross-validation on the training split.
        fixed: settings used by every trial unless a parameter overrides them.
        epochs: training epochs (an upper bound when early stopping is on).
        patience: early-stopping patience on the metric; ``None`` disables it.
        cv_folds: number of folds for the ``cv_*`` metrics.
        max_train: train on the first ``max_train`` samples only (quick studies).
        trial_timeout: seconds a trial may train before it is stopped and
            recorded as failed; ``None`` (default) sets no limit.
        plugins: modules (``"package.module"``) or files (``"path/to/file.py"``)
            imported in every worker before its first trial, e.g. to register a
            custom activation or dataset in netcore's registries.
        range_test: options of ``hpsearch.lr_range_test`` (``num_iter``,
            ``lr_min``, ...) for trials whose ``lr`` is ``"range_test"``: they
            train with the test's suggested rate (the lr-range strategy sets both).
    """

    dataset: str = "digits"
    metric: str = "val_loss"
    fixed: Mapping = field(default_factory=dict)
    epochs: int = 20
    patience: int | None = 5
    cv_folds: int = 5
    max_train: int | None = None
    dataset_options: Mapping = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    trial_timeout: float | None = None
    range_test: Mapping = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "plugins", tuple(self.plugins))
        lr_finder.RangeTestConfig.from_options(self.range_test)
        load_plugins(self.plugins)
        if self.dataset not in netcore.DATASETS:
            raise ValueError(f"The 'dataset' parameter must be one of {sorted(netcore.DATASETS)}. "
                             f"Got {self.dataset!r}.")
        if self.metric not in METRICS:
            raise ValueError(f"The 'metric' parameter must be one of {sorted(METRICS)}. "
                             f"Got {self.metric!r}.")
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.cv_folds, "cv_folds")
        if self.cv_folds < 2 and self.metric.startswith("cv_"):
            raise ValueError(f"cv_folds must be >= 2 for {self.metric}, got {self.cv_folds}")
        if self.trial_timeout is not None and not (isinstance(self.trial_timeout, int | float)
                                                   and self.trial_timeout > 0):
            raise ValueError(f"trial_timeout must be a positive number of seconds or None, "
                             f"got {self.trial_timeout!r}")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 0):
            raise ValueError(f"patience must be an integer >= 0 or None, got {self.patience!r}")
        unknown = sorted(set(self.fixed) - set(parameter_names()))
        if unknown:
            raise ValueError(f"unknown fixed setting(s) {unknown}; allowed: {parameter_names()}")

    @property
    def direction(self) -> str:
        return METRICS[self.metric]

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "fixed": dict(self.fixed),
                "dataset_options": dict(self.dataset_options), "plugins": list(self.plugins),
                "range_test": dict(self.range_test)}


@functools.cache
def _load_plugin(plugin: str) -> None:
    if plugin.endswith(".py"):
        runpy.run_path(plugin)
    else:
        importlib.import_module(plugin)


def load_plugins(plugins: tuple[str, ...]) -> None:
    """Import each plugin once per process.

    Raises:
        ValueError: naming a plugin that cannot be imported.
    """
    for plugin in plugins:
        try:
            _load_plugin(plugin)
        except (ImportError, OSError, SyntaxError) as exc:
            raise ValueError(f"plugin {plugin!r} cannot be loaded: {exc}") from None


@functools.lru_cache(maxsize=4)
def _cached_dataset(name: str, options: tuple) -> netcore.Dataset:
    # Each worker process loads a dataset once and reuses it for all its trials.
    return netcore.load_dataset(name, **dict(options))


def load_data(config: ObjectiveConfig) -> netcore.Dataset:
    data = _cached_dataset(config.dataset, tuple(sorted(config.dataset_options.items())))
    return data.subset(n_train=config.max_train) if config.max_train else data


def _hidden(settings: dict) -> list[int]:
    if "hidden" in settings:
        hidden = settings["hidden"]
        return [hidden] if isinstance(hidden, int) else list(hidden)
    if "n_layers" in settings or "units" in settings:
        return [int(settings.get("units", 100))] * int(settings.get("n_layers", 1))
    return [100]


def _split(settings: dict) -> tuple[dict, dict]:
    model_kw = {k: v for k, v in settings.items() if k in model_keys()}
    fit_kw = {k: v for k, v in settings.items() if k in fit_keys()}
    return model_kw, fit_kw


def train_once(config: ObjectiveConfig, settings: dict, seed: int, X, y, X_val, y_val,
               reporter: Callable[[int, dict], None] | None = None):
    """Build and train one model; returns (model, history). Raises DivergedError."""
    data = load_data(config)
    model_kw, fit_kw = _split(settings)
    fit_kw.setdefault("epochs", config.epochs)
    model = netcore.MLP([data.n_features, *_hidden(settings), data.n_classes], seed=seed, **model_kw)
    monitor = "val_accuracy" if config.metric.endswith("accuracy") else "val_loss"
    patience = settings.get("patience", config.patience)
    stopper = netcore.EarlyStopping(monitor, patience=patience) if patience is not None else None
    callbacks = [netcore.EpochHook(reporter)] if reporter else []
    if config.trial_timeout is not None:
        callbacks.append(_Deadline(config.trial_timeout))
    hist = netcore.fit(model, X, y, X_val, y_val, seed=seed, early_stopping=stopper,
                       callbacks=callbacks, **fit_kw)
    if hist.diverged:
        raise DivergedError(f"training diverged: the loss became NaN or infinite at epoch "
                            f"{hist.diverged_epoch}")
    return model, hist


def _best(hist: netcore.History, metric: str) -> tuple[float, int]:
    values = np.asarray(hist[metric], dtype=float)
    index = int(np.nanargmax(values) if metric.endswith("accuracy") else np.nanargmin(values))
    return float(values[index]), index + 1


def evaluate(config: ObjectiveConfig, params: Mapping, seed: int,
             reporter: Callable[[int, dict], None] | None = None) -> dict:
    """Train with ``params`` (over the fixed settings) and return the trial's record.

    The record holds ``value`` (the metric to optimise) and everything worth
    keeping: validation and test metrics, epochs run, best epoch, stop reason,
    learning curves and wall time. ``reporter(epoch, logs)`` is called after each
    epoch (the pruning hook).
    """
    start = time.perf_counter()
    load_plugins(config.plugins)
    settings, range_test = _range_test_lr(config, {**config.fixed, **params}, seed)
    if config.metric.startswith("cv_"):
        record = _cross_validate(config, settings, seed)
    else:
        record = _holdout(config, settings, seed, reporter)
    if range_test is not None:
        lr_finder.add_to_record(record, range_test)
    record["duration"] = time.perf_counter() - start
    if not math.isfinite(record["value"]):
        raise DivergedError(f"the metric {config.metric} is not finite: {record['value']}")
    return record


def _range_test_lr(config: ObjectiveConfig, settings: dict, seed: int):
    """For ``lr="range_test"`` (the lr-range strategy): the settings with the rate a range
    test of this trial's model suggests, and the test; otherwise (settings, None)."""
    if settings.get("lr") != lr_finder.RANGE_TEST:
        return settings, None
    data = load_data(config)
    model_kw, fit_kw = _split(settings)
    model_config = {"sizes": [data.n_features, *_hidden(settings), data.n_classes], "seed": seed,
                    **model_kw}
    result = lr_finder.trial_range_test(model_config, data, fit_kw, seed=seed,
                                        options=config.range_test)
    return {**settings, "lr": result.suggestion}, result


def _holdout(config, settings, seed, reporter) -> dict:
    data = load_data(config)
    model, hist = train_once(config, settings, seed, data.X_train, data.y_train,
                             data.X_val, data.y_val, reporter)
    value, best_epoch = _best(hist, config.metric)
    test = model.evaluate(data.X_test, data.y_test)
    val = {"val_loss": hist["val_loss"][best_epoch - 1]}
    if "val_accuracy" in hist.metrics:
        val["val_accuracy"] = hist["val_accuracy"][best_epoch - 1]
    return {"value": value, **val, **{f"test_{k}": v for k, v in test.items()},
            "epochs_run": hist.epochs_run, "best_epoch": best_epoch,
            "stop_reason": hist.stop_reason,
            "curves": {k: list(v) for k, v in hist.metrics.items() if k != "time"}}


def _cross_validate(config, settings, seed) -> dict:
    from sklearn.model_selection import StratifiedKFold

    data = load_data(config)
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=seed % (2**32))
    metric = config.metric.replace("cv_", "val_")
    scores, epochs = [], []
    for train_idx, val_idx in folds.split(data.X_train, data.y_train):
        _, hist = train_once(config, settings, seed, data.X_train[train_idx],
                             data.y_train[train_idx], data.X_train[val_idx],
                             data.y_train[val_idx])
        score, best_epoch = _best(hist, metric)
        scores.append(score)
        epochs.append(best_epoch)
    return {"value": float(np.mean(scores)), f"{config.metric}_std": float(np.std(scores)),
            "fold_scores": scores, "best_epoch": int(np.median(epochs)),
            "epochs_run": int(max(epochs)), "stop_reason": "cross_validation"}
