"""The search-throughput summary and the order in which the benchmark runs its workers."""

from __future__ import annotations

import argparse

import pytest

from studies.benchmarks import plan, throughput


def _search(n_jobs: int, wall: float) -> dict:
    return {"n_jobs": n_jobs, "n_trials": 4, "wall": wall, "steady_per_trial": wall / 8,
            "mean_training": 1.0, "first_trial": 1.0}


def test_throughput_ratio_is_of_trials_per_second():
    rows = throughput.summarize([_search(1, 8.0), _search(2, 4.0), _search(2, 6.0)], [1, 2])
    one, two = rows
    assert one["trials_per_s"] == 0.5 and "speedup" not in one
    assert two["median_wall_s"] == 5.0 and (two["min_wall_s"], two["max_wall_s"]) == (4.0, 6.0)
    assert two["speedup"] == pytest.approx(8.0 / 5.0)
    assert two["speedup_steady"] == pytest.approx(8.0 / 5.0)


def _args(**overrides) -> argparse.Namespace:
    settings = {"arch": [(784, 100, 10)], "threads": [1, 2], "repeats": 2, "n_train": 100,
                "warmup_batches": 1, "batch_size": 128, "seed": 0, "gemm_repeats": 3, "square": 64,
                "search_jobs": [1, 2], "search_trials": 4, "search_max_train": 100,
                "search_epochs": 1, "search_repeats": 2, "skip": []}
    return argparse.Namespace(**{**settings, **overrides})


def test_plan_rotates_the_order_and_skips_parts():
    jobs = plan.build(_args(), ["netcore", "sklearn"])
    assert [job.part for job in jobs] == ["gemm"] * 2 + ["epoch"] * 8 + ["search"] * 4
    epochs = [job.labels["framework"] for job in jobs if job.part == "epoch"]
    assert epochs[:4] == ["netcore", "sklearn", "sklearn", "netcore"]
    assert [job.labels["n_jobs"] for job in jobs if job.part == "search"] == [1, 2, 2, 1]
    assert [job.threads for job in jobs if job.part == "gemm"] == [1, 2]
    assert {job.part for job in plan.build(_args(skip=["gemm", "search"]), ["netcore"])} == {"epoch"}
