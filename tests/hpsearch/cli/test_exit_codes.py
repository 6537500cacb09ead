"""The command line's one map from errors to exit codes covers every error a user catches."""

from __future__ import annotations

from hpsearch import errors
from hpsearch.cli.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, outcome_of


def test_every_error_a_user_catches_has_its_exit_code():
    made = {errors.StorageUnreachableError: ("sqlite:///x.db", "down"),
            errors.RunInterrupted: (3,)}
    expected = {errors.AllTrialsFailedError: EXIT_FAILED, errors.TooManyFailuresError: EXIT_FAILED,
                errors.TrialTimeoutError: EXIT_FAILED, errors.RunInterrupted: EXIT_INTERRUPTED}
    classes = [c for c in vars(errors).values() if isinstance(c, type)
               and issubclass(c, BaseException) and c.__module__ == errors.__name__]
    assert len(classes) == 8
    for cls in classes:
        outcome = outcome_of(cls(*made.get(cls, ("message",))))
        assert outcome is not None and outcome.code == expected.get(cls, EXIT_BAD_INPUT), cls
    assert outcome_of(RuntimeError("a bug")) is None  # keeps its traceback
