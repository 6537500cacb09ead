"""The objective: one parameter set in, one trained netcore model's metrics out.

A parameter set mixes model options (``activation``, ``init``, ...), training
options (``optimizer``, ``lr``, ``batch_size``, ...) and the architecture
(``hidden`` as a list of widths, or ``n_layers`` with ``units``). Fixed
settings of the study fill whatever the parameters leave out.

The modules, one job each: ``config`` (what every trial shares), ``plugins``,
``data``, ``training`` (build and train one net), ``holdout`` and
``cross_validation`` (a trial's record), ``scores``, ``saving``, ``range_test``
(the lr-range strategy's trials), ``evaluation`` (the entry a worker calls) and
``refitting``. Import the names below from this package.
"""

from __future__ import annotations

from hpsearch.errors import TrialTimeoutError  # a trial past its deadline raises it
from hpsearch.objective.config import (
    ARCHITECTURE_KEYS,
    ObjectiveConfig,
    fit_keys,
    model_keys,
    parameter_names,
)
from hpsearch.objective.data import TrialFiles, load_data
from hpsearch.objective.evaluation import evaluate
from hpsearch.objective.plugins import load_plugins, plugin_names
from hpsearch.objective.refitting import refit
from hpsearch.objective.training import (
    DivergedError,
    build_model,
    hidden_sizes,
    model_config,
    split_settings,
    train_once,
)

__all__ = ["ARCHITECTURE_KEYS", "DivergedError", "ObjectiveConfig", "TrialFiles",
           "TrialTimeoutError", "build_model", "evaluate", "fit_keys", "hidden_sizes",
           "load_data", "load_plugins", "model_config", "model_keys", "parameter_names",
           "plugin_names", "refit", "split_settings", "train_once"]
