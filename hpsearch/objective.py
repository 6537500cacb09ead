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
import numbers
import os
import runpy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import netcore
from hpsearch import lr_finder
from hpsearch.metrics import DIRECTIONS, TASK_METRICS, metric_names, monitor_of
from hpsearch.options import option
from hpsearch.strategies.lr_range import lr_by_range_test
from hpsearch.trial import Deadline, Fidelity
from hpsearch.trial import TrialTimeoutError as TrialTimeoutError  # raised here, named here
from netcore.train import TrainConfig
from netcore.validation import check_int, check_options, check_positive_int, did_you_mean

_MAXIMIZED = ("accuracy", "r2")
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


class _Deadline(netcore.Callback):
    """Stops a training that runs past its trial's deadline, checked after every batch."""

    def __init__(self, deadline: Deadline):
        self.deadline = deadline

    def on_batch_end(self, model, step: int) -> None:
        self.deadline.check(f"after {step} optimizer steps")


@dataclass(frozen=True)
class ObjectiveConfig:
    """What every trial of a study shares.

    Args:
        dataset: a ``netcore.load_dataset`` name, or the name of the user's own
            data when ``data_fingerprint`` is set.
        metric: ``val_loss`` (default), ``val_accuracy``, or ``cv_loss`` /
            ``cv_accuracy`` for k-fold cross-validation on the training split;
            for regression ``val_loss``, ``val_rmse``, ``val_r2`` or ``cv_loss``.
            A list of two or more distinct metrics makes a multi-objective
            study (kept as a tuple); it may add the costs ``n_params`` and
            ``epoch_time`` (see ``hpsearch.metrics``).
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
        task: ``"classification"`` or ``"regression"`` (the user's data sets it;
            regression nets train with ``loss="mse"`` and one output per target).
        data_fingerprint: shapes, dtype and hash of the user's data, which the
            study keeps in its own folder (``None`` for a named dataset).
        data_source: where that data came from (a spec's ``[data]`` table), for
            the record and to rebuild it when a spec's study is resumed.
        keep_models: each trial saves its best-epoch model; the study keeps the
            files of its ``keep_models`` best trials (0 keeps none).
    """

    dataset: str = option("digits", types=(str,), what="a string")
    metric: str | tuple[str, ...] = option("val_loss", types=(str, list),
                                            what="a metric name or a list of names")
    fixed: Mapping = option(factory=dict, types=(dict,), what="a table")
    epochs: int = option(20, types=(int,), what="an integer")
    patience: int | None = option(5, types=(int,), what="an integer")
    cv_folds: int = option(5, types=(int,), what="an integer")
    max_train: int | None = option(None, types=(int,), what="an integer")
    dataset_options: Mapping = field(default_factory=dict)
    plugins: tuple[str, ...] = option((), types=(list,), what="a list of module names or .py paths")
    trial_timeout: float | None = option(None, types=(numbers.Real,), what="a number of seconds")
    range_test: Mapping = field(default_factory=dict)
    task: str = "classification"
    data_fingerprint: Mapping | None = None
    data_source: Mapping = field(default_factory=dict)
    keep_models: int = option(5, types=(int,), what="an integer")

    def __post_init__(self):
        """Checks of the values alone: nothing is imported or looked up in a registry,
        so a stored configuration is rebuilt without running code (see ``check_names``)."""
        if not isinstance(self.dataset, str):
            raise TypeError(f"dataset must be a dataset name (one of {sorted(netcore.DATASETS)}), "
                            f"got a {type(self.dataset).__name__}; pass arrays or a "
                            "netcore.Dataset as data=, e.g. Study.create(..., data=(X, y))")
        plugin_names(self.plugins)
        lr_finder.RangeTestConfig.from_options(self.range_test)
        self._check_task_and_metric()
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.cv_folds, "cv_folds")
        check_positive_int(self.max_train, "max_train", optional=True)
        if self.cv_folds < 2 and self.cross_validated:
            raise ValueError(f"cv_folds must be >= 2 for {self.metric}, got {self.cv_folds}")
        if self.trial_timeout is not None and not (isinstance(self.trial_timeout, int | float)
                                                   and self.trial_timeout > 0):
            raise ValueError(f"trial_timeout must be a positive number of seconds or None, "
                             f"got {self.trial_timeout!r}")
        check_int(self.patience, "patience", minimum=0, optional=True)
        check_options(self.fixed, parameter_names(), what="unknown fixed setting(s)")
        check_int(self.keep_models, "keep_models", minimum=0)

    def check_names(self) -> None:
        """Import the plugins (the caller named them) and check the dataset name,
        which a plugin may have registered: the checks a new study makes once."""
        load_plugins(self.plugins)
        if self.data_fingerprint is None and self.dataset not in netcore.DATASETS:
            raise ValueError(f"The 'dataset' parameter must be one of {sorted(netcore.DATASETS)}. "
                             f"Got {self.dataset!r}.{did_you_mean(self.dataset, netcore.DATASETS)} "
                             "(Your own data: Study.create(data=...).)")

    def _check_task_and_metric(self) -> None:
        if self.task not in TASK_METRICS:
            raise ValueError(f"The 'task' parameter must be one of {sorted(TASK_METRICS)}. "
                             f"Got {self.task!r}.")
        metric_names(self.metric, self.task)
        loss = self.fixed.get("loss")
        if self.task == "regression" and loss not in (None, "mse"):
            raise ValueError(f"a regression study trains with loss 'mse'; fixed.loss is {loss!r}")

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics optimised, in order: one name, or several for a multi-objective study."""
        return (self.metric,) if isinstance(self.metric, str) else tuple(self.metric)

    @property
    def multi_objective(self) -> bool:
        return len(self.metrics) > 1

    @property
    def cross_validated(self) -> bool:
        """True when the validation metrics are k-fold cross-validated (``cv_*``)."""
        return any(m.startswith("cv_") for m in self.metrics)

    @property
    def monitor(self) -> str:
        """The per-epoch validation metric early stopping and pruners watch: the
        first validation metric of the list (``cv_*`` read as each fold's ``val_*``)."""
        return monitor_of(self.metrics)

    @property
    def directions(self) -> list[str]:
        """``"minimize"`` or ``"maximize"`` per metric, in the order of ``metrics``."""
        return [DIRECTIONS[m] for m in self.metrics]

    @property
    def direction(self) -> str:
        """The direction of a single-objective study.

        Raises:
            ValueError: for a multi-objective study, which has ``directions``.
        """
        if self.multi_objective:
            raise ValueError(f"a multi-objective study ({list(self.metrics)}) has no single "
                             f"direction; use directions: {self.directions}")
        return self.directions[0]

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "fixed": dict(self.fixed),
                "metric": self.metric if isinstance(self.metric, str) else list(self.metric),
                "dataset_options": dict(self.dataset_options), "plugins": list(self.plugins),
                "range_test": dict(self.range_test), "data_source": dict(self.data_source),
                "data_fingerprint": None if self.data_fingerprint is None
                else dict(self.data_fingerprint)}


