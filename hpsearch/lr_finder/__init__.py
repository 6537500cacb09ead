"""The learning-rate range test (Smith 2015, 2017): raise the rate every minibatch, watch the loss.

``lr_range_test`` trains a netcore MLP on successive minibatches while the
learning rate grows from ``lr_min`` to ``lr_max``, records the loss at every
step and stops once the loss diverges. The good region is where the loss falls
fastest without oscillating; three suggestion rules read it off the curve and
a confidence says how far they disagree. The model and optimizer are left
exactly as they were: the test is a measurement, not a training.

>>> import netcore, hpsearch
>>> data = netcore.load_dataset("digits")
>>> result = hpsearch.lr_range_test({"sizes": [64, 32, 10], "seed": 0}, data, num_iter=60)
>>> round(result.suggestion, 2), result.method, result.confidence   # doctest: +SKIP
(1.12, 'steepest', 'medium')
>>> fig = result.plot("lr_find.png")              # doctest: +SKIP

Learning rates (0-based step ``i`` of ``n = num_iter``)::

    exp:     lr_i = lr_min * (lr_max / lr_min) ** (i / (n - 1))
    linear:  lr_i = lr_min + (lr_max - lr_min) * (i / (n - 1))

so the first step uses ``lr_min`` and the last ``lr_max``. ``losses[i]`` is the
loss of minibatch ``i`` just before the step taken with ``lrs[i]``, as in
pytorch-lr-finder and fastai; ``val_losses[i]`` is measured just after it.
"""

from collections.abc import Mapping

from hpsearch.lr_finder.result import LRRangeResult
from hpsearch.lr_finder.rules import (
    CONFIDENCE_DECADES,
    MIN_POINTS,
    PREFERENCE,
    SUGGESTERS,
    Suggestions,
    smooth_curve,
    suggest,
    suggest_min_div_10,
    suggest_steepest,
    suggest_valley,
)
from hpsearch.lr_finder.run import (
    MODES,
    TRAIN_OPTIONS,
    RangeTestConfig,
    lr_range_test,
    lr_sequence,
    restored,
)

RANGE_TEST = "range_test"
"""The value of ``lr`` that asks the objective to pick the learning rate by a range test."""


def lr_by_range_test(settings: Mapping) -> bool:
    """True when ``settings`` leave the learning rate to a range test (``lr="range_test"``,
    as the lr-range strategy fixes it): the one test of that sentinel. It lives beside the
    sentinel rather than in the strategy, so that a worker's objective can ask without
    importing the strategies (and Optuna with them)."""
    return settings.get("lr") == RANGE_TEST

__all__ = [
    "CONFIDENCE_DECADES",
    "MIN_POINTS",
    "MODES",
    "PREFERENCE",
    "RANGE_TEST",
    "SUGGESTERS",
    "TRAIN_OPTIONS",
    "LRRangeResult",
    "RangeTestConfig",
    "Suggestions",
    "lr_by_range_test",
    "lr_range_test",
    "lr_sequence",
    "restored",
    "smooth_curve",
    "suggest",
    "suggest_min_div_10",
    "suggest_steepest",
    "suggest_valley",
]
