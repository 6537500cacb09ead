"""Study: a search space, a strategy and an objective, persisted in a storage.

A study is created once by name in a storage, loaded by name later, and run
as often as needed: every run continues the same sequence of trial slots, so
an interrupted or killed run resumes where it stopped.

``Study`` is a façade: it hands its storage handle (``StudyStorage``) and its
``StudyConfig`` to the run loop and confirm's repeats (``execution``), the tables
(``results``) and the kept models (``models``); none of them calls back into it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import optuna
import pandas as pd

import netcore
from hpsearch import study_config as configs
from hpsearch.execution import tasks
from hpsearch.execution.worker import TrialTask, WorkerSetup
from hpsearch.models import store as models
from hpsearch.objective import load_plugins, plugin_names
from hpsearch.results import best, pbt, view
from hpsearch.storages.database import normalize_url
from hpsearch.storages.handle import StudyStorage, check_study_name, creation_lock, delete_study
from hpsearch.strategies.tpe import quiet_optuna
from hpsearch.study_config import StudyConfig
from hpsearch.trial import Fidelity
from netcore.validation import check_options


class Study(view.StudyView):
    """A named, persistent hyperparameter search. Build with ``create`` or ``load``."""

    def __init__(self, name: str, storage: str, config: StudyConfig):
        self.handle, self.config = StudyStorage(storage, name), config
        handle = self.handle  # its parts, as the study's attributes
        self.name, self.storage_url, self.storage = handle.name, handle.url, handle.storage
        self.study_id, self.folder = handle.study_id, handle.folder
        # A configuration read from the storage is checked (and its plugins compared
        # with the ones the caller named) only when the study is run.
        self.checked = True
        self.named_plugins: tuple[str, ...] = ()
        self._checked_data: list | None = None  # the data files' stamp when last checked

    @classmethod
    def create(cls, name: str, *, space, data=None, storage: str | None = None,
               load_if_exists: bool = False, **settings) -> Study:
        """Create the study ``name`` in ``storage`` (default ``sqlite:///hpsearch.db``).

        ``space`` maps parameter names to ``hpsearch.space`` dimensions. The data is
        required: a named ``dataset`` (``"digits"``, ``"mnist"``, ...) or the user's own
        ``data``, a ``netcore.Dataset`` (``Dataset.from_csv``, ...) or ``(X, y)`` (split and
        standardized by ``Dataset.from_arrays``' defaults), saved once in the study's folder
        and memory-mapped by the workers. ``settings`` are the options of ``ObjectiveConfig``
        (``metric``, ``fixed``, ``epochs``, ``patience``, ``cv_folds``, ``max_train``,
        ``plugins``, ``trial_timeout``, ``keep_models``, ...) and of ``StudyConfig``
        (``strategy``, ``strategy_options``, ``seed``, ``pruner``, ``round_size``); the
        signature shows their defaults. ``metric`` is one metric, or a list of two or more
        for a multi-objective study (``["val_loss", "n_params"]``; see ``best_trials``);
        ``fixed`` holds settings shared by every trial (``{"epochs": 30}``). The models of
        the ``keep_models`` best holdout trials are kept (``best_model``, ``export``).

        Raises:
            ValueError: on a bad argument, or if the study exists with another
                configuration or other data (or at all, unless ``load_if_exists``).
            TypeError: for a keyword that is no option, or without data (or with two).
        """
        check_options(settings, configs.create_arguments(), allows="its arguments:",
                      what="Study.create() got unknown options", error=TypeError)
        configs.check_data_given(data, settings)
        data = configs.as_dataset(data)
        config = configs.config_from_settings(space, data, configs.plain_settings(settings))
        return cls.from_config(name, config, storage=storage, load_if_exists=load_if_exists,
                               data=data)

    @classmethod
    def from_config(cls, name: str, config: StudyConfig, *, storage: str | None = None,
                    load_if_exists: bool = False, data: netcore.Dataset | None = None) -> Study:
        """Create (or, with ``load_if_exists``, reopen) the study ``name`` from ``config``,
        for the user's ``data`` (else its objective's ``data_source``, a spec's ``[data]``)."""
        check_study_name(name)
        if data is None and config.objective.data_source:
            data = models.read_data_source(config.objective.data_source)
        config = configs.with_data_fields(config, data)
        url = normalize_url(storage)
        with creation_lock(url) as existing, quiet_optuna():
            if name in existing:
                study = cls._reopen(name, url, config, load_if_exists)
            else:
                StudyStorage.create(url, name, config.objective.directions,
                                    json.loads(json.dumps(config.to_dict())))
                study = cls(name, url, config)
        if data is not None:  # new, or resumed with its folder lost
            study.handle.save_data(data)
        return study

    @classmethod
    def _reopen(cls, name, url, config, load_if_exists) -> Study:
        if not load_if_exists:
            raise ValueError(f"a study named {name!r} already exists in {url}; use "
                             "Study.load, or pass load_if_exists=True to continue it")
        study = cls.load(name, url, plugins=config.objective.plugins)
        stored, wanted = (json.loads(json.dumps(c.to_dict())) for c in (study.config, config))
        models.check_same_data(name, stored["objective"], wanted["objective"])
        configs.check_same_config(name, url, stored, wanted)
        return study

    @classmethod
    def delete(cls, name: str, storage: str | None = None) -> list[Path]:
        """Delete the study ``name`` and all its trials from ``storage``, and its folder
        of data and models beside the storage; a missing storage file is not created.

        Returns the files and folders that could not be removed (none when all went).

        Raises:
            FileNotFoundError: when a SQLite or journal file is missing.
            ValueError: if the storage holds no such study (the message lists those it holds).
        """
        return delete_study(storage, name)

    @classmethod
    def load(cls, name: str | None, storage: str | None = None, *,
             plugins: Sequence[str] | None = None) -> Study:
        """Open an existing study by name (``None``: the storage's only study).

        Reading a study imports and runs nothing (not the plugins its configuration
        lists) and creates no storage file. To ``run`` a study that uses plugins, name
        them in ``plugins`` (imported now, as in ``create``).

        Raises:
            FileNotFoundError: when a SQLite or journal file is missing.
            ValueError: for no such hpsearch study (or none or several for ``name=None``),
                or a named plugin that cannot be loaded.
        """
        handle = StudyStorage.open(storage, name)
        data = handle.stored_config()
        if data is None:
            raise ValueError(f"study {handle.name!r} in {handle.url} was not created by hpsearch")
        study = cls(handle.name, handle.url, StudyConfig.from_dict(data))
        study.checked, study.named_plugins = False, plugin_names(list(plugins or ()))
        load_plugins(study.named_plugins)
        return study

    def _prepare(self) -> None:
        """Check the stored configuration as at creation and the data copy, to train."""
        if not self.checked:
            self.config = configs.checked_for_run(self.config, self.named_plugins, self.name)
        self.checked = True
        self.check_data()

    # Results.
    def trials(self, *, confirmations: bool = False) -> list[optuna.trial.FrozenTrial]:
        """The search's stored trials; with ``confirmations`` also the repeats that
        ``confirm`` trained (which are no part of the search)."""
        return self.handle.trials(confirmations=confirmations)

    def finished_trials(self) -> int:
        """The search's trials finished for good (complete, pruned or failed): what the
        ``n_trials`` budget of ``run`` counts, so ``run(n)`` has nothing to do once it is ``n``."""
        return self.handle.finished_count()

    def results(self, *, confirmations: bool = False) -> pd.DataFrame:
        """One row per trial: slot, state, value, parameters and metrics as columns (and one
        column per objective of a multi-objective study, ``value`` being the first). With
        ``confirmations`` confirm's repeats are rows too (``confirms`` and ``repeat`` columns).
        """
        return best.results(self.handle, self.config, confirmations=confirmations)

    def confirm(self, top: int = 5, repeats: int = 5, *, n_jobs: int = 1,
                seed: int | None = None, progress: bool = True) -> pd.DataFrame:
        """Train the ``top`` best complete configurations ``repeats`` times more with
        fresh seeds, to tell a good configuration from a lucky seed.

        The repeats are stored (the next call with the same arguments trains only missing
        ones) but are no part of the search: no budget, strategy or ``best_trial`` sees
        them. Their seeds come from ``seed`` (default: the study's), the slot and the repeat.

        Returns:
            One row per configuration, best confirmed mean first: ``trial``, the parameters,
            ``search_value``, ``mean``, ``std``, ``ci_low``/``ci_high`` (95 % t-interval),
            ``n``, ``failed`` (excluded), ``rank``, ``p_vs_next`` (Welch's t-test against
            the next row) and ``beats_next`` (better mean and p < 0.05).

        Raises:
            ValueError: when ``top``, ``repeats``, ``n_jobs`` or ``seed`` is not a
                positive integer (``seed``: None or >= 0), or for the reasons of ``run``.
        """
        from hpsearch.execution import repeats as training

        if self.config.objective.multi_objective:
            raise ValueError(f"confirm ranks trials by one value; study {self.name!r} has "
                             f"several objectives {list(self.config.objective.metrics)}: pick "
                             "trials from best_trials and refit(trial=...) them instead")
        training.check_arguments(top, repeats, n_jobs, seed)  # before any check of the data
        self._prepare()
        return training.confirm(self.handle, self.config, top, repeats, n_jobs=n_jobs,
                                seed=seed, progress=progress)

    def confirmations(self) -> pd.DataFrame:
        """The table of ``confirm`` read back from storage, pooling every stored repeat
        of each configuration (empty when nothing was confirmed)."""
        from hpsearch.results import confirm

        return confirm.confirmations(self.handle, self.config)

    def leaderboard(self, top: int = 10, *, rank_by: str = "value") -> pd.DataFrame:
        """The ``top`` complete trials, best first by their search ``value`` or, with
        ``rank_by="confirmed"``, confirmed configurations first by their confirmed mean.

        A multi-objective study ranks by its first objective (``best_trials`` is the Pareto
        set); an asha/bohb configuration's row is its furthest job (as in ``best_trial``).
        """
        confirmed = self.confirmations() if rank_by == "confirmed" else None
        return best.board(self.handle, self.config, top, rank_by, confirmed)

    @property
    def best_trial(self) -> dict:
        """The best complete trial: its slot, value, parameters, metrics and curves.

        Raises:
            ValueError: when no trial has completed, or for a multi-objective study,
                which has no single best trial (its Pareto set is ``best_trials``).
        """
        return best.best_trial(self.handle, self.config)

    @property
    def best_trials(self) -> pd.DataFrame:
        """The Pareto-optimal complete trials (as Optuna's ``best_trials``): those no other
        complete trial beats in every objective (single objective: those sharing the best
        value). One row per trial, by slot: ``trial``, one column per objective (named by
        its metric) and the parameters; empty when no trial has completed."""
        return best.pareto_trials(self.handle, self.config)

    def replay(self, trial: int | None = None) -> pbt.Replay:
        """Retrain the best (or ``trial``'s) pbt schedule from scratch (``results.pbt.replay``)."""
        return pbt.replay(self.handle, self.config, self.dataset, trial)

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

        ``n_trials`` is the study's total budget: running again after an interruption
        finishes the remainder. ``timeout`` (seconds) stops new trials from starting after
        the deadline. ``backend`` is "loky" (worker processes) or a joblib backend name
        ("dask", "ray", "threading") with ``backend_options`` for ``joblib.parallel_config``
        (``{"scheduler_host": "tcp://host:8786"}`` for Dask). A trial that raises or
        diverges is recorded as FAIL and the run goes on, unless ``catch`` is False (the
        error is then re-raised once running trials are recorded).

        Raises:
            ValueError: for a loaded study whose stored plugins were not named
                (``Study.load(..., plugins=[...])``) or whose configuration fails a check.
            AllTrialsFailedError: when every trial of the study failed.
            TooManyFailuresError: after ``max_consecutive_failures`` failures in a row.
            KeyboardInterrupt: passed on after marking running trials for re-run.
        """
        from hpsearch.execution.loop import RunLoop

        self._prepare()
        RunLoop(self.handle, self.config, n_trials=n_trials, n_jobs=n_jobs, timeout=timeout,
                backend=backend, backend_options=dict(backend_options or {}),
                blas_threads=blas_threads, catch=catch,
                max_consecutive_failures=max_consecutive_failures, progress=progress).run()
        best.raise_if_all_failed(self.handle)
        return self.results()

    def worker_setup(self, blas_threads: int | None) -> WorkerSetup:
        """What each worker prepares once before this study's trials (``runner.prepare``)."""
        return tasks.worker_setup(self.handle, self.config, blas_threads)

    def make_task(self, trial_id: int, slot: int, seed: int, params: dict,
                  blas_threads: int | None, fidelity: Fidelity | None = None) -> TrialTask:
        """The task of the recorded trial ``trial_id`` (``execution.tasks.make_task``)."""
        return tasks.make_task(self.handle, self.config, trial_id, slot, seed, params,
                               blas_threads, fidelity)

    def checkpoint_path(self, slot: int) -> Path:
        """Where the job of ``slot`` saves its paused training (asha, bohb)."""
        return self.handle.checkpoint_path(slot)

    # The user's data and the trained models.
    def data_dir(self) -> Path:
        """The folder of the study's own data (ValueError when it is missing)."""
        return self.handle.data_dir()

    def check_data(self) -> None:
        """Check that the saved copy of the study's own data is the data it was created on
        (hashed again only when its files changed); ValueError when missing or changed."""
        self._checked_data = models.check_data(self.handle, self.config, self._checked_data)

    def dataset(self) -> netcore.Dataset:
        """The data the study's trials train, validate and test on."""
        self.check_data()
        return models.dataset(self.handle, self.config)

    def best_model(self) -> netcore.MLP:
        """The best trial's trained net (its best epoch), with the data's preprocessing:
        ``best_model().predict(raw_rows)`` gives the user's labels (or the target's units).

        ``.evaluate(study.dataset().X_test, study.dataset().y_test)`` gives exactly the
        test metrics recorded for that trial. ValueError when no trial completed or its
        model was not kept."""
        return self.model(self.best_trial["trial"])

    def model(self, trial: int) -> netcore.MLP:
        """The trained net of trial ``trial`` (its slot: the ``trial`` column of ``results``)."""
        return models.load_trial_model(self.handle, self.config, trial)

    def refit(self, *, on: str = "train+val", trial: int | None = None) -> netcore.MLP:
        """Train the best (or ``trial``'s) configuration again, with its seed.

        ``on="train+val"`` trains on the training and validation splits together
        for the trial's best epoch count; ``on="train"`` repeats the trial's own
        training (early stopping on the validation split).
        """
        slot = (lambda: self.best_trial["trial"]) if trial is None else (lambda: trial)
        return models.refit(self.handle, self.config, slot, self.dataset, on=on)

    def export(self, path: str | Path, *, trial: int | None = None,
               model: netcore.MLP | None = None, format: str = "npz") -> Path:
        """Write the best (or ``trial``'s) model, or ``model`` (e.g. ``refit``'s), to ``path``
        as a netcore .npz file with the preprocessing ``hpsearch predict`` needs, or with
        ``format="onnx"`` as an ONNX graph (``MLP.to_onnx``, with the ``onnx`` extra).

        Raises:
            ValueError: when both ``trial`` and ``model`` are given, for another format,
                or without either for a multi-objective study (no single best trial).
            TypeError: when ``model`` is not a ``netcore.MLP``.
        """
        return models.export(self.handle, self.config, path, trial=trial, model=model,
                             format=format)


Study.create.__func__.__signature__ = configs.create_signature()
