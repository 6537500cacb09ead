"""Study: a search space, a strategy and an objective, persisted in a storage.

A study is created once by name in a storage, loaded by name later, and run
as often as needed: every run continues the same sequence of trial slots, so
an interrupted or killed run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import os
import shutil
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd
from optuna.trial import TrialState

import netcore
from hpsearch.checks import check_study_settings
from hpsearch.errors import AllTrialsFailedError, TooManyFailuresError  # noqa: F401 (re-exported)
from hpsearch.execution.worker import TrialTask, WorkerSetup
from hpsearch.lr_finder import lr_by_range_test
from hpsearch.metrics import frozen_metric
from hpsearch.models import store as models
from hpsearch.objective import (
    ObjectiveConfig,
    TrialFiles,
    load_plugins,
    parameter_names,
    plugin_names,
)
from hpsearch.options import option, option_fields
from hpsearch.pruners import PruningSpec, check_pruner
from hpsearch.space.searchspace import SearchSpace
from hpsearch.storages import artifacts, records
from hpsearch.storages.database import normalize_url, open_storage, storage_lock, study_names
from hpsearch.strategies import STRATEGIES, get_strategy
from hpsearch.strategies.tpe import quiet_optuna
from hpsearch.trial import Fidelity
from netcore.validation import check_int, check_options, check_positive_int, did_you_mean

log = logging.getLogger(__name__)


@dataclass
class StudyConfig:
    """Everything that defines a study; stored with it so that it can be reloaded.

    Building one checks its values alone (a mapping ``space`` is made a
    ``SearchSpace``) and runs no code: that is how a stored study is read.
    A new study is made by ``create`` (or ``checked``), which also makes the
    checks that import plugins, build the strategy and try stand-in nets.
    """

    space: SearchSpace
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    strategy: str = option("random", types=(str,), what="a string")
    strategy_options: Mapping = option(factory=dict, types=(dict,), what="a table")
    seed: int = option(0, types=(int,), what="an integer")
    pruner: str | None = option(None, types=(str,), what="a string")
    round_size: int = option(4, types=(int,), what="an integer")

    def __post_init__(self):
        self.space = SearchSpace(self.space)
        self.space.check_names(parameter_names(), "the netcore objective")
        check_pruner(self.pruner)
        if self.pruner is not None and self.objective.multi_objective:
            raise ValueError(f"pruner {self.pruner!r} cannot judge a multi-objective study "
                             f"({list(self.objective.metrics)}): Optuna's pruners watch one "
                             "objective; use pruner=None")
        check_int(self.seed, "seed", minimum=0)
        check_positive_int(self.round_size, "round_size")
        if not isinstance(self.strategy, str):
            raise TypeError(f"strategy must be a strategy name, got {self.strategy!r}")

    @classmethod
    def create(cls, space, objective: ObjectiveConfig | None = None, **settings) -> StudyConfig:
        """The configuration of a new study, checked once (see ``checked``)."""
        return cls(space, objective or ObjectiveConfig(), **settings).checked()

    def checked(self) -> StudyConfig:
        """This configuration as a new study stores it, after the checks that need
        code: the plugins imported, the dataset and strategy names looked up, the
        strategy built and the fixed settings tried on stand-in nets. A strategy
        may reshape the space and objective (lr-range moves "lr" into a range test
        per trial); applied to its own output it gives the same configuration.

        Raises:
            ValueError: on a name, option or setting that fails, before any trial.
        """
        self.objective.check_names()
        if self.strategy not in STRATEGIES:
            raise ValueError(f"The 'strategy' parameter must be one of {sorted(STRATEGIES)}. "
                             f"Got {self.strategy!r} instead.{did_you_mean(self.strategy, STRATEGIES)}")
        if self.pruner is not None and STRATEGIES[self.strategy].multi_fidelity:
            raise ValueError(f"strategy {self.strategy!r} stops and resumes trials at its own "
                             f"rungs; pruner {self.pruner!r} cannot be combined with it "
                             "(use pruner=None)")
        space, objective = self._new_strategy().configure(self.objective)
        config = dataclasses.replace(self, space=space, objective=objective)
        check_study_settings(config.objective.fixed, config.space)
        return config

    def build_strategy(self):
        """The strategy, configured for the objective (a multi-fidelity strategy learns
        its epochs there; configuring the stored, configured objective changes nothing)."""
        strategy = self._new_strategy()
        strategy.configure(self.objective)
        return strategy

    def _new_strategy(self):
        return get_strategy(self.strategy, self.space, seed=self.seed,
                            direction=self.objective.directions, **dict(self.strategy_options))

    def to_dict(self) -> dict:
        return {"space": self.space.to_dict(), "objective": self.objective.to_dict(),
                "strategy": self.strategy, "strategy_options": dict(self.strategy_options),
                "seed": self.seed, "pruner": self.pruner, "round_size": self.round_size}

    @classmethod
    def from_dict(cls, data: Mapping, *, checked: bool = False) -> StudyConfig:
        """Rebuild a stored configuration (``to_dict``'s output).

        By default only its structure is checked and nothing is imported: a
        study read from a database is data, not code, so its plugins do not
        run. ``checked=True`` checks it as at creation, importing its plugins.
        """
        data = dict(data)
        objective = dict(data.pop("objective"))
        if "plugins" in objective:
            objective["plugins"] = plugin_names(objective["plugins"])
        if "metric" in objective:
            objective["metric"] = frozen_metric(objective["metric"])
        config = cls(space=SearchSpace.from_dict(data.pop("space")),
                     objective=ObjectiveConfig(**objective), **data)
        return config.checked() if checked else config


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


def _plugin_key(plugin: str) -> str:
    """A plugin name to compare: a file by its absolute path, a module by its name."""
    return os.path.abspath(plugin) if plugin.endswith(".py") else plugin


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
        self.folder = artifacts.study_folder(self.storage_url, self.storage, self.study_id, name)
        # A configuration read from the storage is checked (and its plugins compared
        # with the ones the caller named) only when the study is run.
        self.checked = True
        self.named_plugins: tuple[str, ...] = ()
        self._checked_data: list | None = None  # the data files' stamp when last checked

    @classmethod
    def create(cls, name: str, *, space, data=None, storage: str | None = None,
               load_if_exists: bool = False, **settings) -> Study:
        """Create the study ``name`` in ``storage`` (default ``sqlite:///hpsearch.db``).

        The data is required: the user's own ``data``, or a named ``dataset``
        (``"digits"``, ``"mnist"``, ...). ``settings`` are the options of
        ``ObjectiveConfig`` (``dataset``, ``metric``, ``fixed``, ``epochs``, ``patience``, ``cv_folds``,
        ``max_train``, ``plugins``, ``trial_timeout``, ``keep_models``) and of
        ``StudyConfig`` (``strategy``, ``strategy_options``, ``seed``,
        ``pruner``, ``round_size``), with their defaults (the signature shows them).
        ``space`` maps parameter names to ``hpsearch.space`` dimensions;
        ``metric`` is one metric, or a list of two or more for a multi-objective
        study (``["val_loss", "n_params"]``; see ``best_trials``);
        ``fixed`` holds settings shared by every trial (e.g. ``{"epochs": 30}``).
        ``data`` is the user's own data instead of a named ``dataset``: a
        ``netcore.Dataset`` (``Dataset.from_arrays``, ``.from_csv``, ...) or a
        tuple ``(X, y)`` of arrays or pandas objects (split and standardized by
        ``Dataset.from_arrays``' defaults). It is saved once in the study's
        folder and memory-mapped by the workers. Each holdout trial saves its
        best-epoch model; the files of the ``keep_models`` best trials are kept
        (``best_model``, ``model``, ``export``).

        Raises:
            ValueError: on a bad argument, or if the study exists with another
                configuration or other data (or at all, unless ``load_if_exists``).
            TypeError: for a keyword that is no option, or when neither ``data`` nor
                ``dataset`` is given (or both are).
        """
        check_options(settings, create_arguments(), what="Study.create() got unknown options",
                      allows="its arguments:", error=TypeError)
        _check_data_given(data, settings)
        settings = _plain_settings(settings)
        data = as_dataset(data)
        objective = ObjectiveConfig(**{k: v for k, v in settings.items() if k in _OBJECTIVE_OPTIONS},
                                    **_data_fields(data))
        config = StudyConfig.create(space, objective,
                                    **{k: v for k, v in settings.items() if k in _STUDY_OPTIONS})
        return cls.from_config(name, config, storage=storage, load_if_exists=load_if_exists,
                               data=data)

    @classmethod
    def from_config(cls, name: str, config: StudyConfig, *, storage: str | None = None,
                    load_if_exists: bool = False, data: netcore.Dataset | None = None) -> Study:
        """Create (or, with ``load_if_exists``, reopen) the study ``name`` from ``config``.

        ``data`` is the user's dataset when ``config`` was made for it; a config
        whose objective names a ``data_source`` (a spec's ``[data]`` table) reads
        it from there.
        """
        check_study_name(name)
        if data is None and config.objective.data_source:
            data = models.read_data_source(config.objective.data_source)
        if data is not None and config.objective.data_fingerprint is None:
            config = dataclasses.replace(config, objective=dataclasses.replace(
                config.objective, **_data_fields(data)))
        url = normalize_url(storage)
        store = open_storage(url)
        with storage_lock(url), quiet_optuna():
            existing = set(study_names(store))
            if name in existing:
                study = cls._reopen(name, url, config, load_if_exists)
            else:
                optuna.create_study(study_name=name, storage=store,
                                    directions=config.objective.directions)
                study_id = store.get_study_id_from_name(name)
                store.set_study_user_attr(study_id, records.ARTIFACTS, artifacts.new_folder(name))
                store.set_study_user_attr(study_id, records.CONFIG,
                                          json.loads(json.dumps(config.to_dict())))
                study = cls(name, url, config)
        if data is not None and not (artifacts.data_dir(study.folder) / "dataset.json").exists():
            data.save(artifacts.data_dir(study.folder))  # new, or a resumed study whose folder was lost
        return study

    @classmethod
    def _reopen(cls, name, url, config, load_if_exists) -> Study:
        if not load_if_exists:
            raise ValueError(f"a study named {name!r} already exists in {url}; use "
                             "Study.load, or pass load_if_exists=True to continue it")
        study = cls.load(name, url, plugins=config.objective.plugins)
        stored, wanted = study.config.to_dict(), json.loads(json.dumps(config.to_dict()))
        models.check_same_data(name, stored["objective"], wanted["objective"])
        for side in (stored, wanted):  # the same data may be read from another place
            side["objective"].pop("data_source", None)
        if stored != wanted:
            raise ValueError(f"study {name!r} exists in {url} with a different configuration: "
                             f"{config_differences(stored, wanted)}; run it under another name "
                             f"(--name) or delete the stored one (hpsearch delete {url} "
                             f"--study {name})")
        return study

    @classmethod
    def delete(cls, name: str, storage: str | None = None) -> list[Path]:
        """Delete the study ``name`` and all its trials from ``storage``, and its folder
        of data and models beside the storage.

        Returns the files and folders that could not be removed (none when all went).

        Raises:
            ValueError: if the storage holds no such study (the message lists those it holds).
        """
        url = normalize_url(storage)
        store = open_storage(url)
        with storage_lock(url):
            names = study_names(store)
            if name not in names:
                raise ValueError(f"no study named {name!r} in {url}; studies there: {names}")
            folder = artifacts.study_folder(url, store, store.get_study_id_from_name(name), name)
            optuna.delete_study(study_name=name, storage=store)
            return _remove_tree(folder) if folder is not None else []

    @classmethod
    def load(cls, name: str, storage: str | None = None, *,
             plugins: Sequence[str] | None = None) -> Study:
        """Open an existing study by name.

        Reading a study imports and runs nothing: the plugins its stored
        configuration lists are not imported. To ``run`` a study that uses
        plugins, name them in ``plugins`` (they are imported now, as in
        ``create``); a stored list the caller did not name is refused.

        Raises:
            ValueError: if there is no such hpsearch study in the storage, or a
                named plugin cannot be loaded.
        """
        url = normalize_url(storage)
        store = open_storage(url)
        try:
            study_id = store.get_study_id_from_name(name)
        except KeyError:
            names = study_names(store)
            raise ValueError(f"no study named {name!r} in {url}; studies there: {names}") from None
        data = store.get_study_user_attrs(study_id).get(records.CONFIG)
        if data is None:
            raise ValueError(f"study {name!r} in {url} was not created by hpsearch")
        study = cls(name, url, StudyConfig.from_dict(data))
        study.checked, study.named_plugins = False, plugin_names(list(plugins or ()))
        load_plugins(study.named_plugins)
        return study

    def _checked_config(self) -> StudyConfig:
        """The configuration checked as at creation, for running it.

        Raises:
            ValueError: when the stored configuration lists plugins the caller
                did not name (they are compared, never imported), or fails a check.
        """
        if self.checked:
            return self.config
        named = {_plugin_key(p) for p in self.named_plugins}
        stored = self.config.objective.plugins
        if any(_plugin_key(p) not in named for p in stored):
            raise ValueError(f"study {self.name!r} uses plugins {list(stored)}; name them to "
                             "run it: Study.load(..., plugins=[...]) or the spec's plugins")
        return StudyConfig.from_dict(json.loads(json.dumps(self.config.to_dict())),
                                     checked=True)

    # Results.
    def trials(self, *, confirmations: bool = False) -> list[optuna.trial.FrozenTrial]:
        """The search's stored trials; with ``confirmations`` also the repeats that
        ``confirm`` trained (which are no part of the search)."""
        trials = self.storage.get_all_trials(self.study_id, deepcopy=False)
        return trials if confirmations else [t for t in trials
                                             if not records.is_confirmation(t)]

    def finished_trials(self) -> int:
        """The search's trials finished for good (complete, pruned or failed): what the
        ``n_trials`` budget of ``run`` counts, so ``run(n)`` has nothing to do once it is ``n``."""
        return sum(records.is_finished(t) for t in self.trials())

    def results(self, *, confirmations: bool = False) -> pd.DataFrame:
        """One row per trial: slot, state, value, parameters and metrics as columns.

        A multi-objective study has a column per objective, named by its metric
        (``value`` is then the first objective's).

        With ``confirmations`` the repeats of ``confirm`` are rows too, marked by
        their ``confirms`` (the configuration's slot) and ``repeat`` columns.
        """
        from hpsearch.results.report import results_frame

        objective = self.config.objective
        return results_frame(self.trials(confirmations=confirmations), self.config.space,
                             objective.task,
                             objective.metrics if objective.multi_objective else ())

    def confirm(self, top: int = 5, repeats: int = 5, *, n_jobs: int = 1,
                seed: int | None = None, progress: bool = True) -> pd.DataFrame:
        """Train the ``top`` best complete configurations ``repeats`` times more with
        fresh seeds, to tell a good configuration from a lucky seed.

        The repeats are stored in the study (reused by the next call with the same
        arguments, which trains only missing ones) but are no part of the search:
        they do not count toward the budget, reach the strategy or change
        ``best_trial``. Their seeds come from ``seed`` (default: the study's), the
        configuration's slot and the repeat index.

        Returns:
            One row per configuration, best confirmed mean first: ``trial``, the
            parameters, ``search_value``, ``mean``, ``std``, ``ci_low``/``ci_high``
            (95 % t-interval of the mean), ``n``, ``failed`` (excluded from the
            statistics), ``rank``, ``p_vs_next`` (Welch's t-test against the next
            row) and ``beats_next`` (better mean and p < 0.05).

        Raises:
            ValueError: when ``top``, ``repeats``, ``n_jobs`` or ``seed`` is not a
                positive integer (``seed``: None or >= 0), or for the reasons of ``run``.
        """
        from hpsearch.results import confirm

        if self.config.objective.multi_objective:
            raise ValueError(f"confirm ranks trials by one value; study {self.name!r} has "
                             f"several objectives {list(self.config.objective.metrics)}: pick "
                             "trials from best_trials and refit(trial=...) them instead")
        self.config, self.checked = self._checked_config(), True
        self.check_data()
        return confirm.confirm(self, top, repeats, n_jobs=n_jobs, seed=seed, progress=progress)

    def confirmations(self) -> pd.DataFrame:
        """The table of ``confirm`` read back from storage, pooling every stored repeat
        of each configuration (empty when nothing was confirmed)."""
        from hpsearch.results import confirm

        return confirm.confirmations(self)

    def leaderboard(self, top: int = 10, *, rank_by: str = "value") -> pd.DataFrame:
        """The ``top`` complete trials, best first by their search ``value`` or, with
        ``rank_by="confirmed"``, confirmed configurations first by their confirmed mean.

        In a multi-objective study ``value`` is the first objective's: the board ranks
        by it alone, with every objective as a column (``best_trials`` is the Pareto set).
        In an asha/bohb study a configuration's row is its furthest job: a paused job
        that a later job continued is left out (as from ``best_trial``).
        """
        from hpsearch.results.report import leaderboard

        confirmed = self.confirmations() if rank_by == "confirmed" else None
        frame = self.results()
        continued = records.superseded(self._completed())
        if continued:  # a configuration's row is its furthest job
            frame = frame[~frame["trial"].isin(continued)]
        return leaderboard(frame, self.config.space,
                           self.config.objective.directions[0], top, rank_by=rank_by,
                           confirmed=confirmed)

    def _completed(self) -> list[optuna.trial.FrozenTrial]:
        return [t for t in self.trials() if t.state == TrialState.COMPLETE]

    def _final(self) -> list[optuna.trial.FrozenTrial]:
        """The complete trials that stand for their configuration: all of them, except
        paused asha/bohb jobs that a later job continued (``records.superseded``)."""
        done = self._completed()
        continued = records.superseded(done)
        return [t for t in done if records.slot_of(t) not in continued]

    @property
    def best_trial(self) -> dict:
        """The best complete trial: its slot, value, parameters, metrics and curves.

        Raises:
            ValueError: when no trial has completed, or for a multi-objective study,
                which has no single best trial (its Pareto set is ``best_trials``).
        """
        objective = self.config.objective
        if objective.multi_objective:
            raise ValueError(f"study {self.name!r} optimises several objectives "
                             f"{list(objective.metrics)} and has no single best trial; "
                             "use best_trials (the Pareto-optimal trials)")
        done = self._final()
        if not done:
            raise ValueError(f"study {self.name!r} has no completed trial yet")
        sign = 1 if self.config.objective.direction == "minimize" else -1
        # Ties go to the job trained furthest (asha/bohb: it kept its model), then the first.
        best = min(done, key=lambda t: (sign * t.value, -_epochs_reached(t), t.number))
        return {"trial": records.slot_of(best), "value": best.value,
                "params": self._trained_params(best), "metrics": records.metrics_of(best),
                "curves": records.curves_of(best)}

    @property
    def best_trials(self) -> pd.DataFrame:
        """The Pareto-optimal complete trials (as Optuna's ``best_trials``): those no
        other complete trial beats in every objective.

        One row per trial, by slot: ``trial``, one column per objective (named by
        its metric, e.g. ``val_loss`` and ``n_params``) and the parameters. For a
        single-objective study, the trials that share the best value. Empty
        when no trial has completed.
        """
        from hpsearch.metrics import reported
        from hpsearch.results.pareto import pareto_mask

        objective = self.config.objective
        columns = ["trial", *objective.metrics, *self.config.space]
        done = [t for t in self._completed()
                if t.values is not None and len(t.values) == len(objective.metrics)]
        if not done:
            return pd.DataFrame(columns=columns)
        values = [t.values for t in done]
        front = [t for t, keep in zip(done, pareto_mask(values, objective.directions),
                                      strict=True) if keep]
        rows = [{"trial": records.slot_of(t),
                 **{m: reported(m, v) for m, v in zip(objective.metrics, t.values, strict=True)},
                 **self._trained_params(t)} for t in front]
        frame = pd.DataFrame(rows)
        extra = [c for c in frame.columns if c not in columns]  # lr chosen by a range test
        return frame[[c for c in columns if c in frame] + extra].sort_values(
            "trial", kind="stable").reset_index(drop=True)

    def _trained_params(self, trial: optuna.trial.FrozenTrial) -> dict:
        """A trial's parameters, with the learning rate it trained with when a range
        test chose it (lr-range studies, whose space has no ``lr``)."""
        params = self.config.space.decode(trial.params)
        metrics = records.metrics_of(trial)
        if lr_by_range_test(self.config.objective.fixed) and "lr" in metrics:
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
            ValueError: for a loaded study whose stored plugins were not named
                (``Study.load(..., plugins=[...])``), or whose stored
                configuration fails the checks made at creation.
            AllTrialsFailedError: when every trial of the study failed.
            TooManyFailuresError: after ``max_consecutive_failures`` failures in a row.
            KeyboardInterrupt: passed on after marking running trials for re-run.
        """
        from hpsearch.execution.loop import RunLoop

        self.config, self.checked = self._checked_config(), True
        self.check_data()
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

    def worker_setup(self, blas_threads: int | None) -> WorkerSetup:
        """What each worker prepares once before this study's trials (``runner.prepare``)."""
        objective = self.config.objective
        data_dir = str(self.data_dir()) if objective.data_fingerprint is not None else None
        return WorkerSetup(objective, blas_threads, bool(self.config.pruner),
                           TrialFiles(data_dir=data_dir))

    def make_task(self, trial_id: int, slot: int, seed: int, params: dict,
                  blas_threads: int | None, fidelity: Fidelity | None = None) -> TrialTask:
        objective = self.config.objective
        pruning = None
        if self.config.pruner:
            pruning = PruningSpec(self.storage_url, self.name, self.config.pruner,
                                  objective.epochs, objective.monitor)
        files = TrialFiles(
            data_dir=str(self.data_dir()) if objective.data_fingerprint is not None else None,
            model_path=str(artifacts.model_path(self.folder, slot, trial_id))
            if objective.keep_models and not objective.cross_validated else None,
            **self._checkpoint_files(slot, fidelity))
        return TrialTask(trial_id, slot, params, seed, objective, blas_threads, pruning, files,
                         fidelity=fidelity)

    def _checkpoint_files(self, slot: int, fidelity: Fidelity | None) -> dict:
        """Where a multi-fidelity job saves its paused training and whence it resumes."""
        if fidelity is None:
            return {}
        return {"checkpoint_path": str(self.checkpoint_path(slot)),
                "resume_path": None if fidelity.resume_from is None
                else str(self.checkpoint_path(fidelity.resume_from))}

    def checkpoint_path(self, slot: int) -> Path:
        """Where the job of ``slot`` saves its paused training (asha, bohb)."""
        return artifacts.checkpoint_path(self.folder, slot)

    # The user's data and the trained models.
    def data_dir(self) -> Path:
        """The folder of the study's own data.

        Raises:
            ValueError: when the folder is missing (the storage moved without it).
        """
        folder = artifacts.data_dir(self.folder)
        if not (folder / "dataset.json").exists():
            raise ValueError(f"the data of study {self.name!r} is missing: no {folder}; keep "
                             "the storage's .artifacts folder beside it, or create the study "
                             "again with data=...")
        return folder

    def check_data(self) -> None:
        """Check that the saved copy of the study's own data is the data it was created on.

        The copy is hashed again when its files changed since the last check (size or
        modification time), so a run checks it once and repeated calls cost a few stats.

        Raises:
            ValueError: when the copy is missing or differs, with both fingerprints.
        """
        stored = self.config.objective.data_fingerprint
        if stored is None:
            return
        folder = self.data_dir()
        stamp = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir())
        if stamp != self._checked_data:
            models.check_data_copy(self.name, folder, stored)
            self._checked_data = stamp

    def dataset(self) -> netcore.Dataset:
        """The data the study's trials train, validate and test on."""
        from hpsearch.objective import load_data

        objective = self.config.objective
        self.check_data()
        files = TrialFiles(str(self.data_dir())) if objective.data_fingerprint else None
        return load_data(objective, files)

    def best_model(self) -> netcore.MLP:
        """The best trial's trained net (its best epoch), with the data's preprocessing:
        ``best_model().predict(raw_rows)`` gives the user's labels (or the target's units).

        ``best_model().evaluate(study.dataset().X_test, study.dataset().y_test)``
        (prepared arrays) gives exactly the test metrics recorded for that trial.

        Raises:
            ValueError: when no trial completed or its model was not kept.
        """
        return self.model(self.best_trial["trial"])

    def model(self, trial: int) -> netcore.MLP:
        """The trained net of trial ``trial`` (its slot: the ``trial`` column of ``results``)."""
        return models.load_trial_model(self, trial)

    def refit(self, *, on: str = "train+val", trial: int | None = None) -> netcore.MLP:
        """Train the best (or ``trial``'s) configuration again, with its seed.

        ``on="train+val"`` trains on the training and validation splits together
        for the trial's best epoch count; ``on="train"`` repeats the trial's own
        training (early stopping on the validation split).
        """
        return models.refit(self, on=on, trial=trial)

    def export(self, path: str | Path, *, trial: int | None = None,
               model: netcore.MLP | None = None, format: str = "npz") -> Path:
        """Write the best (or ``trial``'s) model, or ``model`` (e.g. the one ``refit``
        returned), to ``path`` as a netcore .npz file with the preprocessing
        ``hpsearch predict`` needs; ``format="onnx"`` writes an ONNX graph of it
        instead (``MLP.to_onnx``, with the ``onnx`` extra).

        Raises:
            ValueError: when both ``trial`` and ``model`` are given, or for another format.
            TypeError: when ``model`` is not a ``netcore.MLP``.
        """
        if format not in EXPORT_FORMATS:
            raise ValueError(f"The 'format' parameter must be one of {sorted(EXPORT_FORMATS)}. "
                             f"Got {format!r}.")
        if model is not None:
            if trial is not None:
                raise ValueError("export takes trial= or model=, not both")
            if not isinstance(model, netcore.MLP):
                raise TypeError(f"model must be a netcore.MLP (e.g. study.refit()), got "
                                f"{type(model).__name__}")
        elif trial is None:
            model = self.best_model()
        else:
            model = self.model(trial)
        return EXPORT_FORMATS[format](model, path)


# How Study.export writes a model, by format name.
EXPORT_FORMATS = {"npz": netcore.save, "onnx": netcore.MLP.to_onnx}


MAX_NAME_LENGTH = 200


def _remove_tree(folder: Path) -> list[Path]:
    """Remove ``folder`` and what it holds; returns the entries that stayed (e.g. an
    immutable file), without the folders that stayed only because they hold them."""
    left: list[Path] = []
    keyword = "onexc" if sys.version_info >= (3, 12) else "onerror"
    shutil.rmtree(folder, **{keyword: lambda _fn, path, _error: left.append(Path(path))})
    left = [path for path in left if os.path.lexists(path)]
    return [path for path in left if not any(path in other.parents for other in left)]


def _epochs_reached(trial: optuna.trial.FrozenTrial) -> int:
    """How far a multi-fidelity job trained (0 for a trial trained to the end: no tie-break)."""
    fidelity = records.fidelity_of(trial)
    return 0 if fidelity is None else fidelity.until_epoch


def check_study_name(name: str) -> str:
    """Refuse study names that cannot be shown on one line or kept in a storage:
    empty, longer than ``MAX_NAME_LENGTH`` characters, or holding control
    characters (newline, tab, NUL, ...).

    Raises:
        TypeError, ValueError: naming what is wrong with ``name``.
    """
    if not isinstance(name, str):
        raise TypeError(f"the study name must be a string, got {type(name).__name__}")
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValueError(f"the study name must have 1 to {MAX_NAME_LENGTH} characters, "
                         f"got {len(name)}")
    bad = sorted({c for c in name if unicodedata.category(c) == "Cc"})
    if bad:
        raise ValueError(f"the study name must not hold control characters, got {name!r}")
    return name


_OBJECTIVE_OPTIONS = option_fields(ObjectiveConfig)
_STUDY_OPTIONS = option_fields(StudyConfig)
_CREATE_ARGUMENTS = ("name", "space", "data", "storage", "load_if_exists")


def create_arguments() -> list[str]:
    """The keyword arguments of ``Study.create``: its options and its own arguments."""
    return [*_CREATE_ARGUMENTS, *_OBJECTIVE_OPTIONS, *_STUDY_OPTIONS]


def _check_data_given(data, settings: Mapping) -> None:
    """Refuse a study without data (it would train on a dataset nobody chose) or with two."""
    dataset = settings.get("dataset")  # None, the signature's default, is not given
    if data is None and dataset is None:
        raise TypeError("Study.create() needs the data to search on: data=(X, y) or a "
                        "netcore.Dataset, or dataset=NAME for one of "
                        f"{sorted(netcore.DATASETS)}")
    if data is not None and dataset is not None:
        raise TypeError(f"Study.create() got both data= and dataset={dataset!r}; give one")


def _plain_settings(settings: dict) -> dict:
    """Study.create's keywords as config values: ``None`` for a mapping option means
    none (for ``dataset``: not given), any mapping becomes a dict and any iterable of plugins a tuple (a lone
    string is left for the config to refuse)."""
    plain = {}
    for key, value in settings.items():
        if key in ("fixed", "strategy_options", "dataset") and value is None:
            continue
        if isinstance(value, Mapping):
            value = dict(value)
        elif key == "plugins" and not isinstance(value, str):
            value = tuple(value)
        elif key == "metric":
            value = frozen_metric(value)
        plain[key] = value
    return plain


def _create_signature() -> inspect.Signature:
    """``Study.create``'s signature for ``help()`` and editors, its options' names and
    defaults read from the config dataclasses."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("cls", inspect.Parameter.POSITIONAL_OR_KEYWORD),
              inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str"),
              inspect.Parameter("space", keyword)]
    for f in [*_OBJECTIVE_OPTIONS.values(), *_STUDY_OPTIONS.values()]:
        # dataset has no default here: a study names its data (dataset= or data=)
        value = None if f.default is dataclasses.MISSING or f.name == "dataset" else f.default
        params.append(inspect.Parameter(f.name, keyword, default=value, annotation=f.type))
    params += [inspect.Parameter("data", keyword, default=None),
               inspect.Parameter("storage", keyword, default=None, annotation="str | None"),
               inspect.Parameter("load_if_exists", keyword, default=False, annotation="bool")]
    return inspect.Signature(params, return_annotation="Study")


Study.create.__func__.__signature__ = _create_signature()


def as_dataset(data) -> netcore.Dataset | None:
    """``data`` as a ``netcore.Dataset``: a Dataset as it is, ``(X, y)`` through
    ``Dataset.from_arrays``.

    Raises:
        TypeError: for anything else.
    """
    if data is None or isinstance(data, netcore.Dataset):
        return data
    if isinstance(data, tuple | list) and len(data) == 2:
        return netcore.Dataset.from_arrays(*data)
    raise TypeError("data must be a netcore.Dataset (e.g. Dataset.from_csv(path, target=...)) "
                    f"or a tuple (X, y); got {type(data).__name__}")


def _data_fields(data: netcore.Dataset | None) -> dict:
    """The objective's fields that describe the user's data (none for a named dataset)."""
    if data is None:
        return {}
    return {"dataset": data.name, "task": data.task, "data_fingerprint": data.fingerprint()}
