"""``python -m studies.benchmarks.curves``: what each side writes and the report's shape,
never its timings."""

from __future__ import annotations

from studies.benchmarks import curves


def test_the_two_sides_differ_by_the_curves_alone_and_the_report_names_both():
    without, with_ = curves._run(False, 2), curves._run(True, 2)
    assert without["trials"] == with_["trials"] == 2
    assert without["steps"] == 0 and without["writing_s"] == 0.0
    assert with_["steps"] >= 2 and with_["writing_s"] > 0.0
    numbers = {"date": "today", "trials": 2, "repeats": 1, "cpus": 2, "load_start": 1.0,
               "load_end": 1.0, "runs": {"without": [without], "with": [with_]},
               "median_s": {"without": without["search_s"], "with": with_["search_s"]},
               "driver_cpu_s": {"without": 0.5, "with": 0.5}, "pair_ratios": [1.0],
               "pair_ratio": 1.0, "ratio": with_["search_s"] / without["search_s"]}
    report = curves.report(numbers)
    assert report.startswith("# What live learning curves cost a search")
    rows = [line for line in report.splitlines() if line.startswith("| with")]
    assert len(rows) == 2 and f"wrote {with_['steps']} intermediate values" in report
