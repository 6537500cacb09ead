"""One Adam step over a flat float32 buffer: netcore's numpy and compiled steps against PyTorch.

``python -m studies.benchmarks.adam_step`` times ``optimizer.step`` alone, for
the parameter counts of the benchmark's nets, on one thread: netcore with
``NETCORE_KERNELS=numpy`` (ten numpy passes) and ``=numba`` (one compiled
pass), and PyTorch's Adam in its default (foreach) and fused forms when torch
is installed. The contenders alternate within each repetition, so drift of
the machine's speed hits them alike; each figure is the median over
repetitions of the mean of ``--steps`` steps. Prints a Markdown table with
netcore's ratios, also written to ``results/adam_step.md`` (``--out`` chooses
the folder); a missing numba or torch is named and skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from studies.benchmarks.plan import rotated
from studies.common import positive_int

# Parameters of 784-100-10, 784-256-128-10 and 784-1024-1024-10 (weights and biases).
SIZES = (79_510, 235_146, 1_863_690)
LR = 1e-3
RESULTS = Path(__file__).resolve().parent / "results"


def netcore_step(backend: str, size: int, rng: np.random.Generator) -> Callable[[], None]:
    """A closure doing one netcore Adam step with the kernel backend ``backend``."""
    from netcore import kernels
    from netcore.optim import Adam

    os.environ[kernels.ENV_VAR] = backend  # read when the optimizer is built
    optimizer = Adam()
    params = rng.standard_normal(size, dtype=np.float32)
    grads = rng.standard_normal(size, dtype=np.float32)
    return lambda: optimizer.step(params, grads, LR)


def torch_step(fused: bool, size: int, rng: np.random.Generator) -> Callable[[], None]:
    """A closure doing one PyTorch Adam step (foreach by default, or fused)."""
    import torch

    param = torch.nn.Parameter(torch.from_numpy(rng.standard_normal(size, dtype=np.float32)))
    param.grad = torch.from_numpy(rng.standard_normal(size, dtype=np.float32))
    optimizer = torch.optim.Adam([param], lr=LR, fused=True if fused else None)
    return optimizer.step


def contenders() -> tuple[dict[str, Callable], list[str]]:
    """Name -> step-closure factory, for what is installed; and why the others are left out."""
    found = {"netcore-numpy": lambda size, rng: netcore_step("numpy", size, rng)}
    skipped = []
    if importlib.util.find_spec("numba") is None:
        skipped.append("netcore-numba: numba is not installed (pip install -e '.[fast]')")
    else:
        found["netcore-numba"] = lambda size, rng: netcore_step("numba", size, rng)
    if importlib.util.find_spec("torch") is None:
        skipped.append("torch, torch-fused: torch is not installed (pip install -e '.[bench]')")
    else:
        found["torch"] = lambda size, rng: torch_step(False, size, rng)
        found["torch-fused"] = lambda size, rng: torch_step(True, size, rng)
    return found, skipped


def measure(found: dict[str, Callable], size: int, repeats: int, steps: int) -> dict[str, float]:
    """Median over ``repeats`` of the mean seconds per step, for each contender of ``found``."""
    rng = np.random.default_rng(0)
    closures = {name: make(size, rng) for name, make in found.items()}
    for step in closures.values():  # warm-up: numba's first call loads or compiles the kernel
        for _ in range(3):
            step()
    times: dict[str, list[float]] = {name: [] for name in closures}
    for rep in range(repeats):
        for name in rotated(list(closures), rep):
            start = time.perf_counter()
            for _ in range(steps):
                closures[name]()
            times[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(values) for name, values in times.items()}


def render(results: dict[int, dict[str, float]], skipped: list[str]) -> str:
    """A Markdown table: µs per step for each contender, and netcore's ratios to the others."""
    names = list(next(iter(results.values())))
    ours = "netcore-numba" if "netcore-numba" in names else "netcore-numpy"
    others = [n for n in names if n != ours]
    header = ["parameters", *(f"{n} µs" for n in names), *(f"{ours} / {n}" for n in others)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for size, row in results.items():
        cells = [f"{size:,}", *(f"{row[n] * 1e6:.0f}" for n in names),
                 *(f"{row[ours] / row[n]:.2f}" for n in others)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + [f"- skipped {reason}" for reason in skipped]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.benchmarks.adam_step",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=positive_int, default=list(SIZES),
                        help="parameter counts; default: those of the benchmark's three nets")
    parser.add_argument("--repeats", type=positive_int, default=7)
    parser.add_argument("--steps", type=positive_int, default=200, help="steps per measurement")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where adam_step.md goes")
    args = parser.parse_args(argv)
    found, skipped = contenders()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    with threadpool_limits(limits=1):
        results = {size: measure(found, size, args.repeats, args.steps) for size in args.sizes}
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = (f"# One Adam step, float32, one thread ({when})\n\nMedian of {args.repeats} "
              f"repetitions of the mean of {args.steps} steps; a ratio below 1: netcore is faster.\n\n"
              + render(results, skipped))
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "adam_step.md").write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
