"""Plumbing shared by the study scripts: command line, data, parallel jobs, reports.

Every study script is ``python -m studies.<name> [--quick] [--jobs N] [--out DIR]``
and writes ``<out>/<name>.md`` (Markdown tables) and ``<out>/<name>.png``.
Parallel trainings run in loky worker processes, each limited to one BLAS
thread, so that ``--jobs 2`` on two cores never runs four BLAS threads.
"""

from __future__ import annotations

import argparse
import functools
import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    import netcore

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def build_parser(name: str, description: str) -> argparse.ArgumentParser:
    """The options every study takes: ``--quick``, ``--jobs`` and ``--out``."""
    parser = argparse.ArgumentParser(prog=f"python -m studies.{name}", description=description)
    parser.add_argument("--quick", action="store_true",
                        help="a reduced run on tiny subsets (a smoke test, not a result)")
    parser.add_argument("--jobs", type=positive_int, default=1,
                        help="parallel worker processes (one BLAS thread each); default: 1")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR,
                        help="folder for <name>.md and <name>.png; default: studies/results")
    return parser


@functools.cache
def mnist() -> netcore.Dataset:
    """MNIST with the classic 50,000 / 10,000 / 10,000 split, loaded once per process."""
    import netcore  # here, so the benchmark workers of the peers never load netcore

    return netcore.load_dataset("mnist")


def _limited(fn: Callable[..., Any], kwargs: Mapping) -> Any:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return fn(**kwargs)


def run_jobs(fn: Callable[..., Any], tasks: Sequence[Mapping], n_jobs: int) -> list:
    """``[fn(**task) for task in tasks]`` on ``n_jobs`` loky workers, one BLAS thread each.

    Results come back in the order of ``tasks``. ``fn`` should load its data
    itself (e.g. through ``mnist()``, cached per worker) rather than receive
    arrays, which would be pickled for every task.
    """
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, backend="loky")(delayed(_limited)(fn, task) for task in tasks)


def mean_std(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> str:
    """``"mean ± std"`` (sample std, ddof=1; 0 for a single value), times ``scale``."""
    arr = np.asarray(values, dtype=float) * scale
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return f"{arr.mean():.{digits}f} ± {std:.{digits}f}"


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: floats with ``digits`` decimals, NaN and None as an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; cells are formatted with ``fmt``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def run_info(args: argparse.Namespace, name: str, seconds: float) -> str:
    """One line saying how the results were produced (command, wall time, software)."""
    command = f"python -m studies.{name}" + (" --quick" if args.quick else "") \
        + (f" --jobs {args.jobs}" if args.jobs > 1 else "")
    return (f"Produced by `{command}` in {seconds / 60:.1f} min of wall time "
            f"(Python {platform.python_version()}, numpy {np.__version__}, "
            f"{time.strftime('%Y-%m-%d')}).")


def write_report(out: Path, name: str, title: str, blocks: Sequence[str]) -> Path:
    """Write ``# title`` and the blocks (paragraphs, tables) to ``out/name.md``, and print it."""
    out.mkdir(parents=True, exist_ok=True)
    text = f"# {title}\n\n" + "\n\n".join(block.strip() for block in blocks) + "\n"
    path = out / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    print(text)
    return path


def save_figure(fig: Figure, out: Path, name: str) -> Path:
    """Save ``fig`` as ``out/name.png``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {name}.png")
    return path


def new_figure(ncols: int, nrows: int = 1, *, width: float = 5.0, height: float = 4.0):
    """A pyplot-free matplotlib ``Figure`` and its axes (works without a display)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)
