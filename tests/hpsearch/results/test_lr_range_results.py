"""An lr-range study's results show the learning rate each trial trained with."""

from __future__ import annotations

import pytest

import hpsearch
from hpsearch import space
from hpsearch.results.report import leaderboard


@pytest.fixture
def study(tmp_path):
    study = hpsearch.Study.create(
        "lr", dataset="digits", strategy="lr-range", storage=f"sqlite:///{tmp_path / 'lr.db'}",
        space={"lr": space.log_float(1e-4, 1.0), "hidden": space.choice([[16], [32]])},
        strategy_options={"range_test_iters": 20}, epochs=2, max_train=200, seed=0)
    study.run(n_trials=3, progress=False)
    return study


def test_leaderboard_has_the_rate_each_trial_trained_with(study):
    frame = study.results()
    board = leaderboard(frame, study.config.space, study.config.objective.direction)
    assert "lr" not in study.config.space and "lr" in board.columns
    assert list(board.columns[:4]) == ["trial", "value", "hidden", "lr"]
    assert (board["lr"] > 0).all() and board["lr"].between(1e-4, 1.0).all()
    by_trial = dict(zip(frame["trial"], frame["lr"], strict=True))
    assert all(by_trial[t] == lr for t, lr in zip(board["trial"], board["lr"], strict=True))


def test_best_params_hold_the_rate_trained_with(study):
    best = study.best_trial
    assert set(study.best_params) == {"hidden", "lr"}
    assert study.best_params["lr"] == best["metrics"]["lr"] > 0
    reloaded = hpsearch.Study.load("lr", study.storage_url)
    assert reloaded.best_params == study.best_params
