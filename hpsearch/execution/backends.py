"""Trials on a Dask cluster or on Ray, one task per trial, each with its own outcome.

``joblib.Parallel`` cannot tell which task killed a worker: on Dask it waited
forever for a batch the scheduler had given up on, on Ray one dead worker
failed the whole call. Here each trial is its own task (no retries by the
client), so a worker death becomes the FAIL result of the trial that was
running, and the others are recorded normally.

Dask re-runs a task whose worker died on other workers and may count an
innocent task that shared the worker; so a task lost that way is re-run alone
before it is declared the culprit. Ray runs one task per worker process, so
its crash report names the culprit directly.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections.abc import Hashable

from hpsearch.execution.worker import TrialTask, WorkerSetup, crashed, execute, failed_result
from hpsearch.trial import TrialResult
from netcore.validation import check_options

# Seconds between checks while waiting, so that an interrupt or a closed
# client is noticed and no wait is unbounded.
POLL = 1.0


class BackendUnavailable(RuntimeError):
    """The cluster can run no trial (it has had no workers for too long)."""


class WorkerLost(Exception):
    """The worker running a trial died (``exact``: this trial is known to be the cause)."""

    def __init__(self, message: str, exact: bool):
        super().__init__(message)
        self.exact = exact


class _TaskRunner:
    """The runner interface (see ``LokyRunner``) over a cluster's own futures."""

    def __init__(self, n_jobs: int):
        self.n_jobs = n_jobs
        self.pending: dict[Hashable, TrialTask] = {}
        self.suspects: list[TrialTask] = []
        self.alone = False  # the one pending task runs alone (a suspect)

    @property
    def in_flight(self) -> int:
        return len(self.pending) + len(self.suspects)

    def free_slots(self, prefetch: int = 0) -> int:
        if self.suspects or self.alone:
            return 0
        return max(0, self.n_jobs + prefetch - self.in_flight)

    def warm(self, setup: WorkerSetup) -> None:
        """Nothing: a cluster's workers live on; each prepares in its first trial."""

    def wait_warm(self, timeout: float) -> None:
        """Nothing to wait for."""

    def submit(self, task: TrialTask) -> None:
        self.pending[self._submit(task)] = task

    def next_result(self) -> TrialResult:
        """Block until a trial finishes; a trial whose worker died fails alone."""
        while True:
            if not self.pending and self.suspects:
                self.alone = True
                self.submit(self.suspects.pop(0))
            handle = self._next_done()
            task, alone = self.pending.pop(handle), self.alone
            self.alone = False
            try:
                return self._outcome(handle, task)
            except WorkerLost as exc:
                if exc.exact or alone:
                    return crashed(task, exc)
                self.suspects.append(task)

    def _next_done(self) -> Hashable:
        while True:
            done = self._wait(list(self.pending), POLL)
            if done:
                return min(done, key=lambda h: self.pending[h].slot)  # deterministic order
            self._check_alive()

    def _check_alive(self) -> None:
        """Raise ``BackendUnavailable`` when waiting longer can bring no result."""

    def shutdown(self, kill: bool = False) -> None:
        if kill and self.pending:
            self._cancel(list(self.pending))
        self.pending.clear()
        self.suspects.clear()
        self.alone = False
        self._close()

    def _submit(self, task: TrialTask) -> Hashable:
        raise NotImplementedError

    def _wait(self, handles: list, timeout: float) -> list:
        raise NotImplementedError

    def _outcome(self, handle, task: TrialTask) -> TrialResult:
        raise NotImplementedError

    def _cancel(self, handles: list) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Release what the runner opened itself."""


def _raised(task: TrialTask, exc: BaseException) -> TrialResult:
    """A trial whose task raised outside ``execute`` (e.g. it could not be unpickled)."""
    return failed_result(task, f"{type(exc).__name__}: {exc}")


class DaskRunner(_TaskRunner):
    """Trials as ``dask.distributed`` futures with ``retries=0``.

    ``scheduler_host`` connects a client of the runner's own; ``client`` (or,
    without either, the current client) uses the caller's.
    """

    OPTIONS = ("client", "scheduler_host", "no_worker_timeout")

    def __init__(self, n_jobs: int, options: dict):
        import distributed

        super().__init__(n_jobs)
        # A cluster whose nannies stopped restarting workers would leave its trials queued
        # forever; one that scales up from none gets this long to bring a worker.
        self.no_worker_timeout = float(options.get("no_worker_timeout", 120.0))
        self.workerless_since: float | None = None
        self.changed = threading.Event()  # set when any trial's future is done
        self.owned = options.get("scheduler_host") is not None
        if self.owned:
            self.client = distributed.Client(options["scheduler_host"], set_as_default=False)
            # Closed once the run is over (the runner is dropped) or at exit.
            self._closer = weakref.finalize(self, self.client.close)
        else:
            self.client = options.get("client") or _current_dask_client()

    def _submit(self, task: TrialTask):
        future = self.client.submit(execute, task, pure=False, retries=0,
                                    key=f"hpsearch-trial-{task.slot}-{uuid.uuid4().hex}")
        changed = self.changed  # not self: the future must not keep the runner alive
        future.add_done_callback(lambda _: changed.set())
        return future

    def _wait(self, handles: list, timeout: float) -> list:
        self.changed.clear()
        done = [f for f in handles if f.done()]
        if not done and self.changed.wait(timeout):
            done = [f for f in handles if f.done()]
        return done

    def _check_alive(self) -> None:
        if self.client.scheduler_info().get("workers"):
            self.workerless_since = None
            return
        now = time.monotonic()
        self.workerless_since = self.workerless_since or now
        if now - self.workerless_since > self.no_worker_timeout:
            raise BackendUnavailable(
                f"the Dask cluster has had no workers for {self.no_worker_timeout:g} s; "
                f"its running trials were re-queued (run again once it has workers)")

    def _outcome(self, future, task: TrialTask) -> TrialResult:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            raise WorkerLost(f"the Dask workers running it died ({exc})", exact=False) from None
        except Exception as exc:  # cancelled by the cluster, or raised outside execute
            return _raised(task, exc)
        finally:
            # Read once: the cluster must not keep (and, when a worker dies, recompute) it.
            future.release()

    def _cancel(self, handles: list) -> None:
        self.client.cancel(handles)

    def _close(self) -> None:
        if self.owned:
            self._closer()


def _current_dask_client():
    import distributed

    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError("backend 'dask' needs a running dask.distributed Client, or "
                         "backend_options={'scheduler_host': 'tcp://host:8786'}") from None


class RayRunner(_TaskRunner):
    """Trials as Ray tasks with ``max_retries=0`` (Ray is started if it is not)."""

    OPTIONS = ("address", "remote_args")

    def __init__(self, n_jobs: int, options: dict):
        import ray

        super().__init__(n_jobs)
        if not ray.is_initialized():
            ray.init(address=options.get("address"), include_dashboard=False)
        args = {"num_cpus": 1, **options.get("remote_args", {}), "max_retries": 0}
        self.remote = ray.remote(execute).options(**args)

    def _submit(self, task: TrialTask):
        return self.remote.remote(task)

    def _wait(self, handles: list, timeout: float) -> list:
        import ray

        done, _ = ray.wait(handles, num_returns=1, timeout=timeout)
        return done

    def _outcome(self, ref, task: TrialTask) -> TrialResult:
        import ray

        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            return _raised(task, exc)
        except ray.exceptions.RayError as exc:  # its worker crashed, was killed, or its node died
            raise WorkerLost(f"the Ray worker running it died ({type(exc).__name__})",
                             exact=True) from exc

    def _cancel(self, handles: list) -> None:
        import ray

        for ref in handles:
            ray.cancel(ref, force=True)


RUNNERS = {"dask": DaskRunner, "ray": RayRunner}


def make_task_runner(backend: str, n_jobs: int, options: dict | None) -> _TaskRunner:
    """The runner of ``backend`` ("dask" or "ray"); unknown options are refused."""
    cls = RUNNERS[backend]
    options = dict(options or {})
    check_options(options, cls.OPTIONS, what="unknown backend_options",
                  allows=f"backend {backend!r} allows")
    return cls(n_jobs, options)
