"""Small studies the fault tests share: a study on the fault plugin, its trials' states,
a driver process running it, and a study whose plugin is a file of the test's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
from helpers.paths import DRIVER, FAULTS

import hpsearch
from hpsearch import space

HARMLESS_PLUGIN = """
import netcore
from netcore.activations import ReLU

class Harmless(ReLU):
    name = "harmless"

netcore.ACTIVATIONS["harmless"] = Harmless
"""


def fault_study(storage, dims, name="r", **kwargs):
    """A small random-search study on spirals whose activations may inject faults."""
    options = {"dataset": "spirals", "strategy": "random", "epochs": 2, "seed": 2,
               "plugins": [FAULTS], "max_train": 300, **kwargs}
    return hpsearch.Study.create(name, storage=storage, space=dims, **options)


def trial_states(storage, name="r") -> dict[str, int]:
    """How many trials of the study are in each state, read straight from Optuna."""
    study = optuna.load_study(study_name=name, storage=storage)
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def start_driver(storage, n_trials=10, n_jobs=1, strategy="random", name="k"):
    """A driver process running the study ``name`` (``helpers/driver.py``)."""
    return subprocess.Popen([sys.executable, DRIVER, storage, name, str(n_trials), str(n_jobs),
                             strategy, FAULTS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def driver_succeeds(proc: subprocess.Popen, timeout: float = 600) -> None:
    """The driver process ran its study to the end ("DONE" on its output)."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0 and "DONE" in out, err


def study_trials(storage, name="k") -> list:
    """Every stored trial of the study ``name``, as Optuna holds them."""
    study = hpsearch.Study.load(name, storage)
    return study.storage.get_all_trials(study.study_id, deepcopy=False)


def plugin_study(tmp_path: Path, n_trials: int = 1) -> tuple[str, Path]:
    """A study created with a harmless plugin; returns its storage URL and plugin file."""
    plugin = tmp_path / "harmless.py"
    plugin.write_text(HARMLESS_PLUGIN)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = hpsearch.Study.create("p", dataset="spirals", storage=url, epochs=1, max_train=100,
                                  space={"lr": space.log_float(1e-3, 1e-1),
                                         "activation": space.fixed("harmless")},
                                  plugins=[str(plugin)])
    if n_trials:
        study.run(n_trials=n_trials, progress=False)
    return url, plugin
