"""hpsearch: hyperparameter search over netcore MLPs.

>>> import hpsearch
>>> from hpsearch import space
>>> study = hpsearch.Study.create("demo", dataset="digits", strategy="tpe",
...                               space={"lr": space.log_float(1e-4, 1e-1)},
...                               storage="sqlite:///runs.db", seed=0)
>>> df = study.run(n_trials=20, n_jobs=2)

These names are the user's surface: a study, a one-call search, the search-space
DSL, the LR range test, the strategy names, and the errors a user catches. The
rest lives in its module (``hpsearch.objective.ObjectiveConfig``,
``hpsearch.strategies.get_strategy``, ...).

The public names are imported on first use (PEP 562): a trial's worker process
imports ``hpsearch.execution.runner`` and so this package, and should not pay for the
study, storage and pandas imports it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what IDEs and type checkers see: the names of _EXPORTS (``as``: re-exported)
    from hpsearch import space as space
    from hpsearch import tuning as tuning
    from hpsearch.errors import AllTrialsFailedError as AllTrialsFailedError
    from hpsearch.errors import DiskFullError as DiskFullError
    from hpsearch.errors import RunInterrupted as RunInterrupted
    from hpsearch.errors import SpecError as SpecError
    from hpsearch.errors import StorageUnreachableError as StorageUnreachableError
    from hpsearch.errors import StudyDeletedError as StudyDeletedError
    from hpsearch.errors import TooManyFailuresError as TooManyFailuresError
    from hpsearch.errors import TrialTimeoutError as TrialTimeoutError
    from hpsearch.lr_finder import LRRangeResult as LRRangeResult
    from hpsearch.lr_finder import lr_range_test as lr_range_test
    from hpsearch.space.searchspace import SearchSpace as SearchSpace
    from hpsearch.strategies import STRATEGIES as STRATEGIES
    from hpsearch.study import Study as Study
    from hpsearch.tuning import tune as tune

# Public name -> the module that defines it (``space`` and ``tuning`` are modules).
_EXPORTS = {
    "Study": "hpsearch.study",
    "tune": "hpsearch.tuning",
    "tuning": "hpsearch.tuning",
    "space": "hpsearch.space",
    "SearchSpace": "hpsearch.space.searchspace",
    "lr_range_test": "hpsearch.lr_finder",
    "LRRangeResult": "hpsearch.lr_finder",
    "STRATEGIES": "hpsearch.strategies",
    "SpecError": "hpsearch.errors",
    "StorageUnreachableError": "hpsearch.errors",
    "AllTrialsFailedError": "hpsearch.errors",
    "TooManyFailuresError": "hpsearch.errors",
    "RunInterrupted": "hpsearch.errors",
    "DiskFullError": "hpsearch.errors",
    "StudyDeletedError": "hpsearch.errors",
    "TrialTimeoutError": "hpsearch.errors",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name == "__version__":
        return _version()
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hpsearch' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    # a module itself (space, tuning), else the name it defines
    value = module if _EXPORTS[name] == f"hpsearch.{name}" else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


def _version() -> str:
    """The installed distribution's version (its package metadata: one source)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hpsearch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__, "__version__"])
