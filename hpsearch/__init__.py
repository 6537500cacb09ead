"""hpsearch: hyperparameter search over netcore MLPs.

>>> import hpsearch
>>> from hpsearch import space
>>> study = hpsearch.Study.create("demo", dataset="digits", strategy="tpe",
...                               space={"lr": space.log_float(1e-4, 1e-1)},
...                               storage="sqlite:///runs.db", seed=0)
>>> df = study.run(n_trials=20, n_jobs=2)
"""

from hpsearch import space
from hpsearch.lr_finder import LRRangeResult, lr_range_test
from hpsearch.objective import ObjectiveConfig
from hpsearch.searchspace import SearchSpace
from hpsearch.strategies import STRATEGIES, Strategy, get_strategy
from hpsearch.study import AllTrialsFailedError, Study, StudyConfig, TooManyFailuresError
from hpsearch.trial import TrialResult

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
