"""hpsearch: hyperparameter search over netcore MLPs.

>>> import hpsearch
>>> from hpsearch import space
>>> study = hpsearch.Study.create("demo", dataset="digits", strategy="tpe",
...                               space={"lr": space.log_float(1e-4, 1e-1)},
...                               storage="sqlite:///runs.db", seed=0)
>>> df = study.run(n_trials=20, n_jobs=2)

The public names are imported on first use (PEP 562): a trial's worker process
imports ``hpsearch.runner`` and so this package, and should not pay for the
study, storage and pandas imports it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Public name -> the module that defines it.
_EXPORTS = {
    "STRATEGIES": "hpsearch.strategies",
    "AllTrialsFailedError": "hpsearch.study",
    "LRRangeResult": "hpsearch.lr_finder",
    "ObjectiveConfig": "hpsearch.objective",
    "SearchSpace": "hpsearch.searchspace",
    "Strategy": "hpsearch.strategies",
    "Study": "hpsearch.study",
    "StudyConfig": "hpsearch.study",
    "TooManyFailuresError": "hpsearch.study",
    "TrialResult": "hpsearch.trial",
    "get_strategy": "hpsearch.strategies",
    "lr_range_test": "hpsearch.lr_finder",
}

__all__ = [
    "STRATEGIES",
    "AllTrialsFailedError",
    "LRRangeResult",
    "ObjectiveConfig",
    "SearchSpace",
    "Strategy",
    "Study",
    "StudyConfig",
    "TooManyFailuresError",
    "TrialResult",
    "get_strategy",
    "lr_range_test",
    "space",
]


def __getattr__(name: str):
    if name == "space":
        return importlib.import_module("hpsearch.space")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'hpsearch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from hpsearch import space
    from hpsearch.lr_finder import LRRangeResult, lr_range_test
    from hpsearch.objective import ObjectiveConfig
    from hpsearch.searchspace import SearchSpace
    from hpsearch.strategies import STRATEGIES, Strategy, get_strategy
    from hpsearch.study import AllTrialsFailedError, Study, StudyConfig, TooManyFailuresError
    from hpsearch.trial import TrialResult