def plugin_names(plugins) -> tuple[str, ...]:
    """``plugins`` as a tuple of names, checked to be a list of strings."""
    if isinstance(plugins, str) or not isinstance(plugins, list | tuple) \
            or not all(isinstance(p, str) for p in plugins):
        raise TypeError(f"plugins must be a list of module names or .py paths, got {plugins!r}")
    return tuple(plugins)


@functools.cache
def _load_plugin(plugin: str) -> None:
    if plugin.endswith(".py"):
        runpy.run_path(plugin)
    else:
        importlib.import_module(plugin)


def load_plugins(plugins: tuple[str, ...]) -> None:
    """Import each plugin once per process.

    Raises:
        ValueError: naming a plugin that cannot be imported, or that raised or
            called ``sys.exit`` while being imported.
    """
    for plugin in plugins:
        try:
            _load_plugin(plugin)
        except (ImportError, OSError, SyntaxError) as exc:
            raise ValueError(f"plugin {plugin!r} cannot be loaded: {exc}") from None
        except (Exception, SystemExit) as exc:
            # A plugin is the user's code: whatever it raises, or a sys.exit() in it,
            # is reported as that plugin's failure instead of ending the process.
            raise ValueError(f"plugin {plugin!r} failed to load: {type(exc).__name__}: "
                             f"{exc}") from None


