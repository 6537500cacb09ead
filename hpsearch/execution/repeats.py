"""Training confirm's repeats: the best configurations trained again with fresh seeds.

``results.confirm`` says which repeats a confirmation needs and tabulates them;
this module trains the missing ones through the same runner as every trial
and records them as confirmation trials (``records.CONFIRMS``).
"""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
from optuna.trial import TrialState
from tqdm.auto import tqdm

from hpsearch.execution.runner import TrialTask, make_runner
from hpsearch.execution.tasks import make_task
from hpsearch.results import confirm as tables
from hpsearch.results.confirm import Repeat
from hpsearch.storages import records
from hpsearch.storages.handle import StudyStorage
from hpsearch.study_config import StudyConfig
from netcore.validation import check_int, check_positive_int


def confirm(handle: StudyStorage, config: StudyConfig, top: int = 5, repeats: int = 5, *,
            n_jobs: int = 1, seed: int | None = None, progress: bool = True,
            blas_threads: int | None = 1) -> pd.DataFrame:
    """Re-train the ``top`` best configurations ``repeats`` times; see ``Study.confirm``."""
    check_arguments(top, repeats, n_jobs, seed)
    top, repeats, seed = int(top), int(repeats), config.seed if seed is None else seed
    originals = tables.best_trials(handle, config, top)
    abandon_stale_repeats(handle)
    found, missing = tables.plan(handle, config, originals, repeats, seed)
    train(handle, config, missing, n_jobs=n_jobs, blas_threads=blas_threads, progress=progress)
    abandon_stale_repeats(handle)
    found, _ = tables.plan(handle, config, originals, repeats, seed)
    return tables.table(handle, config, found)


def check_arguments(top: int, repeats: int, n_jobs: int, seed: int | None) -> None:
    """Refuse counts that are not positive integers and a seed that is not None or >= 0.

    Raises:
        ValueError: naming ``top``, ``repeats``, ``n_jobs`` or ``seed``.
    """
    check_positive_int(top, "top")
    check_positive_int(repeats, "repeats")
    check_positive_int(n_jobs, "n_jobs")
    check_int(seed, "seed", minimum=0, optional=True)


def abandon_stale_repeats(handle: StudyStorage) -> None:
    """Fail the RUNNING confirmation trials of a dead or silent driver (or of this
    process, interrupted), so that the next plan trains them again."""
    me, now = records.owner_tag(), time.time()
    for trial in handle.trials(confirmations=True):
        if records.is_confirmation(trial) and trial.state == TrialState.RUNNING \
                and records.is_stale(trial, me, now):
            records.abandon(handle.storage, records.trial_id_of(trial),
                            "confirmation interrupted")


def _task(handle: StudyStorage, config: StudyConfig, job: Repeat,
          blas_threads: int | None) -> TrialTask:
    """Record the repeat as a RUNNING confirmation trial and build its task: no
    pruning (a repeat trains in full) and no kept model (the search's models stay)."""
    trial_id = records.create_running(handle.storage, handle.study_id, config.space,
                                      job.slot, job.seed, job.params,
                                      extra={records.CONFIRMS: job.slot,
                                             records.REPEAT: job.repeat},
                                      # Read as a repeat in Optuna's tools (optuna-dashboard).
                                      user_attrs={"confirms": job.slot, "repeat": job.repeat})
    task = make_task(handle, config, trial_id, job.slot, job.seed, job.params, blas_threads)
    files = task.files and dataclasses.replace(task.files, model_path=None)
    # The runner keys its results by slot; a trial id is unique where slots repeat.
    # No relay runs beside confirm: a repeat's curve is written with its result.
    return dataclasses.replace(task, slot=trial_id, pruning=None, files=files, curve_file=None)


def train(handle: StudyStorage, config: StudyConfig, jobs: list[Repeat], *, n_jobs: int,
          blas_threads: int | None = 1, progress: bool = True) -> None:
    """Train ``jobs`` through a runner and record each result."""
    if not jobs:
        return
    runner = make_runner(n_jobs, "loky", blas_threads)
    pending, in_flight = list(jobs), {}
    bar = tqdm(total=len(jobs), desc=f"{handle.name} confirm", disable=not progress,
               leave=False)
    try:
        while pending or in_flight:
            for _ in range(min(runner.free_slots(), len(pending))):
                task = _task(handle, config, pending.pop(0), blas_threads)
                in_flight[task.slot] = task
                runner.submit(task)
            result = runner.next_result()
            records.finish(handle.storage, in_flight.pop(result.slot).trial_id, result)
            bar.update(1)
    except BaseException:
        runner.shutdown(kill=True)
        for task in in_flight.values():  # trained again by the next call
            records.abandon(handle.storage, task.trial_id, "confirmation interrupted")
        raise
    finally:
        bar.close()
