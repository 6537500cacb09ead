"""TOML specs: every parameter kind, and errors that name the file and the key."""

from __future__ import annotations

import textwrap

import pytest

from hpsearch import space
from hpsearch.errors import SpecError
from hpsearch.objective import ObjectiveConfig
from hpsearch.spec import load_spec
from hpsearch.study_config import StudyConfig

FULL = """
[study]
name = "full"
dataset = "spirals"
strategy = "grid"
seed = 7
metric = "val_accuracy"
trials = 12
jobs = 2
timeout = 30.5
pruner = "median"
epochs = 9
patience = 3

[fixed]
optimizer = "momentum"
batch_size = 64

[strategy_options]
points = 2

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1

[space.units]
type = "int"
low = 8
high = 64
step = 8

[space.n_layers]
type = "log_int"
low = 1
high = 4

[space.momentum]
type = "normal"
mu = 0.9
sigma = 0.05
low = 0.5
high = 0.99

[space.activation]
type = "choice"
values = ["relu", "tanh"]

[space.leaky]
type = "float"
low = 0.01
high = 0.3
when = { activation = ["relu"] }

[space.init]
type = "fixed"
value = "he"

[space.bias_init]
type = "choice"
values = ["zeros", "normal"]
"""


def _write(tmp_path, text: str):
    path = tmp_path / "spec.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_spec_equals_the_same_study_built_in_python(tmp_path):
    spec = load_spec(_write(tmp_path, FULL.replace("[space.leaky]", "[space.l2]")))
    python = StudyConfig(
        space={"lr": space.log_float(1e-3, 1e-1), "units": space.int(8, 64, step=8),
               "n_layers": space.log_int(1, 4),
               "momentum": space.normal(0.9, 0.05, low=0.5, high=0.99),
               "activation": space.choice(["relu", "tanh"]),
               "l2": space.float(0.01, 0.3, when={"activation": ["relu"]}),
               "init": space.fixed("he"), "bias_init": space.choice(["zeros", "normal"])},
        objective=ObjectiveConfig(dataset="spirals", metric="val_accuracy", epochs=9,
                                  patience=3, fixed={"optimizer": "momentum", "batch_size": 64}),
        strategy="grid", strategy_options={"points": 2}, seed=7, pruner="median")
    assert spec.config.to_dict() == python.to_dict()
    assert spec.name == "full"
    assert spec.run == {"trials": 12, "jobs": 2, "timeout": 30.5, "storage": None,
                        "backend": "loky", "max_consecutive_failures": None}


@pytest.mark.parametrize("text, match", [
    ("[study]\nname='x'\ndataset='digits'\ncolour='red'\n[space.lr]\ntype='float'\nlow=0\nhigh=1",
     r"unknown key\(s\) \['study.colour'\]; \[study\] allows"),
    ("[study]\nname='x'\ndataset='digits'\ntrials='ten'\n[space.lr]\ntype='float'\nlow=0\nhigh=1",
     "study.trials must be an integer, got 'ten'"),
    ("[study]\nname='x'\ndataset='digits'\ntrials=true\n[space.lr]\ntype='float'\nlow=0\nhigh=1",
     "study.trials must be an integer"),
    ("[study]\nname='x'\n[space.lr]\ntype='float'\nlow=0\nhigh=1", "study.dataset is required"),
    ("[study]\nname='x'\ndataset='cifar'\n[space.lr]\ntype='float'\nlow=0\nhigh=1",
     "'dataset' parameter must be one of"),
    ("[study]\nname='x'\ndataset='digits'\n[space.lr]\ntype='float'\nlow=1\nhigh=0",
     r"space.lr: `low < high` must hold"),
    ("[study]\nname='x'\ndataset='digits'\n[space.lr]\ntype='uniform'\nlow=0\nhigh=1",
     r"space.lr.type must be one of \['choice'"),
    ("[study]\nname='x'\ndataset='digits'\n[space.lr]\ntype='float'\nlow=0\nhigh=1\nq=2",
     r"unknown key\(s\) \['space.lr.q'\]"),
    ("[study]\nname='x'\ndataset='digits'\n[space.learning_rate]\ntype='float'\nlow=0\nhigh=1",
     r"unknown parameter name\(s\) \['learning_rate'\]"),
    ("[study]\nname='x'\ndataset='digits'\n[spaces.lr]\ntype='float'", r"unknown table\(s\)"),
    ("[study]\nname='x'\ndataset='digits'\n", "needs a \\[space\\]"),
    ("[study]\nname='x'\ndataset='digits'\n[fixed]\nlearning_rate=1\n[space.lr]\ntype='float'"
     "\nlow=0.1\nhigh=1", r"unknown fixed setting\(s\) \['learning_rate'\]"),
    ("[study\nname='x'", "not valid TOML"),
])
def test_bad_specs_name_the_file_and_key(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError, match=match) as info:
        load_spec(path)
    assert str(path) in str(info.value)


def test_plain_values_in_space_are_fixed(tmp_path):
    spec = load_spec(_write(tmp_path, "[study]\nname='x'\ndataset='digits'\n[space]\nepochs=3\n"
                                      "[space.lr]\ntype='log_float'\nlow=0.001\nhigh=0.1\n"))
    assert spec.config.space["epochs"] == space.fixed(3)


def test_plugin_paths_are_relative_to_the_spec(tmp_path):
    (tmp_path / "plug.py").write_text("X = 1\n")
    spec = load_spec(_write(tmp_path, "[study]\nname='x'\ndataset='digits'\nplugins=['plug.py']\n"
                                      "[space.lr]\ntype='log_float'\nlow=0.001\nhigh=0.1\n"))
    assert spec.config.objective.plugins == (str(tmp_path / "plug.py"),)