@functools.lru_cache(maxsize=4)
def _cached_dataset(name: str, options: tuple) -> netcore.Dataset:
    # Each worker process loads a dataset once and reuses it for all its trials.
    return netcore.load_dataset(name, **dict(options))


@functools.lru_cache(maxsize=4)
def _opened_dataset(folder: str) -> netcore.Dataset:
    # The user's data, memory-mapped from the study's folder: every worker shares
    # the pages of one copy instead of receiving the arrays with each trial.
    return netcore.Dataset.open(folder)


@dataclass(frozen=True)
class TrialFiles:
    """Where a trial finds the study's own data and writes its model (runtime paths,
    not part of the stored configuration: the study's folder may move with it)."""

    data_dir: str | None = None
    model_path: str | None = None
    # A multi-fidelity job's paused training: where it saves it, whence it resumes.
    checkpoint_path: str | None = None
    resume_path: str | None = None


def load_data(config: ObjectiveConfig, files: TrialFiles | None = None) -> netcore.Dataset:
    """The dataset a trial trains on (the first ``max_train`` training rows when set).

    Raises:
        ValueError: for a study on its own data when its data folder is not known.
    """
    if config.data_fingerprint is not None:
        if files is None or files.data_dir is None:
            raise ValueError(f"study data {config.dataset!r} needs the study's data folder")
        data = _opened_dataset(files.data_dir)
    else:
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


def model_config(config: ObjectiveConfig, settings: dict, seed: int,
                 data: netcore.Dataset) -> dict:
    """The MLP arguments of one trial: the data's widths around the hidden layers."""
    model_kw, _ = _split(settings)
    if config.task == "regression":
        model_kw.setdefault("loss", "mse")
    return {"sizes": [data.n_features, *_hidden(settings), data.n_outputs], "seed": seed,
            **model_kw}


def build_model(config: ObjectiveConfig, settings: dict, seed: int,
                data: netcore.Dataset) -> netcore.MLP:
    """The untrained net of one trial, carrying the data's preprocessing: its metrics
    (a standardized target's in the target's units) and its answers on raw rows."""
    model = netcore.MLP(**model_config(config, settings, seed, data))
    model.preprocessing = data.preprocessing
    return model


def train_once(config: ObjectiveConfig, settings: dict, seed: int, data: netcore.Dataset,
               X, y, X_val, y_val, reporter: Callable[[int, dict], None] | None = None,
               deadline: Deadline | None = None, *, pause_after: int | None = None,
               resume: netcore.TrainingState | None = None):
    """Build and train one model; returns (model, history). Raises DivergedError.

    The model returned holds the weights of its best epoch on the validation
    metric (early stopping restores them; without patience nothing stops early).
    ``deadline`` is the trial's (shared by all its trainings); without one a
    ``trial_timeout`` starts its own now. ``pause_after`` and ``resume`` are
    ``netcore.fit``'s (a multi-fidelity job): a paused model too holds the
    weights of its best epoch so far, ``history.state`` the training to continue.
    """
    _, fit_kw = _split(settings)
    fit_kw.setdefault("epochs", config.epochs)
    model = build_model(config, settings, seed, data)
    patience = settings.get("patience", config.patience)
    stopper = netcore.EarlyStopping(config.monitor, patience=fit_kw["epochs"]
                                    if patience is None else patience)
    callbacks = [netcore.EpochHook(reporter)] if reporter else []
    deadline = deadline or Deadline.start(config.trial_timeout)
    if deadline is not None:
        callbacks.append(_Deadline(deadline))
    hist = netcore.fit(model, X, y, X_val, y_val, seed=seed, early_stopping=stopper,
                       callbacks=callbacks, pause_after=pause_after, resume=resume, **fit_kw)
    if hist.diverged:
        raise DivergedError(f"training diverged: the loss became NaN or infinite at epoch "
                            f"{hist.diverged_epoch}")
    if hist.state is not None:
        # Paused: the training to continue is in hist.state (its own copies); the model
        # returned is, as for any trial, the best epoch's so far.
        stopper.on_train_end(model, hist)
    return model, hist


