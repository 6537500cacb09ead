"""What runs inside a worker process: one trial in, one ``TrialResult`` out.

``execute`` runs one trial and always returns a ``TrialResult``: an exception,
a diverged loss or a pruning decision becomes a FAIL or PRUNED result with its
error text. ``prepare`` does a worker's one-time work (BLAS limit, plugins,
data) before a trial's clock starts; ``warm_up`` does it before the first
trial arrives. Runners (``hpsearch.execution.runner``, ``hpsearch.execution.backends``) ship these
functions to their workers; a worker imports this module, not the runners.
"""

from __future__ import annotations

import functools
import os
import sys
import time
import traceback
from dataclasses import dataclass

from hpsearch import objective
from hpsearch.execution import guards
from hpsearch.pruners import PruningSpec, make_reporter
from hpsearch.storages.curves import LiveCurve
from hpsearch.storages.disk import is_disk_full
from hpsearch.trial import COMPLETE, FAIL, PRUNED, Deadline, Fidelity, TrialResult


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker prepares once for a study's trials: BLAS limit, plugins, data, optuna."""

    objective: objective.ObjectiveConfig
    blas_threads: int | None = 1
    pruning: bool = False
    files: objective.TrialFiles | None = None

    def key(self) -> tuple:
        config = self.objective
        return (config.dataset, tuple(sorted(config.dataset_options.items())), config.plugins,
                config.max_train, self.files.data_dir if self.files else None,
                self.blas_threads, self.pruning)


@dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs to run one trial (picklable)."""

    trial_id: int
    slot: int
    params: dict
    seed: int
    objective: objective.ObjectiveConfig
    blas_threads: int | None = 1
    pruning: PruningSpec | None = None
    files: objective.TrialFiles | None = None
    # Created by the trial's watchdog when it ends the worker (set by the loky runner).
    overrun_marker: str | None = None
    # A multi-fidelity job: how far it trains and which checkpoint it continues.
    fidelity: Fidelity | None = None
    # The file the trial's worker leaves its learning curve in for the driver to relay
    # live (None: the curve comes back with the result only).
    curve_file: str | None = None

    @property
    def setup(self) -> WorkerSetup:
        return WorkerSetup(self.objective, self.blas_threads, self.pruning is not None, self.files)


@functools.cache
def _limit_blas(threads: int) -> None:
    # Once per worker process: two workers on two cores must not run four BLAS threads.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


# The setups this worker process has prepared (WorkerSetup.key()).
_PREPARED: set[tuple] = set()


def prepare(setup: WorkerSetup) -> float:
    """Do a worker's one-time work for ``setup``; returns its seconds (0 when done before).

    The plugins and the data are cached per process, so the trials that follow
    start training at once; a trial's clock starts after this.
    """
    if setup.key() in _PREPARED:
        return 0.0
    start = time.perf_counter()
    if setup.blas_threads:
        _limit_blas(setup.blas_threads)
    if setup.pruning:
        import optuna  # noqa: F401  (the pruner's reporter needs it)
    objective.load_plugins(setup.objective.plugins)
    objective.load_data(setup.objective, setup.files)
    _PREPARED.add(setup.key())
    return time.perf_counter() - start


def warm_up(setup: WorkerSetup) -> float | None:
    """``prepare`` in a worker before its first trial arrives; never raises.

    A failure here is the first trial's to report: it prepares again and fails
    with the error. Returns the seconds taken, or None after a failure.
    """
    deadline = Deadline.start(setup.objective.trial_timeout)
    try:
        with guards.enforced(deadline):
            return prepare(setup)
    except Exception:
        return None


def execute(task: TrialTask) -> TrialResult:
    """Run one trial and describe its outcome; never raises for a trial's fault.

    The worker's one-time work (``prepare``) is done before the trial's clock
    and time limit start: its seconds are the record's ``worker_startup`` (0
    when an earlier trial or the pool's warm-up did it), not its ``duration``.
    """
    result = failed_result(task)
    reporter, curve, startup, start = None, None, 0.0, time.perf_counter()
    try:
        with guards.enforced(Deadline.start(task.objective.trial_timeout),
                             task.overrun_marker):
            startup = prepare(task.setup)
        start = time.perf_counter()
        deadline = Deadline.start(task.objective.trial_timeout)
        reporter = make_reporter(task.pruning, task.trial_id) if task.pruning else None
        curve = LiveCurve(task.curve_file, task.objective.monitor, reporter)
        with guards.enforced(deadline, task.overrun_marker):
            record = objective.evaluate(task.objective, task.params, task.seed, curve,
                                        task.files, deadline, task.fidelity)
        result.state, result.value, result.record = COMPLETE, record.pop("value"), record
        result.values = record.pop("values", None)
    except Exception as exc:  # a failed trial is data, not a crash of the study
        _failed(result, exc, reporter)
    result.duration = time.perf_counter() - start
    result.record["worker_startup"] = startup
    result.curve_steps = curve.steps if curve is not None else {}
    return result


def _failed(result: TrialResult, exc: Exception, reporter) -> None:
    """Describe a trial that raised: PRUNED by its pruner, else FAIL with the error."""
    optuna = sys.modules.get("optuna")  # only a pruner raises TrialPruned, and it imported optuna
    if optuna is not None and isinstance(exc, optuna.TrialPruned):
        result.state, result.error = PRUNED, str(exc)
        result.value = reporter.last.get("value") if reporter else None
        result.record = {"epochs_run": reporter.last.get("epoch")} if reporter else {}
        return
    result.error = f"{type(exc).__name__}: {exc}"
    result.record = {"traceback": traceback.format_exc(limit=-8)}
    result.disk_full = is_disk_full(exc)


def failed_result(task: TrialTask, error: str | None = None) -> TrialResult:
    """A FAIL result of ``task`` (its slot, parameters, seed and fidelity)."""
    return TrialResult(task.slot, task.params, task.seed, FAIL, error=error,
                       fidelity=task.fidelity)


def crashed(task: TrialTask, exc: BaseException | str) -> TrialResult:
    """The FAIL result of a trial whose worker process died."""
    return failed_result(task, f"worker process died while running this trial: {exc}")


def overran(task: TrialTask) -> TrialResult:
    """The FAIL result of a trial that its watchdog ended past ``trial_timeout``."""
    return failed_result(task, guards.overrun_message(task.objective.trial_timeout))


def was_overrun(task: TrialTask) -> bool:
    """Whether the trial's watchdog ended its worker (it leaves the marker)."""
    marker = task.overrun_marker
    if marker is None or not os.path.exists(marker):
        return False
    os.unlink(marker)
    return True
