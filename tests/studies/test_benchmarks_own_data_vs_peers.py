"""``python -m studies.benchmarks.own_data_vs_peers --quick``: its table, never its timings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studies.benchmarks import own_data_vs_peers as odp


def _rows(report: str, table: str) -> dict[str, list[str]]:
    section = report.split(f"## {table} ")[1].split("\n## ")[0]
    return {cells[0]: cells[1:] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| contender")
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}


def test_quick_run_reports_every_contender_on_a_class_and_a_regression_table(tmp_path):
    report = odp.main(["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "own_data_vs_peers.md").read_text(encoding="utf-8") == report
    saved = json.loads((tmp_path / "own_data_vs_peers.json").read_text(encoding="utf-8"))
    assert sorted(saved["tables"]) == sorted(odp.QUICK_TABLES)
    for table in odp.QUICK_TABLES:
        rows = _rows(report, table)
        assert sorted(rows) == sorted(odp.CONTENDERS)
        assert rows["hpsearch.tune"][2] == "1.00"  # wall / tune
        for name, cells in rows.items():
            mean = float(cells[0].split("±")[0])
            assert float(cells[1]) >= 0 and saved["tables"][table]["rows"][name]["test"] == \
                pytest.approx(mean, abs=0.01)
            if table == "wine":
                assert 0.5 < mean <= 1.0, name
            else:  # RMSE in the target's units (diabetes: 25 to 346, sd 77)
                assert 30 < mean < 150, name
    assert "tune vs the best MLP peer" in report


def test_splits_are_sixty_twenty_twenty_stratified_and_the_same_for_every_contender():
    table = odp.load_table("wine", 1)
    X, y, Xv, yv, Xt, _ = table.arrays
    assert (len(X), len(Xv), len(Xt)) == (106, 36, 36)
    assert np.allclose(np.bincount(yv) / len(yv), np.bincount(y) / len(y), atol=0.03)  # stratified
    again = odp.load_table("wine", 1)
    assert all(np.array_equal(a, b) for a, b in zip(table.arrays, again.arrays, strict=True))
    assert not np.array_equal(odp.load_table("wine", 2).arrays[4], Xt)


def _runs(ours: list[float], peer: list[float], walls=(1.0, 5.0)) -> dict:
    return {"hpsearch.tune": [odp.Outcome(t, walls[0]) for t in ours],
            "RandomizedSearchCV + MLP": [odp.Outcome(t, walls[1]) for t in peer],
            "Optuna TPE + MLP": [odp.Outcome(t - 0.1, walls[1]) for t in peer],
            "linear": [odp.Outcome(0.5, 0.01)]}


def test_the_gap_is_in_points_for_accuracy_and_percent_for_rmse():
    summary = odp.summarize("classification", _runs([0.952, 0.97], [0.96, 0.97]))
    assert summary["best_peer"] == "RandomizedSearchCV + MLP"
    assert summary["gap"] == pytest.approx(0.4) and summary["met"]
    assert summary["rows"]["RandomizedSearchCV + MLP"]["wall_ratio"] == 5.0
    worse = odp.summarize("classification", _runs([0.94, 0.97], [0.96, 0.97]))
    assert worse["gap"] == pytest.approx(1.0) and not worse["met"]
    rmse = odp.summarize("regression", _runs([61.0], [60.1]))  # the peer's other run: 60.0
    assert rmse["best_peer"] == "Optuna TPE + MLP" and rmse["gap"] == pytest.approx(100 / 60)
    assert not rmse["met"]


def test_a_slower_tune_misses_the_target_even_when_as_accurate():
    summary = odp.summarize("classification", _runs([0.97], [0.97], walls=(6.0, 5.0)))
    assert summary["gap"] <= 0 and not summary["fastest"] and not summary["met"]
