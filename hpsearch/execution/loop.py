"""The run loop of a study: claim slots, keep workers busy, record, tell.

Slots are claimed under a storage lock from a counter kept in the study, so
several drivers sharing one storage never run the same slot twice and together
stop at the budget. Adaptive strategies (the TPEs) work in rounds of
``round_size`` trials, asked together and told together in slot order: the
same seed then gives the same trials at any worker count.

A slot completes exactly once whatever dies when: claims skip re-queued slots
that a trial already holds, a run re-queues its trials before failing them, and
trials of dead or silent drivers are recovered while the run goes on, not only
when a driver starts.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time

from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from tqdm.auto import tqdm

from hpsearch.checks import grid_coverage
from hpsearch.errors import (
    DiskFullError,
    RunInterrupted,
    StorageUnreachableError,
    StudyDeletedError,
    TooManyFailuresError,
)
from hpsearch.execution import recovery
from hpsearch.execution.curve_relay import CurveRelay
from hpsearch.execution.heartbeat import Heartbeat
from hpsearch.execution.runner import TrialTask, check_backend, make_runner
from hpsearch.execution.signals import first_ctrl_c_stops, sigint_deferred
from hpsearch.execution.tasks import make_task, worker_setup
from hpsearch.metrics import minimizes
from hpsearch.models.store import prune_models, remove_orphan_files, remove_partial_files
from hpsearch.results.pareto import dominates
from hpsearch.storages import records, requeue
from hpsearch.storages.database import (
    call_with_retry,
    count_trials,
    is_server_url,
)
from hpsearch.storages.disk import is_disk_full, write_fault_reason
from hpsearch.storages.handle import StudyStorage
from hpsearch.strategies import STRATEGIES
from hpsearch.study_config import StudyConfig
from hpsearch.trial import COMPLETE, FAIL, Fidelity, TrialResult, trial_seed
from netcore.validation import check_positive_int

log = logging.getLogger(__name__)

# Seconds the driver waits, once its first trials are queued, for the workers' warm-up
# before it starts the progress bar's clock anyway.
WARM_WAIT = 30.0


def check_run_arguments(*, n_trials, n_jobs=1, timeout=None, max_consecutive_failures=None,
                        backend="loky", backend_options=None) -> None:
    """Refuse a bad argument of ``Study.run``: called before a run, and by callers that
    create a study, before anything (the study, a copy of its data) is written.

    Raises:
        ValueError: naming the argument and what it must be.
    """
    check_positive_int(n_trials, "n_trials")
    check_positive_int(n_jobs, "n_jobs")
    check_positive_int(max_consecutive_failures, "max_consecutive_failures", optional=True)
    if timeout is not None and not (_real(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    check_backend(backend, backend_options)


def _real(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class RunLoop:
    """One ``Study.run`` call: the study's storage ``handle`` and its checked ``config``."""

    def __init__(self, handle: StudyStorage, config: StudyConfig, *, n_trials, n_jobs, timeout,
                 backend, blas_threads, catch, max_consecutive_failures, progress,
                 backend_options=None):
        self.handle, self.config, self.catch = handle, config, catch
        check_run_arguments(n_trials=n_trials, n_jobs=n_jobs, timeout=timeout,
                            max_consecutive_failures=max_consecutive_failures)  # backend: make_runner
        self.n_trials = int(n_trials)
        self.max_failures = None if max_consecutive_failures is None else int(max_consecutive_failures)
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.runner = make_runner(n_jobs, backend, blas_threads, backend_options)
        self.blas_threads, self.progress = blas_threads, progress
        self.adaptive = STRATEGIES[config.strategy].batched
        # Storage calls are retried while a database server restarts.
        self.storage = handle.retrying()
        # The heartbeat thread recovers stale trials too; one of the two at a time.
        self.mutex = threading.RLock()
        self.in_flight: dict[int, TrialTask] = {}
        self.round: list[TrialResult] = []
        self.told: set[int] = set()
        self.finished_models: dict[int, tuple] = {}  # prune_models' reads of finished trials
        self.known_trials = -1
        self.best: float | None = None  # of the study's complete trials, for the progress bar
        objective = config.objective
        self.directions = objective.directions
        self.better = min if minimizes(self.directions[0]) else max
        # A multi-objective study shows the size of its Pareto set instead of a best value.
        self.front: list[list[float]] | None = [] if objective.multi_objective else None
        self.consecutive_failures, self.stopping, self.error = 0, False, None
        self.warming = False

    def run(self) -> None:
        self._warm_pool()
        self.recover_stale(starting=True)
        remove_partial_files(self.handle)  # left by workers an earlier run lost mid-save
        self.strategy = self.config.build_strategy()
        if self.strategy.multi_fidelity:
            self._release_checkpoints()
        note = grid_coverage(self.strategy.size, self.n_trials)
        if note:
            log.warning(note)
        finished = self._sync()
        self.bar = tqdm(total=self.n_trials, initial=min(finished, self.n_trials),
                        desc=self.handle.name, disable=not self.progress, leave=False)
        self._show_best()
        heartbeat = Heartbeat(self.handle.storage, self.in_flight, self.recover_stale)
        self.relay = CurveRelay(self.handle.storage, self.in_flight)  # live learning curves
        with first_ctrl_c_stops():
            self._run_and_stop(heartbeat)
        if self.error is not None:
            raise self.error

    def _run_and_stop(self, heartbeat: Heartbeat) -> None:
        """The run's loop, and its shutdown when anything (Ctrl-C included) stops it."""
        try:
            self._loop()
        except BaseException as exc:
            # A further Ctrl-C must not break off the shutdown (workers left running, trials
            # not re-queued, a process that hangs at exit): it waits until the run is
            # stopped, and is dropped when a Ctrl-C is what stops it.
            with sigint_deferred(deliver=not isinstance(exc, KeyboardInterrupt)):
                heartbeat.stop()
                running = list(self.in_flight.values())
                self._shut_down(exc)
                error = self._stop_error(exc)
                if isinstance(error, StudyDeletedError):  # its workers wrote on after the delete
                    remove_orphan_files([path for task in running if task.files is not None
                                         for path in (task.files.model_path,
                                                      task.files.checkpoint_path) if path])
            if error is not None:
                raise error from exc
            raise
        finally:
            heartbeat.stop()
            self.relay.stop()
            self.bar.close()

    def _shut_down(self, exc: BaseException) -> None:
        """Stop the workers and re-queue the run's trials after ``exc`` stopped the run."""
        self.runner.shutdown(kill=True)
        if isinstance(exc, StorageUnreachableError):  # no use waiting for it again
            return
        try:
            self._abandon_in_flight("the run was interrupted while this trial ran; re-queued")
        except Exception as error:
            if not isinstance(exc, DiskFullError) and self._storage_fault(exc) is None:
                raise
            # A full disk or a deleted study refuses these writes too: the next run
            # finds the trials still RUNNING under a dead driver and re-queues them.
            log.debug("could not re-queue the run's trials: %s", error)

    def _stop_error(self, exc: BaseException) -> BaseException | None:
        """What the run raises after ``exc`` stopped it, when not ``exc`` itself: one
        line for a full disk or a deleted study, ``RunInterrupted`` for Ctrl-C."""
        fault = self._storage_fault(exc)
        if fault is None and isinstance(exc, KeyboardInterrupt) \
                and not isinstance(exc, RunInterrupted):
            return RunInterrupted(self._count_complete())
        return fault

    def _storage_fault(self, exc: BaseException) -> Exception | None:
        """The one-line error for a run stopped by a full disk or a deleted study, else None."""
        handle = self.handle
        if is_disk_full(exc):
            return self._disk_full(write_fault_reason(exc))
        if isinstance(exc, KeyError) and not handle.exists():
            return StudyDeletedError(
                f"study {handle.name!r} was deleted from {handle.url} while this run "
                "was going (hpsearch delete); its trials are gone: run it again to start afresh")
        return None

    def _disk_full(self, reason: str) -> DiskFullError:
        try:
            done = self._count_complete()
            kept = f" with {done} complete trial{'' if done == 1 else 's'} kept"
        except Exception:  # the storage cannot be read either: say no number
            kept = ""
        return DiskFullError(f"cannot write to disk: {reason}; the run of study "
                             f"{self.handle.name!r} stopped{kept}: free some space (or raise "
                             "the file-size limit or quota) and run it again, which re-runs "
                             "the interrupted trials and finishes the budget")

    def _warm_pool(self) -> None:
        """Have the workers start and prepare (imports, data, plugins) while this driver
        recovers, syncs and claims: the first trials then start at once."""
        try:
            setup = worker_setup(self.handle, self.config, self.blas_threads)
        except ValueError:  # the study's data folder is missing: its first trial says so
            return
        self.runner.warm(setup)
        self.warming = True

    def _start_clock(self) -> None:
        """Once, with the first trials queued behind the warm-up: wait for it, then
        start the progress bar's clock, so that its first estimate holds no start-up."""
        if self.warming:
            self.warming = False
            self.runner.wait_warm(WARM_WAIT)
            self.bar.unpause()

    def _loop(self) -> None:
        while True:
            if not self.stopping:
                self._submit()
                self._start_clock()
            if self.in_flight:
                self._record(self.runner.next_result())
            elif self.stopping or not self._should_wait():
                return

    def _submit(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopping = True
            return
        if self.adaptive:
            wanted = self.config.round_size if not self.in_flight else 0
        else:
            # Without a deadline one extra trial may wait in the queue; with one, a
            # queued trial could start after it.
            wanted = self.runner.free_slots(prefetch=0 if self.deadline else 1)
        if wanted == 0:
            return
        for task in self._claim(wanted):
            self.runner.submit(task)

    def _should_wait(self) -> bool:
        """With nothing to claim and nothing in flight: True to try again, because
        other drivers still run slots of this budget (they may die) or lost slots
        were re-queued; False when the budget is met or every slot is finished."""
        trials = self._trials()
        if sum(records.is_finished(t) for t in trials) >= self.n_trials:
            return False
        running = [t for t in trials if t.state == TrialState.RUNNING
                   and records.slot_of(t) < self.n_trials]
        if running:
            time.sleep(min(1.0, records.heartbeat_interval()))
        self.recover_stale()
        return bool(running) or bool(self._queue())

    def _claim(self, n: int) -> list[TrialTask]:
        """Take re-queued slots first, then new ones, within the budget."""
        study_id = self.handle.study_id
        with self._locked():
            self._sync()
            attrs = self.storage.get_study_system_attrs(study_id)
            queue = list(attrs.get(records.REQUEUE, []))
            next_slot = attrs.get(records.NEXT_SLOT, 0)
            if attrs.get(records.BUDGET) != self.n_trials:  # what the study's view counts against
                self.storage.set_study_system_attr(study_id, records.BUDGET, self.n_trials)
            take, keep = requeue.split(queue, self._trials(), n, self.in_flight) \
                if queue else ([], [])
            tasks = [self._requeued(item) for item in take]
            room = min(n - len(tasks), self.n_trials - next_slot)
            if room > 0:
                self.strategy.next_slot = next_slot
                for params in self.strategy.ask(room):
                    tasks.append(self._new_task(next_slot, params,
                                                self.strategy.fidelity(next_slot)))
                    next_slot += 1
            # Written after the trials: a driver killed in between leaves entries
            # whose slots those (stale) trials hold, and claims skip such entries.
            if next_slot != attrs.get(records.NEXT_SLOT, 0):
                self.storage.set_study_system_attr(study_id, records.NEXT_SLOT, next_slot)
            if keep != queue:
                self.storage.set_study_system_attr(study_id, records.REQUEUE, keep)
            self.in_flight.update((task.slot, task) for task in tasks)
        return tasks

    def _new_task(self, slot: int, params: dict, fidelity: Fidelity | None = None) -> TrialTask:
        # The jobs of one configuration share the seed of its first slot: one continues another.
        seed = trial_seed(self.config.seed, slot if fidelity is None else fidelity.config_id)
        return self._recorded_task(slot, seed, params, fidelity)

    def _requeued(self, entry: dict) -> TrialTask:
        old = self.storage.get_trial(entry["trial_id"])
        params = self.config.space.decode(old.params)
        fidelity = records.fidelity_of(old)  # a re-run job resumes from the same checkpoint
        return self._recorded_task(old.system_attrs[records.SLOT], old.system_attrs[records.SEED],
                                   params, fidelity)

    def _recorded_task(self, slot: int, seed: int, params: dict,
                       fidelity: Fidelity | None) -> TrialTask:
        """Record the trial of ``slot`` as RUNNING and build its task."""
        attrs = None if fidelity is None else {records.FIDELITY: fidelity.to_dict()}
        trial_id = records.create_running(self.storage, self.handle.study_id, self.config.space,
                                          slot, seed, params, attrs)
        self.known_trials += 1
        return make_task(self.handle, self.config, trial_id, slot, seed, params,
                         self.blas_threads, fidelity)

    def _trials(self) -> list:
        """The search's trials: confirmation repeats (``Study.confirm``) are no part
        of the budget, the strategy's history, the slots or stale recovery."""
        return [t for t in self._all_trials() if not records.is_confirmation(t)]

    def _all_trials(self) -> list:
        return self._retry(self.handle.all_trials)

    def _queue(self) -> list[dict]:
        attrs = self.storage.get_study_system_attrs(self.handle.study_id)
        return list(attrs.get(records.REQUEUE, []))

    @contextlib.contextmanager
    def _locked(self):
        with self.mutex, self.handle.lock():
            yield

    def _sync(self) -> int:
        """Tell the strategy finished trials it has not seen (earlier runs, other
        drivers); returns the number of finished trials in the study."""
        if count_trials(self.storage, self.handle.study_id) == self.known_trials \
                and not self.strategy.fresh_view:
            return -1
        everything = self._all_trials()
        self.known_trials = len(everything)  # compared with count_trials, which counts all
        trials = [t for t in everything if not records.is_confirmation(t)]
        finished = [t for t in trials if records.is_finished(t)]
        fresh = [t for t in finished if records.trial_id_of(t) not in self.told]
        self.told.update(records.trial_id_of(t) for t in fresh)
        space = self.config.space
        results = [records.to_result(t, space) for t in fresh]
        self.strategy.tell(results)
        # Jobs claimed but not finished (other drivers', re-queued ones) are taken work too.
        self.strategy.hold([(records.fidelity_of(t), space.decode(t.params))
                            for t in records.pending_jobs(trials)])
        self._note_best(results)
        return len(finished)

    def _record(self, result: TrialResult) -> None:
        task = self.in_flight[result.slot]
        if result.disk_full:  # not the trial's fault: stop, and re-queue it with the others
            raise self._disk_full(f"trial {result.slot} could not write its files: "
                                  f"{result.error}")
        self.relay.settle(task.trial_id, task.curve_file, result)
        try:
            outcome = records.finish(self.storage, task.trial_id, result)
        except UpdateFinishedTrialError:
            # Another driver judged this run dead (its heartbeat was late) and
            # re-queued the slot: that re-run counts, this result does not.
            log.warning("trial %d was taken over by another driver; its result is dropped",
                        result.slot)
            del self.in_flight[result.slot]
            self._tell_round()
            return
        del self.in_flight[result.slot]  # only now: until then the trial is this run's
        self.told.add(task.trial_id)
        if task.files is not None and task.files.model_path:
            self.finished_models[task.trial_id] = outcome
            self._retry(prune_models, self.handle, self.config, self.finished_models,
                        {t.trial_id for t in self.in_flight.values()})
        if task.files is not None and task.files.resume_path:
            self._release_checkpoints()
        self._tell(result)
        self._count_failure(result)
        self.bar.update(1)
        self._note_best([result])
        self._show_best()

    def _release_checkpoints(self) -> None:
        """Delete the checkpoints whose continuing jobs are all recorded: none runs or
        waits to be re-run. Called when such a job is recorded and when a run starts
        (a driver killed between recording a job and deleting its checkpoint)."""
        with self._locked():
            for slot in records.used_checkpoints(self._trials()):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.handle.checkpoint_path(slot))

    def _tell(self, result: TrialResult) -> None:
        if self.adaptive:
            self.round.append(result)
            self._tell_round()
        else:
            self.strategy.tell([result])

    def _tell_round(self) -> None:
        if self.adaptive and not self.in_flight and self.round:
            self.strategy.tell(self.round)
            self.round = []

    def _retry(self, fn, *args):
        return call_with_retry(fn, *args, url=self.handle.url) \
            if is_server_url(self.handle.url) else fn(*args)

    def _count_failure(self, result: TrialResult) -> None:
        if result.state != FAIL:
            self.consecutive_failures = 0
            return
        self.consecutive_failures += 1
        if not self.catch and self.error is None:
            self.stopping = True
            self.error = RuntimeError(f"trial {result.slot} failed: {result.error}")
        if self.max_failures and self.consecutive_failures >= self.max_failures \
                and self.error is None:
            self.stopping = True
            self.error = TooManyFailuresError(
                f"study {self.handle.name!r} stopped after {self.consecutive_failures} "
                f"consecutive failed trials; the last error was: {result.error}")

    def _note_best(self, results: list[TrialResult]) -> None:
        """Fold results into the best value (or the Pareto set), so that the progress
        bar need not read every trial back from storage after each one."""
        for result in results:
            if result.state != COMPLETE or result.value is None or not math.isfinite(result.value):
                continue
            if self.front is not None and result.values is not None:
                self.front = _with_point(self.front, list(result.values), self.directions)
            elif self.front is None:
                self.best = result.value if self.best is None else self.better(self.best, result.value)

    def _show_best(self) -> None:
        if self.front:
            self.bar.set_postfix(pareto=len(self.front), refresh=False)
        elif self.best is not None:
            self.bar.set_postfix(best=f"{self.best:.4g}", refresh=False)

    def recover_stale(self, *, starting: bool = False) -> None:
        """Fail and re-queue the trials of dead or silent drivers (``recovery.recover_stale``):
        when the run starts (``starting``: this process's RUNNING trials are then
        leftovers too), when it runs out of slots to claim, and from the heartbeat."""
        with self._locked():
            recovery.recover_stale(self.handle, self.storage, self._trials(),
                                   dict(self.in_flight), starting=starting)

    def _count_complete(self) -> int:
        return sum(t.state == TrialState.COMPLETE for t in self._trials())

    def _abandon_in_flight(self, reason: str) -> None:
        """Re-queue the run's trials in one write, then fail them: a second Ctrl-C or
        a kill in between leaves them queued, never lost (and Ctrl-C waits)."""
        with sigint_deferred(), self._locked():
            running = list(self.in_flight.values())
            if running:
                recovery.requeue_tasks(self.handle, self.storage, self._trials(), running)
            for task in running:
                recovery.abandon(self.storage, task.trial_id, reason)
            self.in_flight.clear()


def _with_point(front: list[list[float]], point: list[float], directions) -> list[list[float]]:
    """The Pareto set ``front`` after adding ``point``: unchanged when a member dominates
    it, else with it and without the members it dominates."""
    if any(dominates(member, point, directions) for member in front):
        return front
    return [m for m in front if not dominates(point, m, directions)] + [point]
