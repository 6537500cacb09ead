"""What every trial of a study shares (ObjectiveConfig) and the names a parameter set may use."""

from __future__ import annotations

import dataclasses
import inspect
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import netcore
from hpsearch import lr_finder
from hpsearch.metrics import DIRECTIONS, TASK_METRICS, metric_names, monitor_of
from hpsearch.objective.plugins import load_plugins, plugin_names
from hpsearch.options import option
from netcore.train import TrainConfig
from netcore.validation import check_choice, check_int, check_options, check_positive_int

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
        if self.data_fingerprint is None:
            try:
                check_choice(self.dataset, sorted(netcore.DATASETS), "dataset")
            except ValueError as exc:  # the way to the user's own data, named beside it
                raise ValueError(f"{exc} (Your own data: Study.create(data=...).)") from None

    def _check_task_and_metric(self) -> None:
        check_choice(self.task, sorted(TASK_METRICS), "task")
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
