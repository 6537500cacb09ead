"""Parallel evaluation of trials: pools of worker processes, captured crashes.

Each worker runs ``hpsearch.execution.worker.execute``, which always returns a
``TrialResult``. A worker that dies outright
(segfault, ``os._exit``, OOM kill) is detected by the runner, which rebuilds
the pool and fails only the trial that killed it; one that the trial's
watchdog ended (``hpsearch.execution.guards``) fails with its time limit. The Dask and
Ray backends are in ``hpsearch.execution.backends``.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import dataclasses
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator

from hpsearch.execution import guards
from hpsearch.execution.worker import (  # noqa: F401 (TrialTask, WorkerSetup, execute, prepare re-exported)
    TrialTask,
    WorkerSetup,
    crashed,
    execute,
    overran,
    prepare,
    warm_up,
    was_overrun,
)
from hpsearch.trial import TrialResult
from netcore.validation import check_positive_int


class LokyRunner:
    """Trials in a pool of loky worker processes, even for ``n_jobs=1``.

    Running every trial out of the driver keeps a crashing trial from taking the
    study down and keeps the driver's memory flat over long studies.
    """

    def __init__(self, n_jobs: int, blas_threads: int | None = 1):
        self.n_jobs, self.blas_threads = n_jobs, blas_threads
        self.futures: dict[cf.Future, TrialTask] = {}
        self.pools: dict[cf.Future, object] = {}
        self.suspects: list[TrialTask] = []
        self.ready: list[TrialResult] = []
        self.markers: str | None = None  # folder of the watchdogs' marker files
        self.warming: list[cf.Future] = []

    def _pool(self):
        return _worker_pool(self.n_jobs, self._env())

    def _env(self) -> dict[str, str]:
        if not self.blas_threads:
            return {}
        return {k: str(self.blas_threads)
                for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

    @property
    def in_flight(self) -> int:
        return len(self.futures) + len(self.suspects) + len(self.ready)

    def free_slots(self, prefetch: int = 0) -> int:
        """Tasks to submit now; ``prefetch`` extra ones wait in the pool's queue so that
        a worker starts its next trial while the driver records the last one."""
        return max(0, self.n_jobs + prefetch - self.in_flight)

    def warm(self, setup: WorkerSetup) -> None:
        """Start the workers and have each ``prepare`` for the study while the driver
        syncs and claims; the trials queue behind. What these calls return is ignored."""
        pool = self._pool()
        try:
            self.warming = [pool.submit(warm_up, setup) for _ in range(self.n_jobs)]
        except cf.process.BrokenProcessPool:  # a worker died since the last run: submit replaces it
            self.warming = []

    def wait_warm(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the warm-up calls to end."""
        if self.warming:
            cf.wait(self.warming, timeout=timeout)
            self.warming = []

    def submit(self, task: TrialTask) -> None:
        task = self._with_marker(task)
        pool = self._pool()
        try:
            future = pool.submit(execute, task)
        except cf.process.BrokenProcessPool:  # a worker died since the last result
            discard_pool(pool, kill=True)
            pool = self._pool()
            future = pool.submit(execute, task)
        self.futures[future] = task
        self.pools[future] = pool

    def _with_marker(self, task: TrialTask) -> TrialTask:
        if task.objective.trial_timeout is None:
            return task
        if self.markers is None:
            self.markers = tempfile.mkdtemp(prefix="hpsearch-watchdog-")
            weakref.finalize(self, shutil.rmtree, self.markers, ignore_errors=True)
        marker = os.path.join(self.markers, f"{task.trial_id}.overrun")
        return dataclasses.replace(task, overrun_marker=marker)

    def next_result(self) -> TrialResult:
        """Block until a trial finishes; isolate trials whose worker died."""
        if self.ready:
            return self.ready.pop(0)
        if self.suspects:
            return self._run_alone(self.suspects.pop(0))
        done, _ = cf.wait(self.futures, return_when=cf.FIRST_COMPLETED)
        future = min(done, key=lambda f: self.futures[f].slot)  # deterministic order
        task, pool = self.futures.pop(future), self.pools.pop(future)
        try:
            return future.result()
        except cf.process.BrokenProcessPool as exc:
            # The pool is gone: every unfinished trial in it failed with it.
            discard_pool(pool, kill=True)
            self._sort_out([task, *self._forget(pool)], exc)
            return self.next_result()

    def _forget(self, pool) -> list[TrialTask]:
        lost = [f for f, p in self.pools.items() if p is pool]
        for f in lost:
            del self.pools[f]
        return [self.futures.pop(f) for f in lost]

    def _sort_out(self, lost: list[TrialTask], exc: BaseException) -> None:
        """Fail the trials that the watchdog ended (time limit) and a lone trial (its
        crash); re-run each other one alone, so that only the trial that kills its
        worker is marked failed."""
        alive = []
        for task in lost:
            if was_overrun(task):
                self.ready.append(overran(task))
            else:
                alive.append(task)
        if len(lost) == 1 and alive:
            self.ready.append(crashed(alive[0], exc))
        else:
            self.suspects.extend(alive)

    def _run_alone(self, task: TrialTask) -> TrialResult:
        from joblib.externals.loky import ProcessPoolExecutor

        # A private one-worker pool: the shared pool keeps its size and its workers.
        pool = ProcessPoolExecutor(max_workers=1, env=self._env(),
                                   initializer=guards.init_worker, initargs=(os.getpid(),))
        broken = True
        try:
            result = pool.submit(execute, task).result(timeout=_alone_limit(task))
            broken = False
        except cf.process.BrokenProcessPool as exc:
            result = overran(task) if was_overrun(task) else crashed(task, exc)
        except cf.TimeoutError:  # not even the watchdog could end it
            result = overran(task)
        pool.shutdown(wait=not broken, kill_workers=broken)
        return result

    def shutdown(self, kill: bool = False) -> None:
        if kill and self.futures:
            discard_pool(kill=True)
        self.futures.clear()
        self.pools.clear()
        self.suspects.clear()
        self.ready.clear()


