"""The main job: ``hpsearch run studies/quickstart.toml``, as the README runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from helpers.cli import run_hpsearch

SPEC = Path(__file__).resolve().parents[3] / "studies" / "quickstart.toml"


def test_quickstart_finds_a_net_above_97_percent(tmp_path):
    shutil.copy(SPEC, tmp_path / "quickstart.toml")
    result = run_hpsearch("run", "quickstart.toml", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "40 trials (40 COMPLETE)" in result.stdout
    frame = pd.read_csv(tmp_path / "hpsearch-results" / "quickstart" / "results.csv")
    best = frame.loc[frame["value"].idxmin()]
    assert best["val_accuracy"] >= 0.97
    assert (tmp_path / "hpsearch.db").exists()
