"""Each study script's ``--quick`` mode runs end to end and writes its Markdown and PNG.

The scripts run in a subprocess, as a user runs them (``python -m studies.<name>``),
on tiny MNIST subsets, writing to a temporary ``--out`` folder so that the
committed results in ``studies/results`` are never touched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# name -> (--jobs, a header every report of that study has). mnist_depth and optimizers
# use two workers: optimizers then runs joblib jobs after hpsearch studies in one process.
STUDIES = {
    "mnist_depth": (2, "| hidden layers | sizes | final val acc % (mean ± std) |"),
    "vanishing_gradients": (1, "## At initialisation"),
    "optimizers": (2, "| optimizer | best lr |"),
    "regularization": (1, "| method | setting | train acc % | val acc % | gap (train − val) |"),
    "strategies": (1, "| strategy | best val acc % after"),
    "multifidelity": (2, "| method | seed | configurations | jobs/trials | epochs trained |"),
    "pbt": (2, "| method | seed | jobs/trials | epochs trained | wall time (s) |"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(STUDIES))
def test_quick_run_writes_markdown_and_png(name, mnist_available, tmp_path):
    jobs, header = STUDIES[name]
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", f"studies.{name}", "--quick", "--jobs", str(jobs), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.md", f"{name}.png"]
    markdown = (out / f"{name}.md").read_text(encoding="utf-8")
    assert markdown.startswith("# ") and header in markdown and "--quick" in markdown
    assert str(tmp_path) not in markdown and str(ROOT) not in markdown  # no local paths
    assert (out / f"{name}.png").read_bytes().startswith(PNG_SIGNATURE)
