"""The run options are declared once (hpsearch.run_options): Study.run's signature, the
spec's run keys and the run/confirm flags all agree with that declaration."""

from __future__ import annotations

import inspect

import hpsearch
from hpsearch.cli.parser import build_parser
from hpsearch.run_options import CONFIRM_OPTIONS, DEFAULT_TRIALS, REQUIRED, RUN_OPTIONS
from hpsearch.spec import STUDY_KEYS


def _keywords(method) -> dict:
    return {n: p.default for n, p in inspect.signature(method).parameters.items() if n != "self"}


def test_study_run_takes_exactly_the_declared_options_with_their_defaults():
    assert _keywords(hpsearch.Study.run) == {o.keyword: o.default for o in RUN_OPTIONS}
    assert list(_keywords(hpsearch.Study.run)) == [o.keyword for o in RUN_OPTIONS]
    assert RUN_OPTIONS[0].default is REQUIRED  # n_trials: the budget has no default


def test_study_confirm_takes_the_declared_confirm_options_with_their_defaults():
    confirm = _keywords(hpsearch.Study.confirm)
    for option in CONFIRM_OPTIONS:
        assert confirm[option.keyword] == option.default, option.keyword


def test_a_spec_sets_the_declared_run_options_with_their_types_and_defaults():
    declared = {o.key: o for o in RUN_OPTIONS if o.key is not None}
    assert set(declared) == {"trials", "jobs", "timeout", "backend", "max_consecutive_failures"}
    for key, option in declared.items():
        assert STUDY_KEYS[key] == (option.types, option.what, option.spec_default), key
    assert STUDY_KEYS["trials"][2] == DEFAULT_TRIALS


def _flags(command: str) -> dict[str, str]:
    parser = build_parser().commands[command]
    return {flag: action.help for action in parser._actions for flag in action.option_strings}


def test_the_run_and_confirm_commands_offer_each_declared_flag():
    run, confirm = _flags("run"), _flags("confirm")
    for option in RUN_OPTIONS:
        if option.flag is not None:
            assert run[option.flag] == option.help, option.flag
    for option in CONFIRM_OPTIONS:
        assert confirm[option.flag].startswith(option.help), option.flag
    assert {o.keyword for o in RUN_OPTIONS if o.flag} == {"n_trials", "n_jobs", "timeout",
                                                         "backend", "progress"}
