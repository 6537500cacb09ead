"""GEMM peak: the best time numpy's BLAS takes for the GEMMs of a training step.

A worker process (``python -m studies.benchmarks.peak --arch A [A ...] --threads N``,
started by the benchmark with the thread variables set, as the epoch workers
are) times each GEMM of one step (see ``gemm.step_gemms``) with float32
``np.matmul(a, b, out=c)``, operands laid out as the step has them, and keeps
the minimum over ``--repeats`` calls after a warm-up. The step's peak time is
the sum of those minima: no framework can do the step's needed GEMMs faster
with this BLAS. A large square GEMM gives the BLAS's plain peak for context.
It prints one JSON line, the record the parent collects.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits

from studies.benchmarks.gemm import Gemm, format_widths, step_flops, step_gemms, widths_argument
from studies.benchmarks.worker import thread_pools
from studies.common import positive_int

WARMUP_CALLS = 3


def operands(gemm: Gemm, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 ``a``, ``b`` and ``out`` for ``gemm``; a transposed operand is a ``.T`` view."""
    def matrix(rows: int, cols: int, transposed: bool) -> np.ndarray:
        shape = (cols, rows) if transposed else (rows, cols)
        array = rng.standard_normal(shape, dtype=np.float32)
        return array.T if transposed else array

    a = matrix(gemm.m, gemm.k, gemm.a_transposed)
    b = matrix(gemm.k, gemm.n, gemm.b_transposed)
    return a, b, np.empty((gemm.m, gemm.n), dtype=np.float32)


def best_seconds(gemm: Gemm, repeats: int, rng: np.random.Generator) -> float:
    """The minimum wall time of ``repeats`` calls of ``gemm``, after a few untimed ones."""
    a, b, out = operands(gemm, rng)
    for _ in range(WARMUP_CALLS):
        np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return best


def step_peak(sizes: tuple[int, ...], batch: int, repeats: int, rng: np.random.Generator) -> dict:
    """Each GEMM's best time for one step of ``sizes`` and the step's peak GFLOP/s."""
    gemms = [{"name": g.name, "m": g.m, "k": g.k, "n": g.n, "flops": g.flops,
              "best_s": best_seconds(g, repeats, rng)} for g in step_gemms(sizes, batch)]
    seconds = sum(g["best_s"] for g in gemms)
    flops = step_flops(sizes, batch)
    return {"arch": format_widths(sizes), "batch_size": batch, "step_flops": flops,
            "peak_step_s": seconds, "peak_gflops": flops / seconds / 1e9, "gemms": gemms}


def square_peak(n: int, repeats: int, rng: np.random.Generator) -> dict:
    """The best GFLOP/s of an ``n x n`` by ``n x n`` float32 GEMM."""
    gemm = Gemm(f"square {n}", n, n, n)
    seconds = best_seconds(gemm, repeats, rng)
    return {"n": n, "flops": gemm.flops, "best_s": seconds, "gflops": gemm.flops / seconds / 1e9}


def measure(archs: list[tuple[int, ...]], threads: int, batch: int, repeats: int, square: int,
            seed: int = 0) -> dict:
    """The worker's record: every architecture's step peak and the square GEMM, at ``threads``."""
    rng = np.random.default_rng(seed)
    with threadpool_limits(limits=threads):
        steps = [step_peak(sizes, batch, repeats, rng) for sizes in archs]
        plain = square_peak(square, repeats, rng)
        pools = thread_pools()  # read while the limits are in force
    return {"threads": threads, "repeats": repeats, "numpy": np.__version__, "steps": steps,
            "square": plain, "thread_pools": pools}


def summarize(records: list[dict]) -> dict:
    """The best peak per (arch, threads), and of the square GEMM per threads, over the records.

    Returns ``{"steps": [{arch, threads, step_gflop, peak_step_ms, peak_gflops}, ...],
    "square": [{threads, n, gflop, best_ms, gflops}, ...]}``.
    """
    steps: dict[tuple[str, int], dict] = {}
    square: dict[int, dict] = {}
    for record in (r for r in records if "error" not in r):
        n = record["threads"]
        for step in record["steps"]:
            row = {"arch": step["arch"], "threads": n, "step_gflop": step["step_flops"] / 1e9,
                   "peak_step_ms": step["peak_step_s"] * 1e3, "peak_gflops": step["peak_gflops"]}
            if row["peak_gflops"] > steps.get((step["arch"], n), {}).get("peak_gflops", 0):
                steps[step["arch"], n] = row
        plain = record["square"]
        row = {"threads": n, "n": plain["n"], "gflop": plain["flops"] / 1e9,
               "best_ms": plain["best_s"] * 1e3, "gflops": plain["gflops"]}
        if row["gflops"] > square.get(n, {}).get("gflops", 0):
            square[n] = row
    return {"steps": list(steps.values()), "square": list(square.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.benchmarks.peak",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", type=widths_argument, required=True)
    parser.add_argument("--threads", type=positive_int, required=True)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--repeats", type=positive_int, default=100, help="timed calls of each GEMM")
    parser.add_argument("--square", type=positive_int, default=1024, help="size of the square GEMM")
    args = parser.parse_args(argv)
    record = measure(args.arch, args.threads, args.batch_size, args.repeats, args.square)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
