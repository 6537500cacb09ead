"""``hpsearch.tune``: one call from arrays (or a Dataset) to a finished study.

>>> from sklearn.datasets import load_breast_cancer
>>> X, y = load_breast_cancer(return_X_y=True)
>>> study = hpsearch.tune(X, y, n_trials=20, n_jobs=2)     # doctest: +SKIP
>>> model = study.best_model()                            # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping, Sequence

import netcore
from hpsearch import space as sp
from hpsearch.execution.loop import check_run_arguments
from hpsearch.storages.database import normalize_url
from hpsearch.storages.handle import list_studies
from hpsearch.study import Study
from hpsearch.study_config import create_arguments
from netcore.validation import check_options

# Batch sizes tried, smallest first; every epoch should take at least MIN_STEPS optimizer steps.
BATCH_LADDER = (8, 16, 32, 64, 128)
MIN_STEPS = 8
# Weight penalties tried; a table under SMALL_TABLE training rows also tries strong ones.
L2_CHOICES, STRONG_L2_CHOICES = (0.0, 1e-5, 1e-4, 1e-3), (0.0, 1e-4, 1e-3, 1e-2, 3e-2)
SMALL_TABLE = 512
# What ``default_space()`` assumes without data: a few thousand rows, a few dozen features.
GENERIC_ROWS, GENERIC_FEATURES = 2048, 32


def default_space(data: netcore.Dataset | None = None) -> dict:
    """A space that suits most small tabular problems: rate, widths, batch, penalty.

    With ``data`` (``tune`` passes its own) the space fits the table: the
    batch sizes give every epoch at least ``MIN_STEPS`` optimizer steps on
    its training rows (106 rows get batches of 8 to 32, not one step of 128),
    fewer than ``SMALL_TABLE`` rows may take the strong ``l2`` penalties they
    need, and the widths grow with the number of features. Without, a generic
    space for a few thousand rows and a few dozen features.

    >>> default_space()["batch_size"].values
    (32, 64, 128)
    """
    rows, features = (GENERIC_ROWS, GENERIC_FEATURES) if data is None \
        else (len(data.X_train), data.n_features)
    return {"lr": sp.log_float(1e-4, 1e-1),
            "hidden": sp.choice(_widths(features)),
            "batch_size": sp.choice(_batch_sizes(rows)),
            "l2": sp.choice(list(STRONG_L2_CHOICES if rows < SMALL_TABLE else L2_CHOICES))}


def _batch_sizes(rows: int) -> list[int]:
    """The three largest batch sizes of the ladder that leave ``MIN_STEPS`` steps an epoch
    (the three smallest when even those do not)."""
    fitting = [b for b in BATCH_LADDER if rows // b >= MIN_STEPS]
    return fitting[-3:] if len(fitting) >= 3 else list(BATCH_LADDER[:3])


def _widths(features: int) -> list[list[int]]:
    """One and two hidden layers around the power of two at or above ``features`` (64 to 256)."""
    base = min(max(64, 1 << max(features - 1, 1).bit_length()), 256)
    return [[base // 2], [base], [base * 2], [base, base // 2], [base * 2, base]]


def _free_name(storage: str, prefix: str = "tune") -> str:
    taken = set(list_studies(storage))
    return next(name for i in itertools.count()
                if (name := prefix if i == 0 else f"{prefix}-{i}") not in taken)


def tune(X, y=None, *, space: Mapping | None = None, n_trials: int = 30, n_jobs: int = 1,
         strategy: str = "tpe", metric: str | Sequence[str] = "val_loss", epochs: int = 50,
         patience: int | None = 10,
         storage: str = "memory", name: str | None = None, seed: int = 0,
         progress: bool = True, task: str | None = None, **create_options) -> Study:
    """Search an MLP for the data ``(X, y)`` (or a ``netcore.Dataset`` as ``X``) and
    return the finished study: ``study.best_params``, ``study.best_model()``.

    ``space`` defaults to ``default_space(data)``, a space fitted to the data.
    The study lives in memory unless ``storage`` names a file or database
    (then ``name`` lets a later call resume it); ``create_options`` go to
    ``Study.create`` (``fixed``, ``keep_models``, ...). ``patience`` is
    ``Study.create``'s, longer by default: a validation split of a few dozen
    rows is noisy from one epoch to the next. ``task`` (``"classification"`` or
    ``"regression"``) overrides the task read from ``y`` (see ``Dataset.from_arrays``).
    """
    check_options(create_options, _arguments(), what="tune() got unknown options",
                  allows="its arguments:", error=TypeError)
    check_run_arguments(n_trials=n_trials, n_jobs=n_jobs)
    data = _data(X, y, task)
    storage = normalize_url(storage)
    study = Study.create(name or _free_name(storage), space=dict(space or default_space(data)),
                         data=data, strategy=strategy, metric=metric, epochs=epochs, patience=patience,
                         storage=storage, seed=seed, load_if_exists=name is not None,
                         **create_options)
    study.run(n_trials=n_trials, n_jobs=n_jobs, progress=progress)
    return study


def _arguments() -> list[str]:
    """tune's own keywords and the ``Study.create`` options it passes on (not the data:
    ``X`` and ``y`` are the data)."""
    own = [p for p in inspect.signature(tune).parameters if p not in ("X", "y", "create_options")]
    return [*own, *(a for a in create_arguments() if a not in ("data", "dataset", "load_if_exists"))]


def _data(X, y, task: str | None) -> netcore.Dataset:
    """``X`` when it is a Dataset (whose task must be ``task``, if given), else ``(X, y)``
    split as ``Dataset.from_arrays`` does."""
    if not (isinstance(X, netcore.Dataset) and y is None):
        return netcore.Dataset.from_arrays(X, y, task=task)
    if task is not None and task != X.task:
        raise ValueError(f"task={task!r}, but the Dataset was built for {X.task!r}; pass "
                         "task= to Dataset.from_arrays (or from_csv, ...) instead")
    return X