# Seconds a trial run alone may take beyond its time limit and its watchdog's grace
# (worker start-up, data loading) before the driver gives up on it.
ALONE_MARGIN = 60.0


def _alone_limit(task: TrialTask) -> float | None:
    limit = task.objective.trial_timeout
    return None if limit is None else limit + guards.WATCHDOG_GRACE + ALONE_MARGIN


# hpsearch's own pool of worker processes, kept between runs so that workers (and
# the datasets they have loaded) are reused. It is not loky's process-wide
# reusable executor, which joblib.Parallel (and scikit-learn) expect to own.
_POOL: dict = {}
# Idle workers exit after this many seconds (the pool starts new ones when work comes).
WORKER_IDLE_TIMEOUT = 300.0


def _worker_pool(workers: int, env: dict[str, str]):
    from joblib.externals.loky import ProcessPoolExecutor

    key = (workers, tuple(sorted(env.items())))
    if _POOL.get("key") != key:
        discard_pool()
        # Workers watch this process: if it is killed outright they exit within a
        # second rather than finishing doomed trials while holding its pipes.
        _POOL["pool"], _POOL["key"] = ProcessPoolExecutor(
            max_workers=workers, env=env, timeout=WORKER_IDLE_TIMEOUT,
            initializer=guards.init_worker, initargs=(os.getpid(),)), key
    return _POOL["pool"]


def discard_pool(pool=None, kill: bool = False) -> None:
    """Shut down ``pool`` (default: the current one) and forget it if it is current."""
    current = _POOL.get("pool")
    pool = current if pool is None else pool
    if pool is current:
        _POOL.clear()
    if pool is not None:
        with contextlib.suppress(Exception):
            pool.shutdown(wait=not kill, kill_workers=kill)


atexit.register(discard_pool)


