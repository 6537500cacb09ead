"""Study: a search space, a strategy and an objective, persisted in a storage.

A study is created once by name in a storage, loaded by name later, and run
as often as needed: every run continues the same sequence of trial slots, so
an interrupted or killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import optuna
import pandas as pd
from optuna.trial import TrialState

from hpsearch import records
from hpsearch.checks import check_study_settings
from hpsearch.lr_finder import RANGE_TEST
from hpsearch.objective import ObjectiveConfig, parameter_names
from hpsearch.runner import PruningSpec, TrialTask, check_pruner
from hpsearch.searchspace import SearchSpace
from hpsearch.storage import normalize_url, open_storage, storage_lock
from hpsearch.strategies import STRATEGIES, get_strategy
from hpsearch.strategies.tpe import quiet_optuna
from netcore.validation import check_positive_int

log = logging.getLogger(__name__)


class AllTrialsFailedError(RuntimeError):
    """Every trial of a study failed: there is no best trial."""


class TooManyFailuresError(RuntimeError):
    """A run stopped after too many consecutive failed trials."""


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a study; stored with it so that it can be reloaded."""

    space: SearchSpace
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    strategy: str = "random"
    strategy_options: Mapping = field(default_factory=dict)
    seed: int = 0
    pruner: str | None = None
    round_size: int = 4

    def __post_init__(self):
        object.__setattr__(self, "space", SearchSpace(self.space))
        if self.strategy not in STRATEGIES:
            raise ValueError(f"The 'strategy' parameter must be one of {sorted(STRATEGIES)}. "
                             f"Got {self.strategy!r} instead.")
        self.space.check_names(parameter_names(), "the netcore objective")
        check_pruner(self.pruner)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        check_positive_int(self.round_size, "round_size")
        # Fails now, before any trial, on a bad space or option. A strategy may reshape
        # the space and objective (lr-range moves "lr" into a range test per trial).
        space, objective = self.build_strategy().configure(self.objective)
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "objective", objective)
        check_study_settings(self.objective.fixed, self.space)

    def build_strategy(self):
        return get_strategy(self.strategy, self.space, seed=self.seed,
                            direction=self.objective.direction, **dict(self.strategy_options))

    def to_dict(self) -> dict:
        return {"space": self.space.to_dict(), "objective": self.objective.to_dict(),
                "strategy": self.strategy, "strategy_options": dict(self.strategy_options),
                "seed": self.seed, "pruner": self.pruner, "round_size": self.round_size}

    @classmethod
    def from_dict(cls, data: Mapping) -> StudyConfig:
        data = dict(data)
        return cls(space=SearchSpace.from_dict(data.pop("space")),
                   objective=ObjectiveConfig(**data.pop("objective")), **data)


def _flatten(data, prefix: str = "") -> dict:
    """Nested mappings as one level of dotted keys: {"space.lr.high": 0.1, ...}."""
    if not isinstance(data, Mapping) or (prefix and not data):
        return {prefix: data}
    flat: dict = {}
    for key, value in data.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


class _Missing:
    """A key one configuration lacks; shown as ``missing``."""

    def __repr__(self) -> str:
        return "missing"


_MISSING = _Missing()


def config_differences(stored: Mapping, requested: Mapping) -> str:
    """The settings in which two configurations differ, as
    ``"objective.epochs: stored 20, requested 30; ..."`` (``missing`` where absent)."""
    old, new = _flatten(stored), _flatten(requested)
    missing = _MISSING
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k, missing) != new.get(k, missing))
    return "; ".join(f"{k}: stored {old.get(k, missing)!r}, requested {new.get(k, missing)!r}"
                     for k in keys)


