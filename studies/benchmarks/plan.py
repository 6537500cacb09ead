"""What one benchmark run measures, in order: one job per worker process.

Three parts, each measured in fresh processes: ``gemm`` (the BLAS's peak for
the training step's GEMMs, one worker per thread count), ``epoch`` (one
training epoch per framework, architecture, thread count and repetition, the
framework order rotated between repetitions) and ``search`` (an hpsearch study
per ``n_jobs`` and repetition, the ``n_jobs`` order rotated likewise).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from studies.benchmarks.gemm import format_widths

PARTS = ("gemm", "epoch", "search")


@dataclass(frozen=True)
class Job:
    """One worker: its part, command line, thread limit, and the fields added to its record."""

    part: str
    command: list[str]
    threads: int
    labels: dict = field(default_factory=dict)


def rotated(items: list, shift: int) -> list:
    """``items`` rotated left by ``shift``: the run order of repetition ``shift``."""
    shift %= len(items)
    return items[shift:] + items[:shift]


def gemm_jobs(args: argparse.Namespace) -> list[Job]:
    """One GEMM-peak worker per thread count, timing every architecture's step."""
    return [Job("gemm", [sys.executable, "-m", "studies.benchmarks.peak",
                         "--arch", *map(format_widths, args.arch), "--threads", str(n),
                         "--batch-size", str(args.batch_size), "--repeats", str(args.gemm_repeats),
                         "--square", str(args.square)], n, {"threads": n})
            for n in args.threads]


def epoch_command(framework: str, sizes: tuple[int, ...], threads: int, seed: int,
                  args: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", "studies.benchmarks", "--worker", framework,
            "--arch", format_widths(sizes), "--threads", str(threads),
            "--n-train", str(args.n_train), "--warmup-batches", str(args.warmup_batches),
            "--batch-size", str(args.batch_size), "--seed", str(seed)]


def epoch_jobs(args: argparse.Namespace, frameworks: list[str]) -> list[Job]:
    """(arch, threads, repeat, framework) in run order; the framework order rotates each repeat."""
    jobs = []
    for sizes in args.arch:
        for threads in args.threads:
            for rep in range(args.repeats):
                labels = {"arch": format_widths(sizes), "threads": threads, "repeat": rep}
                jobs += [Job("epoch", epoch_command(fw, sizes, threads, args.seed + rep, args), threads,
                             {"framework": fw, **labels})
                         for fw in rotated(frameworks, rep)]
    return jobs


def search_jobs(args: argparse.Namespace) -> list[Job]:
    """One hpsearch study per (repeat, n_jobs); the ``n_jobs`` order rotates each repeat."""
    jobs = []
    for rep in range(args.search_repeats):
        for n_jobs in rotated(args.search_jobs, rep):
            command = [sys.executable, "-m", "studies.benchmarks.throughput", "--n-jobs", str(n_jobs),
                       "--trials", str(args.search_trials), "--max-train", str(args.search_max_train),
                       "--epochs", str(args.search_epochs)]
            jobs.append(Job("search", command, 1, {"n_jobs": n_jobs, "repeat": rep}))
    return jobs


def build(args: argparse.Namespace, frameworks: list[str]) -> list[Job]:
    """Every job of the parts not in ``args.skip``: GEMM peaks, then epochs, then searches."""
    jobs = []
    if "gemm" not in args.skip:
        jobs += gemm_jobs(args)
    if "epoch" not in args.skip:
        jobs += epoch_jobs(args, frameworks)
    if "search" not in args.skip:
        jobs += search_jobs(args)
    return jobs
