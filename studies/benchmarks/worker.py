"""One measurement in its own process: load MNIST, limit threads, warm up, time one epoch.

The parent starts ``python -m studies.benchmarks --worker NAME --arch A --threads N``
with the OMP/OpenBLAS/MKL thread variables already set for this process; here
threadpoolctl (and ``torch.set_num_threads`` in the torch trainers) enforce
the same limit, and the limits in force are reported back for checking.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from studies.benchmarks.frameworks import FRAMEWORKS, Task, Trainer
from studies.benchmarks.gemm import format_widths

N_CLASSES, N_FEATURES = 10, 784


@dataclass(frozen=True)
class WorkerConfig:
    """One measurement: framework, architecture, threads, data size, warm-up, seed."""

    framework: str
    sizes: tuple[int, ...]
    threads: int
    n_train: int
    warmup_batches: int
    batch_size: int
    seed: int


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_mnist(n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_train`` of MNIST's 50,000 training images (float32 in [0, 1]) and labels."""
    import netcore

    data = netcore.load_dataset("mnist")
    return data.X_train[:n_train], data.y_train[:n_train]


def thread_pools() -> list[dict]:
    """The native thread pools loaded in this process and their current sizes."""
    keys = ("internal_api", "prefix", "version", "num_threads", "architecture")
    return [{k: pool.get(k) for k in keys} for pool in threadpool_info()]


def _timed_epoch(trainer: Trainer, X, y) -> tuple[float, float]:
    start = time.perf_counter()
    loss = trainer.epoch(X, y)
    return time.perf_counter() - start, loss


def measure(config: WorkerConfig) -> dict:
    """Run the warm-up and the timed epoch; return the record the parent collects."""
    X, y = load_mnist(config.n_train)
    data_rss = peak_rss_mb()
    cls = FRAMEWORKS[config.framework]
    task = Task(config.sizes, config.batch_size, config.seed, config.threads)
    with threadpool_limits(limits=config.threads):
        trainer = cls(task)
        Xf, yf = trainer.prepare(X, y)
        n_warm = min(len(X), config.warmup_batches * config.batch_size)
        warmup_seconds, _ = _timed_epoch(trainer, Xf[:n_warm], yf[:n_warm])
        seconds, loss = _timed_epoch(trainer, Xf, yf)
        pools, info = thread_pools(), trainer.info()  # read while the limits are in force
    return {
        "framework": config.framework, "version": cls.version(),
        "arch": format_widths(config.sizes), "threads": config.threads,
        "n_train": len(X), "batch_size": config.batch_size, "seed": config.seed,
        "warmup_samples": n_warm, "warmup_seconds": warmup_seconds,
        "seconds": seconds, "loss": loss, **info,
        "data_rss_mb": data_rss, "peak_rss_mb": peak_rss_mb(), "thread_pools": pools,
    }