class Study:
    """A named, persistent hyperparameter search. Build with ``create`` or ``load``."""

    def __init__(self, name: str, storage: str, config: StudyConfig):
        self.name, self.storage_url, self.config = name, normalize_url(storage), config
        self.storage = open_storage(self.storage_url)
        self.study_id = self.storage.get_study_id_from_name(name)

    @classmethod
    def create(cls, name: str, *, space, dataset: str = "digits", strategy: str = "random",
               storage: str | None = None, seed: int = 0, metric: str = "val_loss",
               fixed: Mapping | None = None, epochs: int = 20, patience: int | None = 5,
               cv_folds: int = 5, max_train: int | None = None, pruner: str | None = None,
               strategy_options: Mapping | None = None, round_size: int = 4,
               plugins: Sequence[str] = (), trial_timeout: float | None = None,
               load_if_exists: bool = False) -> Study:
        """Create the study ``name`` in ``storage`` (default ``sqlite:///hpsearch.db``).

        ``space`` maps parameter names to ``hpsearch.space`` dimensions;
        ``fixed`` holds settings shared by every trial (e.g. ``{"epochs": 30}``).

        Raises:
            ValueError: on a bad argument, or if the study exists with another
                configuration (or at all, unless ``load_if_exists``).
        """
        objective = ObjectiveConfig(dataset=dataset, metric=metric, fixed=dict(fixed or {}),
                                    epochs=epochs, patience=patience, cv_folds=cv_folds,
                                    max_train=max_train, plugins=tuple(plugins),
                                    trial_timeout=trial_timeout)
        config = StudyConfig(space=space, objective=objective, strategy=strategy,
                             strategy_options=dict(strategy_options or {}), seed=seed,
                             pruner=pruner, round_size=round_size)
        return cls.from_config(name, config, storage=storage, load_if_exists=load_if_exists)

    @classmethod
    def from_config(cls, name: str, config: StudyConfig, *, storage: str | None = None,
                    load_if_exists: bool = False) -> Study:
        url = normalize_url(storage)
        store = open_storage(url)
        with storage_lock(url), quiet_optuna():
            existing = {s.study_name for s in optuna.get_all_study_summaries(store)}
            if name in existing:
                return cls._reopen(name, url, config, load_if_exists)
            optuna.create_study(study_name=name, storage=store,
                                direction=config.objective.direction)
            store.set_study_user_attr(store.get_study_id_from_name(name), records.CONFIG,
                                      json.loads(json.dumps(config.to_dict())))
        return cls(name, url, config)

    @classmethod
    def _reopen(cls, name, url, config, load_if_exists) -> Study:
        if not load_if_exists:
            raise ValueError(f"a study named {name!r} already exists in {url}; use "
                             "Study.load, or pass load_if_exists=True to continue it")
        study = cls.load(name, url)
        stored, wanted = study.config.to_dict(), json.loads(json.dumps(config.to_dict()))
        if stored != wanted:
            raise ValueError(f"study {name!r} exists in {url} with a different configuration: "
                             f"{config_differences(stored, wanted)}; run it under another name "
                             f"(--name) or delete the stored one (hpsearch delete {url} "
                             f"--study {name})")
        return study

    @classmethod
    def delete(cls, name: str, storage: str | None = None) -> None:
        """Delete the study ``name`` and all its trials from ``storage``.

        Raises:
            ValueError: if the storage holds no such study (the message lists those it holds).
        """
        url = normalize_url(storage)
        store = open_storage(url)
        with storage_lock(url):
            names = sorted(s.study_name for s in optuna.get_all_study_summaries(store))
            if name not in names:
                raise ValueError(f"no study named {name!r} in {url}; studies there: {names}")
            optuna.delete_study(study_name=name, storage=store)

    @classmethod
    def load(cls, name: str, storage: str | None = None) -> Study:
        """Open an existing study by name.

        Raises:
            ValueError: if there is no such hpsearch study in the storage.
        """
        url = normalize_url(storage)
        store = open_storage(url)
        try:
            study_id = store.get_study_id_from_name(name)
        except KeyError:
            names = sorted(s.study_name for s in optuna.get_all_study_summaries(store))
            raise ValueError(f"no study named {name!r} in {url}; studies there: {names}") from None
        data = store.get_study_user_attrs(study_id).get(records.CONFIG)
        if data is None:
            raise ValueError(f"study {name!r} in {url} was not created by hpsearch")
        return cls(name, url, StudyConfig.from_dict(data))

    # Results.
    def trials(self) -> list[optuna.trial.FrozenTrial]:
        return self.storage.get_all_trials(self.study_id, deepcopy=False)

    def results(self) -> pd.DataFrame:
        """One row per trial: slot, state, value, parameters and metrics as columns."""
        from hpsearch.report import results_frame

        return results_frame(self.trials(), self.config.space)

    def _completed(self) -> list[optuna.trial.FrozenTrial]:
        return [t for t in self.trials() if t.state == TrialState.COMPLETE]

    @property
    def best_trial(self) -> dict:
        """The best complete trial: its slot, value, parameters, metrics and curves.

        Raises:
            ValueError: when no trial has completed.
        """
        done = self._completed()
        if not done:
            raise ValueError(f"study {self.name!r} has no completed trial yet")
        pick = min if self.config.objective.direction == "minimize" else max
        best = pick(done, key=lambda t: (t.value, t.number) if pick is min
                    else (t.value, -t.number))
        return {"trial": best.system_attrs.get(records.SLOT, best.number), "value": best.value,
                "params": self._trained_params(best),
                "metrics": best.user_attrs.get("metrics", {}),
                "curves": best.user_attrs.get("curves", {})}

    def _trained_params(self, trial: optuna.trial.FrozenTrial) -> dict:
        """A trial's parameters, with the learning rate it trained with when a range
        test chose it (lr-range studies, whose space has no ``lr``)."""
        params = self.config.space.decode(trial.params)
        metrics = trial.user_attrs.get("metrics", {})
        if self.config.objective.fixed.get("lr") == RANGE_TEST and "lr" in metrics:
            params["lr"] = metrics["lr"]
        return params

    @property
    def best_params(self) -> dict:
        return self.best_trial["params"]

    @property
    def best_value(self) -> float:
        return self.best_trial["value"]

    def run(self, n_trials: int, *, n_jobs: int = 1, timeout: float | None = None,
            backend: str = "loky", backend_options: Mapping | None = None,
            blas_threads: int | None = 1, catch: bool = True,
            max_consecutive_failures: int | None = None, progress: bool = True) -> pd.DataFrame:
        """Run until the study holds ``n_trials`` finished trials, then return ``results()``.

        ``n_trials`` is the study's total budget: running again after an
        interruption finishes the remainder. ``timeout`` (seconds) stops new
        trials from starting after the deadline. ``backend`` is "loky" (worker
        processes) or a joblib backend name ("dask", "ray", "threading") with
        ``backend_options`` for ``joblib.parallel_config`` (e.g.
        ``{"scheduler_host": "tcp://host:8786"}`` for Dask). A trial that raises or
        diverges is recorded as FAIL and the run goes on, unless ``catch`` is
        False (the error is then re-raised once running trials are recorded).

        Raises:
            AllTrialsFailedError: when every trial of the study failed.
            TooManyFailuresError: after ``max_consecutive_failures`` failures in a row.
            KeyboardInterrupt: passed on after marking running trials for re-run.
        """
        from hpsearch.loop import RunLoop

        RunLoop(self, n_trials=n_trials, n_jobs=n_jobs, timeout=timeout, backend=backend,
                backend_options=dict(backend_options or {}), blas_threads=blas_threads,
                catch=catch,
                max_consecutive_failures=max_consecutive_failures, progress=progress).run()
        self._raise_if_all_failed()
        return self.results()

    def _raise_if_all_failed(self) -> None:
        finished = [t for t in self.trials() if records.is_finished(t)]
        if finished and all(t.state == TrialState.FAIL for t in finished):
            last = finished[-1].user_attrs.get("error", "unknown error")
            raise AllTrialsFailedError(f"all {len(finished)} trials of study {self.name!r} "
                                       f"failed; the last error was: {last}")

    def make_task(self, trial_id: int, slot: int, seed: int, params: dict,
                  blas_threads: int | None) -> TrialTask:
        pruning = None
        if self.config.pruner:
            monitor = "val_accuracy" if self.config.objective.direction == "maximize" \
                else "val_loss"
            pruning = PruningSpec(self.storage_url, self.name, self.config.pruner,
                                  self.config.objective.epochs, monitor)
        return TrialTask(trial_id, slot, params, seed, self.config.objective, blas_threads,
                         pruning)
