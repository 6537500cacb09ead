"""``python -m studies.benchmarks.search_vs_peers --quick``: its table, never its timings."""

from __future__ import annotations

from studies.benchmarks import search_vs_peers as svp


def test_quick_run_reports_every_available_contender(tmp_path):
    report = svp.main(["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "search_vs_peers.md").read_text(encoding="utf-8") == report
    names, skipped = svp.available()
    rows = {line.split("|")[1].strip(): line for line in report.splitlines()
            if line.startswith("| ") and not line.startswith("| contender")}
    assert sorted(rows) == sorted(names)
    for name in names:
        cells = [c.strip() for c in rows[name].strip("|").split("|")]
        assert float(cells[1]) > 0 and 0.5 < float(cells[3]) <= 1.0 and 0.5 < float(cells[4]) <= 1
    assert rows["hpsearch"].split("|")[6].strip() == "1.00"
    assert all(f"- skipped {reason}" in report for reason in skipped)


def test_outcome_times_and_best():
    outcome = svp.Outcome(10.0, [(2.0, 0.8, 0.7), (5.0, 0.9, 0.85), (7.0, 0.9, 0.8)])
    assert outcome.best == (0.9, 0.85)
    assert outcome.time_to(0.85) == 5.0 and outcome.time_to(0.95) is None


def test_summary_uses_the_accuracy_every_contender_reached():
    runs = {"hpsearch": [svp.Outcome(4.0, [(1.0, 0.7, 0.7), (3.0, 0.95, 0.9)])],
            "peer": [svp.Outcome(8.0, [(6.0, 0.9, 0.88)])]}
    table = svp.summarize(runs)
    assert table["hpsearch"]["to_common"] == 3.0 and table["peer"]["to_common"] == 6.0
    assert table["peer"]["val"] == 0.9 and table["hpsearch"]["test"] == 0.9
