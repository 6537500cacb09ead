"""Study.confirm: repeats with fresh seeds, stored apart from the search, and their table."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from helpers.cli import run_hpsearch
from optuna.trial import TrialState

import hpsearch as hp
from hpsearch import space
from hpsearch.results.confirm import repeat_seed, verdict
from hpsearch.storages import records

SPACE = {"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[16], [32]])}
TOP, REPEATS, TRIALS = 3, 3, 4


def _study(storage: str, name: str = "c") -> hp.Study:
    return hp.Study.create(name, dataset="digits", space=SPACE, storage=storage, epochs=3,
                           max_train=300, seed=0)


@pytest.fixture(scope="module")
def confirmed(tmp_path_factory):
    """A searched study, what it held before ``confirm``, and the table."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('confirm') / 'study.db'}"
    study = _study(storage)
    before = study.run(n_trials=TRIALS, progress=False)
    best = study.best_value
    table = study.confirm(top=TOP, repeats=REPEATS, n_jobs=2, progress=False)
    return study, before, best, table


def _repeats(study) -> list:
    return [t for t in study.trials(confirmations=True) if records.is_confirmation(t)]


def test_table_has_intervals_and_ranks(confirmed):
    _, before, _, table = confirmed
    assert len(table) == TOP and list(table["rank"]) == [1, 2, 3]
    assert (table["n"] == REPEATS).all() and (table["failed"] == 0).all()
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    assert table["mean"].is_monotonic_increasing  # val_loss is minimized
    assert table["p_vs_next"].iloc[:-1].between(0, 1).all() and pd.isna(table["p_vs_next"].iloc[-1])
    best3 = before[before["state"] == "COMPLETE"].nsmallest(TOP, "value")
    assert set(table["trial"]) == set(best3["trial"])
    by_slot = before.set_index("trial")["value"]
    assert list(table["search_value"]) == [by_slot[s] for s in table["trial"]]
    assert table["beats_next"].dtype == bool and {"lr", "hidden"} <= set(table.columns)
    assert re.fullmatch(r"winner trial \d+ (beats|does not clearly beat) trial \d+: mean \S+ vs "
                        r"\S+, Welch p = \S+", verdict(table))


def test_repeats_are_stored_with_distinct_fresh_seeds(confirmed):
    study, before, _, _ = confirmed
    repeats = _repeats(study)
    assert len(repeats) == TOP * REPEATS
    assert all(t.state == TrialState.COMPLETE for t in repeats)
    seeds = [records.seed_of(t) for t in repeats]
    assert len(set(seeds)) == len(seeds) and not set(seeds) & set(before["seed"])
    for t in repeats:
        slot, index = t.system_attrs[records.CONFIRMS], t.system_attrs[records.REPEAT]
        assert records.seed_of(t) == repeat_seed(0, slot, index)


def test_a_second_call_trains_nothing_and_reads_back(confirmed):
    study, _, _, table = confirmed
    count = len(study.trials(confirmations=True))
    again = study.confirm(top=TOP, repeats=REPEATS, progress=False)
    assert len(study.trials(confirmations=True)) == count
    pd.testing.assert_frame_equal(again, table)
    pd.testing.assert_frame_equal(hp.Study.load("c", study.storage_url).confirmations(), table)


def test_the_search_does_not_see_the_repeats(confirmed):
    study, before, best, _ = confirmed
    assert study.best_value == best
    pd.testing.assert_frame_equal(study.results(), before)
    after = study.run(n_trials=TRIALS, progress=False)  # the budget is met already
    pd.testing.assert_frame_equal(after, before)
    assert len(_repeats(study)) == TOP * REPEATS
    marked = study.results(confirmations=True)
    assert len(marked) == TRIALS + TOP * REPEATS and marked["confirms"].notna().sum() == TOP * REPEATS


def test_leaderboard_ranks_by_the_confirmed_mean(confirmed):
    study, _, _, table = confirmed
    board = study.leaderboard(rank_by="confirmed")
    assert list(board["trial"][:TOP]) == list(table["trial"]) and len(board) == TRIALS
    assert board["mean"].iloc[:TOP].tolist() == table["mean"].tolist()
    assert pd.isna(board["mean"].iloc[-1])
    assert list(study.leaderboard()["value"]) == sorted(study.leaderboard()["value"])
    with pytest.raises(ValueError, match="rank_by"):
        study.leaderboard(rank_by="mean")


@pytest.mark.parametrize("argument", ["top", "repeats"])
@pytest.mark.parametrize("bad", [0, -1, "x"])
def test_bad_counts_name_the_argument(confirmed, argument, bad):
    study = confirmed[0]
    with pytest.raises(ValueError, match=argument):
        study.confirm(**{argument: bad}, progress=False)


def test_cli_prints_the_table_and_the_verdict(confirmed, tmp_path):
    study, _, _, table = confirmed
    done = run_hpsearch("confirm", study.storage_url, "--top", TOP, "--repeats", REPEATS,
                    "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["trial", "lr", "hidden"] and len(lines) == TOP + 2
    assert lines[-1] == verdict(table)
    assert len(_repeats(study)) == TOP * REPEATS  # reused, not trained again
    shown = run_hpsearch("show", study.storage_url, "--confirmed", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.strip().splitlines()[-1] == verdict(table)
    for bad in (["--top", "x"], ["--repeats", "0"]):
        failed = run_hpsearch("confirm", study.storage_url, *bad, cwd=tmp_path)
        assert failed.returncode == 2 and len(failed.stderr.strip().splitlines()) == 1
        assert bad[0] in failed.stderr


def test_top_beyond_the_completed_trials_and_an_interrupted_repeat(storage):
    study = _study(storage, "small")
    study.run(n_trials=2, progress=False)
    # A repeat left RUNNING by an interrupted confirm: the run loop must leave it alone.
    slot = study.best_trial["trial"]
    params = study.best_params
    records.create_running(study.storage, study.study_id, study.config.space, slot,
                           repeat_seed(0, slot, 0), params,
                           extra={records.CONFIRMS: slot, records.REPEAT: 0})
    study.run(n_trials=2, progress=False)
    assert len(study.results()) == 2 and [t.state for t in _repeats(study)] == [TrialState.RUNNING]
    assert not study.storage.get_study_system_attrs(study.study_id).get(records.REQUEUE)
    table = study.confirm(top=10, repeats=2, progress=False)
    assert len(table) == 2 and (table["n"] == 2).all()
    states = [t.state for t in _repeats(study)]
    assert states.count(TrialState.COMPLETE) == 4 and states.count(TrialState.FAIL) == 1