def _best(hist: netcore.History, metric: str) -> tuple[float, int]:
    values = np.asarray(hist[metric], dtype=float)
    index = int(np.nanargmax(values) if metric.endswith(_MAXIMIZED) else np.nanargmin(values))
    return float(values[index]), index + 1


def evaluate(config: ObjectiveConfig, params: Mapping, seed: int,
             reporter: Callable[[int, dict], None] | None = None,
             files: TrialFiles | None = None, deadline: Deadline | None = None,
             fidelity: Fidelity | None = None) -> dict:
    """Train with ``params`` (over the fixed settings) and return the trial's record.

    The record holds ``value`` (the metric to optimise; for a multi-objective
    study the first one, with all of them in ``values``) and everything worth
    keeping: validation and test metrics, epochs run, best epoch, stop reason,
    learning curves and wall time. ``reporter(epoch, logs)`` is called after each
    epoch (the pruning hook). With ``files.model_path`` (and ``keep_models``) the
    trained model of a holdout trial is saved there, with the data's preprocessing.
    ``trial_timeout`` is one ``deadline`` for the whole trial (by default from
    now): every fold and the range test count against it. A ``fidelity`` (a
    multi-fidelity job) trains until its ``until_epoch``, continuing the
    checkpoint at ``files.resume_path`` and saving its own at
    ``files.checkpoint_path`` when it pauses (its record's ``stop_reason`` is
    then "paused"; ``epochs_trained`` counts the epochs this job trained).

    Raises:
        TrialTimeoutError: once the trial is past its deadline.
    """
    start = time.perf_counter()
    deadline = deadline or Deadline.start(config.trial_timeout)
    load_plugins(config.plugins)
    data = load_data(config, files)
    settings, range_test = _range_test_lr(config, {**config.fixed, **params}, seed, data)
    if deadline is not None:
        deadline.check("before training")
    if config.cross_validated:
        record = _cross_validate(config, settings, seed, data, deadline)
    else:
        record = _holdout(config, settings, seed, data, reporter, files, deadline, fidelity)
    if range_test is not None:
        _add_range_test(record, range_test)
    record["duration"] = time.perf_counter() - start
    if config.multi_objective:
        record["values"] = [float(record[m]) for m in config.metrics]
        record["value"] = record["values"][0]
    for name, value in zip(config.metrics, record.get("values", [record["value"]]), strict=True):
        if not math.isfinite(value):
            raise DivergedError(f"the metric {name} is not finite: {value}")
    return record


def _costs(config: ObjectiveConfig, model: netcore.MLP, hists: list) -> dict:
    """The cost metrics the study optimises: ``n_params`` of the trained net and
    ``epoch_time``, the mean seconds of an epoch (training and validation pass)
    over every epoch trained (all folds when cross-validated)."""
    costs = {}
    if "n_params" in config.metrics:
        costs["n_params"] = model.n_params
    if "epoch_time" in config.metrics:
        costs["epoch_time"] = float(np.mean([t for h in hists for t in h.metrics["time"]]))
    return costs


