"""hpsearch: hyperparameter search over netcore MLPs.

>>> import hpsearch
>>> from hpsearch import space
>>> study = hpsearch.Study.create("demo", dataset="digits", strategy="tpe",
...                               space={"lr": space.log_float(1e-4, 1e-1)},
...                               storage="sqlite:///runs.db", seed=0)
>>> df = study.run(n_trials=20, n_jobs=2)

The public names are imported on first use (PEP 562): a trial's worker process
imports ``hpsearch.execution.runner`` and so this package, and should not pay for the
study, storage and pandas imports it never uses.
"""

from __future__ import annotations

import importlib

# Public name -> the module that defines it (``space`` is a module itself).
_EXPORTS = {
    "STRATEGIES": "hpsearch.strategies",
    "AllTrialsFailedError": "hpsearch.errors",
    "LRRangeResult": "hpsearch.lr_finder",
    "ObjectiveConfig": "hpsearch.objective",
    "SearchSpace": "hpsearch.space.searchspace",
    "Strategy": "hpsearch.strategies",
    "Study": "hpsearch.study",
    "StudyConfig": "hpsearch.study",
    "TooManyFailuresError": "hpsearch.errors",
    "RunInterrupted": "hpsearch.errors",
    "TrialResult": "hpsearch.trial",
    "get_strategy": "hpsearch.strategies",
    "lr_range_test": "hpsearch.lr_finder",
    "space": "hpsearch.space",
    "tune": "hpsearch.tuning",
    "tuning": "hpsearch.tuning",
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
