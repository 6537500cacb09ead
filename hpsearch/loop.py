"""The run loop of a study: claim slots, keep workers busy, record, tell.

Slots are claimed under a storage lock from a counter kept in the study, so
several drivers sharing one storage never run the same slot twice and together
stop at the budget. Adaptive strategies (the TPEs) work in rounds of
``round_size`` trials, asked together and told together in slot order: the
same seed then gives the same trials at any worker count.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time

from tqdm.auto import tqdm

from hpsearch import records
from hpsearch.checks import grid_coverage
from hpsearch.models import prune_models
from hpsearch.runner import TrialTask, make_runner
from hpsearch.storage import count_trials, storage_lock
from hpsearch.strategies import STRATEGIES
from hpsearch.trial import COMPLETE, FAIL, TrialResult, trial_seed
from netcore.validation import check_positive_int

log = logging.getLogger(__name__)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run. Its running trials were re-queued, so running the study
    again resumes it; ``complete`` is the number of complete trials it holds."""

    def __init__(self, complete: int):
        super().__init__(f"the run was interrupted with {complete} complete trials")
        self.complete = complete


class RunLoop:
    """One ``Study.run`` call."""

    def __init__(self, study, *, n_trials, n_jobs, timeout, backend, blas_threads, catch,
                 max_consecutive_failures, progress, backend_options=None):
        self.study, self.catch = study, catch
        self.n_trials = check_positive_int(n_trials, "n_trials")
        self.max_failures = None if max_consecutive_failures is None else \
            check_positive_int(max_consecutive_failures, "max_consecutive_failures")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.runner = make_runner(n_jobs, backend, blas_threads, backend_options)
        self.blas_threads, self.progress = blas_threads, progress
        self.adaptive = STRATEGIES[study.config.strategy].batched
        self.in_flight: dict[int, TrialTask] = {}
        self.round: list[TrialResult] = []
        self.told: set[int] = set()
        self.known_trials = -1
        self.best: float | None = None  # of the study's complete trials, for the progress bar
        self.better = min if study.config.objective.direction == "minimize" else max
        self.consecutive_failures, self.stopping, self.error = 0, False, None

    @property
    def storage(self):
        return self.study.storage

    def run(self) -> None:
        self._recover_stale()
        self.strategy = self.study.config.build_strategy()
        note = grid_coverage(self.strategy.size, self.n_trials)
        if note:
            log.warning(note)
        finished = self._sync()
        self.bar = tqdm(total=self.n_trials, initial=min(finished, self.n_trials),
                        desc=self.study.name, disable=not self.progress, leave=False)
        self._show_best()
        heartbeat = _Heartbeat(self)
        try:
            self._loop()
        except BaseException as exc:
            self.runner.shutdown(kill=True)
            self._abandon_in_flight("the run was interrupted while this trial ran; re-queued")
            if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, RunInterrupted):
                raise RunInterrupted(self._count_complete()) from exc
            raise
        finally:
            heartbeat.stop()
            self.bar.close()
        if self.error is not None:
            raise self.error

    def _loop(self) -> None:
        while True:
            if not self.stopping:
                self._submit()
            if not self.in_flight:
                return
            self._record(self.runner.next_result())

    def _submit(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopping = True
            return
        if self.adaptive:
            wanted = self.study.config.round_size if not self.in_flight else 0
        else:
            # Without a deadline one extra trial may wait in the queue; with one, a
            # queued trial could start after it.
            wanted = self.runner.free_slots(prefetch=0 if self.deadline else 1)
        if wanted == 0:
            return
        tasks = self._claim(wanted)
        if not tasks:
            self.stopping = True
        for task in tasks:
            self.in_flight[task.slot] = task
            self.runner.submit(task)

    def _claim(self, n: int) -> list[TrialTask]:
        """Take re-queued slots first, then new ones, within the budget."""
        study = self.study
        with storage_lock(study.storage_url):
            self._sync()
            attrs = self.storage.get_study_system_attrs(study.study_id)
            requeue = list(attrs.get(records.REQUEUE, []))
            next_slot = attrs.get(records.NEXT_SLOT, 0)
            tasks = [self._requeued(entry) for entry in requeue[:n]]
            requeue = requeue[n:]
            room = min(n - len(tasks), self.n_trials - next_slot)
            if room > 0:
                self.strategy.next_slot = next_slot
                for params in self.strategy.ask(room):
                    tasks.append(self._new_task(next_slot, params))
                    next_slot += 1
            self.storage.set_study_system_attr(study.study_id, records.NEXT_SLOT, next_slot)
            self.storage.set_study_system_attr(study.study_id, records.REQUEUE, requeue)
        return tasks

    def _new_task(self, slot: int, params: dict) -> TrialTask:
        seed = trial_seed(self.study.config.seed, slot)
        trial_id = records.create_running(self.storage, self.study.study_id,
                                          self.study.config.space, slot, seed, params)
        self.known_trials += 1
        return self.study.make_task(trial_id, slot, seed, params, self.blas_threads)

    def _requeued(self, entry: dict) -> TrialTask:
        old = self.storage.get_trial(entry["trial_id"])
        params = self.study.config.space.decode(old.params)
        slot = old.system_attrs[records.SLOT]
        trial_id = records.create_running(self.storage, self.study.study_id,
                                          self.study.config.space, slot,
                                          old.system_attrs[records.SEED], params)
        self.known_trials += 1
        return self.study.make_task(trial_id, slot, old.system_attrs[records.SEED], params,
                                    self.blas_threads)

    def _sync(self) -> int:
        """Tell the strategy finished trials it has not seen (earlier runs, other
        drivers); returns the number of finished trials in the study."""
        if count_trials(self.storage, self.study.study_id) == self.known_trials:
            return -1
        trials = self.study.trials()
        self.known_trials = len(trials)
        finished = [t for t in trials if records.is_finished(t)]
        fresh = [t for t in finished if t._trial_id not in self.told]
        self.told.update(t._trial_id for t in fresh)
        results = [records.to_result(t, self.study.config.space) for t in fresh]
        self.strategy.tell(results)
        self._note_best(results)
        return len(finished)

    def _record(self, result: TrialResult) -> None:
        task = self.in_flight.pop(result.slot)
        records.finish(self.storage, task.trial_id, result)
        self.told.add(task.trial_id)
        if task.files is not None and task.files.model_path:
            prune_models(self.study)
        if self.adaptive:
            self.round.append(result)
            if not self.in_flight:
                self.strategy.tell(self.round)
                self.round = []
        else:
            self.strategy.tell([result])
        self._count_failure(result)
        self.bar.update(1)
        self._note_best([result])
        self._show_best()

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
            from hpsearch.study import TooManyFailuresError

            self.stopping = True
            self.error = TooManyFailuresError(
                f"study {self.study.name!r} stopped after {self.consecutive_failures} "
                f"consecutive failed trials; the last error was: {result.error}")

    def _note_best(self, results: list[TrialResult]) -> None:
        """Fold results into the best value, so that the progress bar need not read
        every trial back from storage after each one."""
        for result in results:
            if result.state == COMPLETE and result.value is not None and math.isfinite(result.value):
                self.best = result.value if self.best is None else self.better(self.best, result.value)

    def _show_best(self) -> None:
        if self.best is not None:
            self.bar.set_postfix(best=f"{self.best:.4g}", refresh=False)

    def _recover_stale(self) -> None:
        """Fail and re-queue RUNNING trials whose driver is gone (killed, crashed)."""
        from optuna.trial import TrialState

        study, me = self.study, records.owner_tag()
        with storage_lock(study.storage_url):
            running = self.storage.get_all_trials(study.study_id, deepcopy=False,
                                                  states=(TrialState.RUNNING,))
            now = time.time()
            stale = [t for t in running if records.is_stale(t, me, now)]
            for trial in stale:
                owner = trial.system_attrs.get(records.OWNER)
                records.abandon(self.storage, trial._trial_id,
                                f"stale: the driver running it ({owner}) is gone; re-queued")
            self._push_requeue([t._trial_id for t in stale])
            self._repair_counter()

    def _repair_counter(self) -> None:
        """A driver killed between creating a trial and advancing the slot counter
        leaves the counter behind its trials; move it past every recorded slot so
        that no slot is handed out twice."""
        slots = [t.system_attrs.get(records.SLOT, -1) for t in self.study.trials()]
        attrs = self.storage.get_study_system_attrs(self.study.study_id)
        needed = max(slots, default=-1) + 1
        if needed > attrs.get(records.NEXT_SLOT, 0):
            self.storage.set_study_system_attr(self.study.study_id, records.NEXT_SLOT, needed)

    def _count_complete(self) -> int:
        from optuna.trial import TrialState

        return sum(t.state == TrialState.COMPLETE for t in self.study.trials())

    def _abandon_in_flight(self, reason: str) -> None:
        ids = [task.trial_id for task in self.in_flight.values()]
        for trial_id in ids:
            records.abandon(self.storage, trial_id, reason)
        with storage_lock(self.study.storage_url):
            self._push_requeue(ids)
        self.in_flight.clear()

    def _push_requeue(self, trial_ids: list[int]) -> None:
        if not trial_ids:
            return
        attrs = self.storage.get_study_system_attrs(self.study.study_id)
        queue = list(attrs.get(records.REQUEUE, [])) + [{"trial_id": i} for i in trial_ids]
        self.storage.set_study_system_attr(self.study.study_id, records.REQUEUE, queue)


class _Heartbeat:
    """Marks the run's in-flight trials as alive every HEARTBEAT_INTERVAL seconds,
    so that a driver on another machine can tell them from a dead driver's."""

    def __init__(self, loop: RunLoop, interval: float = records.HEARTBEAT_INTERVAL):
        self.loop, self.interval = loop, interval
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="hpsearch-heartbeat", daemon=True)
        self.thread.start()

    def _beat(self) -> None:
        while not self.done.wait(self.interval):
            for task in list(self.loop.in_flight.values()):
                # A trial may finish meanwhile; its record is then final, not an error.
                with contextlib.suppress(Exception):
                    self.loop.storage.set_trial_system_attr(task.trial_id, records.HEARTBEAT,
                                                            time.time())

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)