def _range_test_lr(config: ObjectiveConfig, settings: dict, seed: int, data: netcore.Dataset):
    """For ``lr="range_test"`` (the lr-range strategy): the settings with the rate a range
    test of this trial's model suggests, and the test; otherwise (settings, None)."""
    if not lr_by_range_test(settings):
        return settings, None
    _, fit_kw = _split(settings)
    result = _trial_range_test(model_config(config, settings, seed, data), data, fit_kw,
                               seed=seed, options=config.range_test)
    return {**settings, "lr": result.suggestion}, result


def _holdout(config, settings, seed, data, reporter, files, deadline, fidelity=None) -> dict:
    pause_after, resume = _job_training(config, fidelity, files)
    model, hist = train_once(config, settings, seed, data, data.X_train, data.y_train,
                             data.X_val, data.y_val, reporter, deadline,
                             pause_after=pause_after, resume=resume)
    value, best_epoch = _best(hist, config.monitor)
    test = model.evaluate(data.X_test, data.y_test)
    # Every validation metric at the monitor's best epoch: the model kept.
    val = {key: hist[key][best_epoch - 1] for key in hist.metrics
           if key.startswith("val_")}
    record = {"value": value, **val, **_costs(config, model, [hist]),
              **{f"test_{k}": v for k, v in test.items()},
              "epochs_run": hist.epochs_run, "best_epoch": best_epoch,
              "stop_reason": hist.stop_reason,
              "curves": {k: list(v) for k, v in hist.metrics.items() if k != "time"}}
    if fidelity is not None:
        record["epochs_trained"] = hist.epochs_run - (0 if resume is None else resume.epochs_done)
    if hist.state is not None:  # paused: a later job may continue it
        _save_atomically(hist.state.save, Path(files.checkpoint_path))
    if files is not None and files.model_path and config.keep_models:
        record["model_file"] = _save_model(model, Path(files.model_path)).name
    return record


def _job_training(config: ObjectiveConfig, fidelity: Fidelity | None,
                  files: TrialFiles | None) -> tuple[int | None, netcore.TrainingState | None]:
    """A multi-fidelity job's ``pause_after`` (None at the last epoch) and the state it resumes.

    Raises:
        ValueError: when the job lacks its checkpoint files or the one it resumes is missing.
    """
    if fidelity is None:
        return None, None
    if files is None or files.checkpoint_path is None:
        raise ValueError("a multi-fidelity job needs its checkpoint path (TrialFiles)")
    pause_after = fidelity.until_epoch if fidelity.until_epoch < config.epochs else None
    if fidelity.resume_from is None:
        return pause_after, None
    if not files.resume_path or not Path(files.resume_path).exists():
        raise ValueError(f"the checkpoint of slot {fidelity.resume_from} this job resumes is "
                         f"missing: {files.resume_path}")
    return pause_after, netcore.TrainingState.load(files.resume_path)


def _save_model(model: netcore.MLP, path: Path) -> Path:
    return _save_atomically(functools.partial(netcore.save, model), path)


def _save_atomically(save: Callable[[Path], Path], path: Path) -> Path:
    # Written under a private name and renamed: a killed worker leaves no half file.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    try:
        os.replace(save(partial), path)
    except BaseException:  # a full disk: the half-written file must not stay behind
        partial.unlink(missing_ok=True)
        raise
    return path