class JoblibRunner:
    """Trials through ``joblib.Parallel`` with any registered backend (threading,
    dask, ray, ...), evaluated in rounds of up to ``n_jobs`` trials."""

    def __init__(self, n_jobs: int, backend: str, blas_threads: int | None = 1,
                 backend_options: dict | None = None):
        self.n_jobs, self.backend, self.blas_threads = n_jobs, backend, blas_threads
        self.backend_options = dict(backend_options or {})
        self.queue: list[TrialTask] = []
        self.results: Iterator[TrialResult] | None = None
        self.remaining = 0

    @property
    def in_flight(self) -> int:
        return len(self.queue) + self.remaining

    def free_slots(self, prefetch: int = 0) -> int:
        return self.n_jobs - len(self.queue) if self.remaining == 0 else 0

    def warm(self, setup: WorkerSetup) -> None:
        """Nothing: joblib backends start their workers themselves."""

    def wait_warm(self, timeout: float) -> None:
        """Nothing to wait for."""

    def submit(self, task: TrialTask) -> None:
        self.queue.append(task)

    def next_result(self) -> TrialResult:
        import joblib

        if self.remaining == 0:
            tasks, self.queue = self.queue, []
            with joblib.parallel_config(backend=self.backend, **self.backend_options):
                self.results = self._start(joblib, tasks)
            self.remaining = len(tasks)
        self.remaining -= 1
        return next(self.results)

    def _start(self, joblib, tasks: list[TrialTask]) -> Iterator[TrialResult]:
        calls = [joblib.delayed(execute)(t) for t in tasks]
        try:
            parallel = joblib.Parallel(n_jobs=self.n_jobs, return_as="generator_unordered")
        except ValueError:  # a backend that cannot stream results (Ray): the whole round
            parallel = joblib.Parallel(n_jobs=self.n_jobs, return_as="list")
        return iter(parallel(calls))

    def shutdown(self, kill: bool = False) -> None:
        self.queue.clear()
        self.results, self.remaining = None, 0


def make_runner(n_jobs: int, backend: str = "loky", blas_threads: int | None = 1,
                backend_options: dict | None = None):
    """The runner for ``backend``: "loky" (processes, the default) or any joblib backend.

    ``"dask"`` and ``"ray"`` run one task per trial on the cluster
    (``hpsearch.execution.backends``), so that a dead worker fails only its trial; their
    ``backend_options`` are ``scheduler_host`` (e.g. ``"tcp://host:8786"``;
    without it the current ``dask.distributed`` client is used) or ``client``,
    and ``address`` or ``remote_args`` for Ray. Other backends' options go to
    ``joblib.parallel_config``.
    """
    n_jobs = check_positive_int(n_jobs, "n_jobs")
    check_backend(backend, backend_options)
    if backend == "loky":
        return LokyRunner(n_jobs, blas_threads)
    if backend in ("dask", "ray"):
        from hpsearch.execution.backends import make_task_runner

        return make_task_runner(backend, n_jobs, backend_options)
    return JoblibRunner(n_jobs, backend, blas_threads, backend_options)


def check_backend(backend: str, backend_options: dict | None = None) -> None:
    """Refuse an unknown backend name, or options for loky; register the dask/ray
    joblib backends on demand."""
    import joblib.parallel

    if not isinstance(backend, str) or not backend:
        raise ValueError(f"backend must be a joblib backend name such as 'loky', got {backend!r}")
    if backend == "loky":
        if backend_options:
            raise ValueError("backend_options apply to joblib backends other than 'loky'")
        return

    if backend == "ray" and backend not in joblib.parallel.BACKENDS:
        try:
            from ray.util.joblib import register_ray
        except ImportError:
            raise ValueError("backend 'ray' needs Ray: pip install 'hpsearch[ray]'") from None
        register_ray()
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ValueError("backend 'dask' needs dask.distributed: "
                             "pip install 'hpsearch[dask]'") from None
    known = {*joblib.parallel.BACKENDS, *joblib.parallel.EXTERNAL_BACKENDS}
    if backend not in known:
        raise ValueError(f"unknown joblib backend {backend!r}; known: {sorted(known)}")
