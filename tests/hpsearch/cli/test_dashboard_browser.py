"""The dashboard in a real browser: a real run, ``hpsearch dashboard`` on its storage, the
study read from the DOM of headless Chromium (Debian's package, driven by selenium)."""

from __future__ import annotations

import optuna
import pytest
from helpers import browser
from helpers.cli import run_hpsearch
from optuna.trial import TrialState

SPEC = """
[study]
name = "watched"
dataset = "digits"
strategy = "random"
seed = 0
trials = 12
jobs = 2
storage = "sqlite:///watched.db"
epochs = 4
max_train = 300

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1

[space.hidden]
type = "choice"
values = [[16], [32]]
"""


@pytest.fixture
def needs_browser():
    lacks = browser.missing()
    if lacks and not browser.required():
        pytest.skip(f"the browser test needs {', '.join(lacks)}")
    assert not lacks, f"CI must provide {', '.join(lacks)} (see .ci/run)"


def test_the_dashboard_shows_every_trial_and_one_curve_per_finished_trial(tmp_path,
                                                                         needs_browser):
    (tmp_path / "watched.toml").write_text(SPEC)
    result = run_hpsearch("run", "watched.toml", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    study = optuna.load_study(study_name="watched", storage=f"sqlite:///{tmp_path}/watched.db")
    finished = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(study.trials) == 12 and finished
    page = f"studies/{study._study_id}"
    with browser.served("watched.db", tmp_path) as url, browser.chromium() as driver:
        driver.get(url + page)
        lines = browser.curve_lines(driver, len(finished))
        driver.save_screenshot(str(tmp_path / "study.png"))
        browser.save_curve_chart(driver, tmp_path / "curves.png")
        study_page = browser.page_text(driver, "history.png")
        driver.get(url + page + "/trials")
        listing = browser.page_text(driver, "12 Trials")
        driver.save_screenshot(str(tmp_path / "trials.png"))
        driver.get(url + page + "/note")
        note = browser.page_text(driver, "Leaderboard")
    assert lines == len(finished)
    assert "12 Trials" in listing
    assert all(f"Trial {t.number}\n" in listing for t in study.trials)
    # The plots and the kept models are listed on the study page; the note is shown.
    artifacts = study_page[study_page.index("Study Artifacts"):].splitlines()
    models = sorted(p.name for p in tmp_path.glob("watched.db.artifacts/*/models/*.npz"))
    assert {"history.png", "learning_curves.png", *models} <= set(artifacts) and models
    assert "classification on 'digits'" in note and "hpsearch run watched.toml" in note
    assert (tmp_path / "study.png").stat().st_size > 10_000
    assert (tmp_path / "curves.png").stat().st_size > 5_000
