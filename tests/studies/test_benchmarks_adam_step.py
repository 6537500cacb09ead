"""``python -m studies.benchmarks.adam_step``: the table it prints, never its timings."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from studies.benchmarks import adam_step
from studies.benchmarks.gemm import parse_widths

ROOT = Path(__file__).resolve().parents[2]


def test_command_prints_a_row_per_size_with_netcores_ratios(tmp_path):
    done = subprocess.run([sys.executable, "-m", "studies.benchmarks.adam_step", "--sizes", "40000",
                           "50000", "--repeats", "2", "--steps", "3", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "adam_step.md").read_text(encoding="utf-8")
    assert written.strip() in done.stdout and written.startswith("# One Adam step, float32")
    lines = [line for line in done.stdout.splitlines() if line.startswith("|")]
    found, _ = adam_step.contenders()
    assert lines[0].startswith("| parameters | netcore-numpy µs |")
    assert "| netcore-numba / netcore-numpy |" in lines[0] or "netcore-numba" not in found
    rows = [line for line in lines if line.startswith(("| 40,000 |", "| 50,000 |"))]
    assert len(rows) == 2
    for row in rows:
        cells = row.strip("|").split("|")
        assert len(cells) == 1 + len(found) + len(found) - 1
        assert all(float(cell) > 0 for cell in cells[1:])


def test_render_names_what_it_skipped():
    results = {1000: {"netcore-numpy": 2e-5, "torch": 4e-5}}
    table = adam_step.render(results, ["netcore-numba: numba is not installed"])
    assert "| 1,000 | 20 | 40 | 0.50 |" in table
    assert "| parameters | netcore-numpy µs | torch µs | netcore-numpy / torch |" in table
    assert "- skipped netcore-numba: numba is not installed" in table


def test_the_sizes_are_those_of_the_benchmark_nets():
    def n_params(widths: str) -> int:
        return sum(a * b + b for a, b in itertools.pairwise(parse_widths(widths)))

    expected = tuple(n_params(w) for w in ("784-100-10", "784-256-128-10", "784-1024-1024-10"))
    assert expected == adam_step.SIZES
