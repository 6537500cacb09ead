"""Building what a worker runs: a trial's task and what a worker prepares once.

A task carries paths, never arrays: the study's own data (memory-mapped by the
worker), where to save the trial's model, and for a multi-fidelity job where to
save its paused training and whence to resume it.
"""

from __future__ import annotations

import contextlib

from hpsearch.execution.worker import TrialTask, WorkerSetup
from hpsearch.objective import TrialFiles
from hpsearch.pruners import PruningSpec
from hpsearch.storages.handle import StudyStorage
from hpsearch.study_config import StudyConfig
from hpsearch.trial import Fidelity


def worker_setup(handle: StudyStorage, config: StudyConfig,
                 blas_threads: int | None) -> WorkerSetup:
    """What each worker prepares once before the study's trials (``runner.prepare``).

    Raises:
        ValueError: when the study's own data folder is missing.
    """
    objective = config.objective
    data_dir = str(handle.data_dir()) if objective.data_fingerprint is not None else None
    return WorkerSetup(objective, blas_threads, bool(config.pruner), TrialFiles(data_dir=data_dir))


def make_task(handle: StudyStorage, config: StudyConfig, trial_id: int, slot: int, seed: int,
              params: dict, blas_threads: int | None,
              fidelity: Fidelity | None = None) -> TrialTask:
    """The task of the recorded trial ``trial_id`` at ``slot``.

    Raises:
        ValueError: when the study's own data folder is missing.
    """
    objective = config.objective
    pruning = None
    if config.pruner:
        pruning = PruningSpec(handle.url, handle.name, config.pruner, objective.epochs,
                              objective.monitor)
    keeps_model = objective.keep_models and not objective.cross_validated
    files = TrialFiles(
        data_dir=str(handle.data_dir()) if objective.data_fingerprint is not None else None,
        model_path=str(handle.model_path(slot, trial_id)) if keeps_model else None,
        **checkpoint_files(handle, slot, fidelity))
    curve_file = handle.curve_path(trial_id)
    with contextlib.suppress(OSError):  # e.g. read-only: the curve then comes with the result
        curve_file.parent.mkdir(parents=True, exist_ok=True)
    return TrialTask(trial_id, slot, params, seed, objective, blas_threads, pruning, files,
                     fidelity=fidelity, curve_file=str(curve_file))


def checkpoint_files(handle: StudyStorage, slot: int, fidelity: Fidelity | None) -> dict:
    """Where a multi-fidelity job saves its paused training and whence it resumes."""
    if fidelity is None:
        return {}
    return {"checkpoint_path": str(handle.checkpoint_path(slot)),
            "resume_path": None if fidelity.resume_from is None
            else str(handle.checkpoint_path(fidelity.resume_from))}
