"""A plugin whose trials sleep: a stand-in for work done elsewhere, for the scaling benchmark.

Loaded in each worker with ``plugins=[<this file>]``, it registers the weight
initializer ``"sleep"``, which sleeps ``HPSEARCH_SLEEP_TRIAL_SECONDS`` (default 1)
and then initializes as ``"he"`` does. A net without hidden layers has one
weight matrix, so a trial with ``init="sleep"`` and ``hidden=[]`` sleeps once,
when its model is built: its worker is idle (as one waiting on a remote GPU
would be) and its driver does all its usual work.
"""

from __future__ import annotations

import os
import time

import numpy as np

from netcore.init import INITIALIZERS, he_normal

ENV = "HPSEARCH_SLEEP_TRIAL_SECONDS"


def sleep_then_he(w: np.ndarray, rng: np.random.Generator) -> None:
    """Sleep the trial's seconds, then fill ``w`` as ``he`` does."""
    time.sleep(float(os.environ.get(ENV, "1")))
    he_normal(w, rng)


INITIALIZERS["sleep"] = sleep_then_he
