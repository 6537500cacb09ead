"""Option names and defaults have one source: the config dataclasses' fields."""

from __future__ import annotations

import dataclasses
import inspect
import textwrap

import pytest

import hpsearch
from hpsearch import space
from hpsearch.objective import ObjectiveConfig
from hpsearch.options import field_default, option_fields
from hpsearch.spec import STUDY_KEYS, load_spec
from hpsearch.study_config import StudyConfig

OPTIONS = {**option_fields(ObjectiveConfig), **option_fields(StudyConfig)}


def test_study_create_takes_every_option_with_its_field_default():
    params = inspect.signature(hpsearch.Study.create).parameters
    assert list(params)[:2] == ["name", "space"]
    for name, f in OPTIONS.items():
        expected = None if isinstance(field_default(f), dict) else field_default(f)  # None: {}
        if name == "dataset":  # no default: a study names its data (dataset= or data=)
            expected = None
        assert params[name].default == expected, name
    assert {"data", "storage", "load_if_exists"} <= set(params)


def test_study_create_refuses_an_unknown_keyword(tmp_path):
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(TypeError, match=r"Study.create\(\) got unknown options \['epoch'\]"):
        hpsearch.Study.create("s", space={"lr": space.log_float(1e-3, 1e-1)}, epoch=3,
                              storage=storage)


def test_spec_keys_share_the_fields_defaults():
    shared = set(STUDY_KEYS) & set(OPTIONS)
    assert shared == set(OPTIONS) - {"fixed", "strategy_options"}  # those two are tables
    for key in shared - {"dataset"}:  # a spec must name its dataset
        assert STUDY_KEYS[key][2] == field_default(OPTIONS[key]), key
    run = inspect.signature(hpsearch.Study.run).parameters
    assert STUDY_KEYS["jobs"][2] == run["n_jobs"].default
    assert STUDY_KEYS["backend"][2] == run["backend"].default


def test_a_spec_sets_every_option_create_takes(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(textwrap.dedent("""
        [study]
        name = "s"
        dataset = "digits"
        keep_models = 2
        round_size = 3
        [space.lr]
        type = "log_float"
        low = 1e-3
        high = 1e-1
    """))
    config = load_spec(path).config
    assert (config.objective.keep_models, config.round_size) == (2, 3)
    assert config.objective.epochs == ObjectiveConfig().epochs


def test_building_a_config_runs_no_code_and_checked_makes_the_creation_checks():
    raw = StudyConfig(space={"lr": space.log_float(1e-3, 1.0), "units": space.int(8, 32)},
                      objective=ObjectiveConfig(plugins=("no_such_plugin_module",)),
                      strategy="lr-range")
    assert "lr" in raw.space and raw.objective.range_test == {}  # not reshaped, not imported
    with pytest.raises(ValueError, match="plugin 'no_such_plugin_module' cannot be loaded"):
        raw.checked()
    checked = dataclasses.replace(raw, objective=ObjectiveConfig()).checked()
    assert "lr" not in checked.space and checked.objective.range_test
    assert checked.checked() == checked  # the reshaping is applied once
    assert StudyConfig.from_dict(checked.to_dict()) == checked


def test_the_confirm_command_names_study_confirms_defaults():
    """The command passes no count it was not given (Study.confirm's defaults apply);
    its help text, kept literal so the command starts without importing the study,
    names those defaults."""
    from hpsearch.cli.parser import build_parser

    confirm = build_parser()._subparsers._group_actions[0].choices["confirm"]
    helps = {a.dest: a.help for a in confirm._actions}
    defaults = inspect.signature(hpsearch.Study.confirm).parameters
    for option, parameter in (("top", "top"), ("repeats", "repeats"), ("jobs", "n_jobs")):
        assert helps[option].endswith(f"(default {defaults[parameter].default})"), option
