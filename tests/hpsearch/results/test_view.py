"""A study shows itself: an escaped HTML summary in a notebook, one informative line as
its repr; the budget, the best trial or the Pareto set, the leaderboard's head, and what
it says when there is nothing yet or the storage cannot be read."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from helpers.pgserver import postgres_or_skip

import hpsearch
from hpsearch import space

HOSTILE = "<script>alert('x')</script> & <b>co</b>"


class Page(HTMLParser):
    """The tags, the tables (rows of cell texts, entities decoded) and the text of a page."""

    def __init__(self, markup: str):
        super().__init__()
        self.tags, self.tables, self.text = [], [], []
        self.cell: list[str] | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        (self.cell if self.cell is not None else self.text).append(data)

    def summary(self) -> dict[str, str]:
        return dict(self.tables[0])


def _create(name: str, storage: str, **settings) -> hpsearch.Study:
    return hpsearch.Study.create(
        name, dataset="digits", strategy="random", storage=storage,
        space={"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[8], [16, 8]])},
        epochs=2, max_train=200, seed=0, **settings)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("a<b>&c")  # a path a user chose, with markup in it
    study = _create(HOSTILE, f"sqlite:///{folder / 'view.db'}")
    study.run(n_trials=7, progress=False)
    return study


def test_the_html_view_escapes_every_user_string(study):
    page = Page(study._repr_html_())
    assert "script" not in page.tags and page.tags.count("b") == 1  # the view's own title
    assert repr(HOSTILE) in "".join(page.text)
    assert page.summary()["storage"] == study.storage_url and "a<b>&c" in study.storage_url


def test_the_html_view_shows_the_budget_the_best_trial_and_the_leaderboard_head(study):
    page = Page(study._repr_html_())
    summary = page.summary()
    assert summary["data"] == "digits (classification)"
    assert summary["objective"] == "val_loss (minimize)" and summary["strategy"] == "random"
    assert summary["trials"] == "7 of 7 finished (n_trials of the latest run)"
    best = study.best_trial
    assert summary["best value"] == f"{best['value']:.6g} (val_loss, trial {best['trial']})"
    assert summary["best parameters"] == ", ".join(f"{k}={v!r}" for k, v in best["params"].items())
    header, *rows = page.tables[1]
    assert header[:2] == ["trial", "value"] and {"lr", "hidden", "val_accuracy"} <= set(header)
    assert [int(r[0]) for r in rows] == list(study.leaderboard(5)["trial"])  # 5 of 7, best first


def test_the_repr_names_the_study_its_storage_objective_and_budget(study):
    line = repr(study)
    assert line.startswith(f"<Study {HOSTILE!r} in {study.storage_url}: digits classification")
    assert "val_loss (minimize), random, 7 of 7 finished" in line and "\n" not in line


def test_a_study_without_trials_shows_no_best_and_no_table(tmp_path):
    study = _create("empty", f"sqlite:///{tmp_path / 'e.db'}")
    page = Page(study._repr_html_())
    assert len(page.tables) == 1  # the summary alone
    assert page.summary()["trials"] == "0 finished"  # no run yet: no budget to count against
    assert page.summary()["best"] == "no trial has completed yet"
    assert repr(study).endswith("random, 0 finished>")


def test_a_multi_objective_study_shows_its_pareto_set_instead_of_a_best_trial(tmp_path):
    study = _create("two", f"sqlite:///{tmp_path / 'm.db'}", metric=["val_loss", "n_params"])
    study.run(n_trials=4, progress=False)
    page = Page(study._repr_html_())
    summary = page.summary()
    front = study.best_trials
    assert "best value" not in summary
    assert summary["Pareto set"] == f"{len(front)} trials (no single best trial)"
    assert summary["objective"] == "val_loss (minimize), n_params (minimize)"
    pareto, board = page.tables[1], page.tables[2]
    assert pareto[0][:3] == ["trial", "val_loss", "n_params"]
    assert [int(r[0]) for r in pareto[1:]] == list(front["trial"])
    assert len(board) == 1 + 4  # every complete trial, ranked by the first objective


def test_a_deleted_study_is_shown_with_the_reason_not_a_traceback(tmp_path):
    storage = f"sqlite:///{tmp_path / 'd.db'}"
    study = _create("gone", storage)
    hpsearch.Study.delete("gone", storage)
    gone = "unreadable: the study is no longer in its storage (deleted)"
    assert Page(study._repr_html_()).summary()["trials"] == gone
    assert repr(study).endswith(f", trials {gone}>")


@pytest.fixture(scope="module")
def postgres_url():
    yield from postgres_or_skip()


def test_a_postgresql_password_is_masked(postgres_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the study's folder of a server storage
    url = postgres_url.replace("postgres@", "postgres:s3cret-pw@")  # trust: any password works
    study = _create("pg", url)
    shown = Page(study._repr_html_()).summary()["storage"]
    assert "s3cret-pw" not in study._repr_html_() and "s3cret-pw" not in repr(study)
    assert shown == url.replace("s3cret-pw", "***")


def test_the_budget_counts_the_finished_trials_against_the_latest_runs_n_trials(tmp_path):
    study = _create("short", f"sqlite:///{tmp_path / 's.db'}")
    study.run(n_trials=50, timeout=0.5, progress=False)  # the deadline stops it short
    finished = study.finished_trials()
    assert finished < 50
    expected = f"{finished} of 50 finished (n_trials of the latest run)"
    assert Page(study._repr_html_()).summary()["trials"] == expected
    assert repr(study).endswith(f", {expected}>")