def _folds(config: ObjectiveConfig, seed: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    kind = StratifiedKFold if config.task == "classification" else KFold
    return kind(config.cv_folds, shuffle=True, random_state=seed % (2**32))


def _cross_validate(config, settings, seed, data, deadline) -> dict:
    """Train one net per fold. The value is the mean over folds of the monitor's best
    score; for a multi-objective study every ``cv_*`` metric is the mean of its fold
    scores at that best epoch (its ``_std`` beside it) and the costs are added."""
    folds = _folds(config, seed)
    cv = [m for m in config.metrics if m.startswith("cv_")]
    scores, epochs, hists = {m: [] for m in cv}, [], []
    for fold, (train_idx, val_idx) in enumerate(folds.split(data.X_train, data.y_train)):
        if deadline is not None:
            deadline.check(f"after {fold} of {config.cv_folds} folds")
        model, hist = train_once(config, settings, seed, data, data.X_train[train_idx],
                                 data.y_train[train_idx], data.X_train[val_idx],
                                 data.y_train[val_idx], deadline=deadline)
        _, best_epoch = _best(hist, config.monitor)
        for m in cv:
            scores[m].append(float(hist[m.replace("cv_", "val_")][best_epoch - 1]))
        epochs.append(best_epoch)
        hists.append(hist)
    first = scores[cv[0]]
    record = {"value": float(np.mean(first)), f"{cv[0]}_std": float(np.std(first)),
              "fold_scores": first, "best_epoch": int(np.median(epochs)),
              "epochs_run": int(max(epochs)), "stop_reason": "cross_validation"}
    if config.multi_objective:
        for m in cv:
            record.update({m: float(np.mean(scores[m])), f"{m}_std": float(np.std(scores[m]))})
        record.update(_costs(config, model, hists))
    return record


def refit(config: ObjectiveConfig, params: Mapping, seed: int, data: netcore.Dataset, *,
          epochs: int | None = None) -> netcore.MLP:
    """Train the configuration ``params`` again in this process.

    With ``epochs`` the net trains on the training and validation splits
    together for exactly that many epochs (no early stopping: there is no
    held-out data left to stop on); without, it trains as the trial did, on the
    training split with early stopping on the validation split.
    """
    settings, _ = _range_test_lr(config, {**config.fixed, **params}, seed, data)
    if epochs is None:
        model, _ = train_once(config, settings, seed, data, data.X_train, data.y_train,
                              data.X_val, data.y_val)
    else:
        model = build_model(config, settings, seed, data)
        _, fit_kw = _split(settings)
        fit_kw["epochs"] = check_positive_int(epochs, "epochs")
        X = np.concatenate([data.X_train, data.X_val])
        y = np.concatenate([data.y_train, data.y_val])
        hist = netcore.fit(model, X, y, seed=seed, **fit_kw)
        if hist.diverged:
            raise DivergedError(f"the refit diverged at epoch {hist.diverged_epoch}")
    return model


# The lr-range strategy's trials: a range test picks each trial's rate.

def _trial_range_test(model_config: dict, data, fit_options: Mapping, *, seed: int,
                      options: Mapping) -> lr_finder.LRRangeResult:
    """The range test of one trial: its model, optimizer settings and batch size.

    ``fit_options`` are the trial's fit settings (the optimizer and its options,
    ``batch_size``, gradient transforms; the rest is ignored); ``options`` the
    study's range-test options (``ObjectiveConfig.range_test``).

    Raises:
        ValueError: when the test finds no learning rate (the trial then fails).
    """
    train = {k: v for k, v in fit_options.items() if k in lr_finder.TRAIN_OPTIONS}
    kwargs = {"batch_size": fit_options.get("batch_size", TrainConfig.batch_size), "seed": seed,
              **dict(options)}
    optimizer = fit_options.get("optimizer", TrainConfig.optimizer)
    result = lr_finder.lr_range_test(model_config, data, optimizer=optimizer, **kwargs, **train)
    if result.suggestion is None:
        raise ValueError(f"the learning-rate range test found no learning rate (stopped: "
                         f"{result.stop_reason} after {len(result.lrs)} steps); {' '.join(result.notes)}")
    return result


def _add_range_test(record: dict, result: lr_finder.LRRangeResult) -> dict:
    """Put the range test into a trial's record: ``lr`` (the rate trained with), the
    suggestions and confidence as metrics, the curve as ``range_test_lr``/``_loss`` curves."""
    record.update({"lr": result.suggestion, **result.summary()})
    curves = record.setdefault("curves", {})
    curves.update(range_test_lr=result.lrs.tolist(), range_test_loss=result.curve.tolist())
    return record
