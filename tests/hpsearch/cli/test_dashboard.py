"""``hpsearch dashboard`` and ``run --dashboard``: optuna-dashboard served on a study's storage."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from helpers import browser
from helpers.cli import hpsearch_command, run_hpsearch

import hpsearch
from hpsearch import space
from hpsearch.results.publish import publish


@pytest.fixture
def needs_extra():
    if "optuna_dashboard" in browser.missing() and not browser.required():
        pytest.skip("needs the dashboard extra (optuna-dashboard)")


def _study(tmp_path, trials: int = 2) -> hpsearch.Study:
    study = hpsearch.Study.create("d", dataset="digits", space={"lr": space.log_float(1e-3, 1e-1)},
                                  epochs=2, max_train=300, seed=0,
                                  storage=f"sqlite:///{tmp_path}/d.db")
    if trials:
        study.run(n_trials=trials, progress=False)
    return study


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_the_dashboard_serves_the_studies_and_their_artifacts_on_localhost(tmp_path,
                                                                          needs_extra):
    study = _study(tmp_path)
    plot = tmp_path / "history.png"
    plot.write_bytes(b"\x89PNG a plot")
    publish(study, [plot])
    artifact = next(json.loads(v) for k, v in study.handle.system_attrs().items()
                    if k.startswith("artifacts:") and json.loads(v)["filename"] == "history.png")
    with browser.served("d.db", tmp_path) as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/dashboard/")
        root = url.removesuffix("dashboard/")
        studies = json.loads(_get(root + "api/studies"))["study_summaries"]
        assert [s["study_name"] for s in studies] == ["d"]
        got = _get(f"{root}artifacts/{study.handle.study_id}/{artifact['artifact_id']}")
        assert got == plot.read_bytes()


def test_without_the_extra_it_says_what_to_install(tmp_path):
    _study(tmp_path, trials=0)
    # optuna-dashboard made missing for real: a module of that name that cannot be imported.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "optuna_dashboard.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'optuna_dashboard'\")\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(shadow), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = run_hpsearch("dashboard", "d.db", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hpsearch: error: hpsearch dashboard needs optuna-dashboard: "
        "pip install 'hpsearch[dashboard]'"]


@pytest.mark.parametrize(("args", "says"), [
    (["missing.db"], "no storage file at"),
    (["memory"], "a dashboard needs a storage that outlives a command"),
    (["d.db", "--port", "70000"], "--port must be 0 to 65535, got 70000"),
])
def test_a_storage_or_port_it_cannot_serve_is_one_line(tmp_path, needs_extra, args, says):
    _study(tmp_path, trials=0)
    result = run_hpsearch("dashboard", *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]
    assert not (tmp_path / "missing.db").exists()


def test_a_taken_port_is_one_line(tmp_path, needs_extra):
    _study(tmp_path, trials=0)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_hpsearch("dashboard", "d.db", "--port", port, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"hpsearch: error: cannot listen on 127.0.0.1:{port}: Address already in use"]


RUN_SPEC = """
[study]
name = "beside"
dataset = "digits"
strategy = "random"
trials = 16
storage = "sqlite:///beside.db"
epochs = 8
max_train = 300

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_run_dashboard_serves_the_study_while_it_runs_and_stops_with_it(tmp_path,
                                                                        needs_extra):
    (tmp_path / "beside.toml").write_text(RUN_SPEC)
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api/studies"
    run = subprocess.Popen([*hpsearch_command(), "run", "beside.toml", "--no-progress",
                            "--dashboard", "--dashboard-port", str(port)], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    served = None
    while served is None and run.poll() is None:
        try:
            served = json.loads(_get(api))["study_summaries"]
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert served is not None, "the dashboard never answered while the study ran"
    assert [s["study_name"] for s in served] == ["beside"]
    assert f"optuna-dashboard: http://127.0.0.1:{port}/dashboard/ (while the run lasts)" in out
    with pytest.raises(urllib.error.URLError):  # it ended with the run
        _get(api)
