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

import optuna

import netcore
from hpsearch import space as sp
from hpsearch.execution.loop import check_run_arguments
from hpsearch.storages.database import normalize_url, open_storage
from hpsearch.study import Study, create_arguments
from netcore.validation import check_options


def default_space() -> dict:
    """A space that suits most small tabular problems: rate, widths, batch, penalty."""
    return {"lr": sp.log_float(1e-4, 3e-2),
            "hidden": sp.choice([[32], [64], [128], [64, 32], [128, 64]]),
            "batch_size": sp.choice([32, 64, 128]),
            "l2": sp.choice([0.0, 1e-5, 1e-4, 1e-3])}


def _free_name(storage: str, prefix: str = "tune") -> str:
    taken = {s.study_name for s in optuna.get_all_study_summaries(open_storage(storage))}
    return next(name for i in itertools.count()
                if (name := prefix if i == 0 else f"{prefix}-{i}") not in taken)


def tune(X, y=None, *, space: Mapping | None = None, n_trials: int = 30, n_jobs: int = 1,
         strategy: str = "tpe", metric: str | Sequence[str] = "val_loss", epochs: int = 50,
         storage: str = "memory", name: str | None = None, seed: int = 0,
         progress: bool = True, task: str | None = None, **create_options) -> Study:
    """Search an MLP for the data ``(X, y)`` (or a ``netcore.Dataset`` as ``X``) and
    return the finished study: ``study.best_params``, ``study.best_model()``.

    ``space`` defaults to ``default_space()``. The study lives in memory unless
    ``storage`` names a file or database (then ``name`` lets a later call
    resume it); ``create_options`` go to ``Study.create`` (``fixed``,
    ``patience``, ``keep_models``, ...). ``task`` (``"classification"`` or
    ``"regression"``) overrides the task read from ``y`` (see ``Dataset.from_arrays``).
    """
    check_options(create_options, _arguments(), what="tune() got unknown options",
                  allows="its arguments:", error=TypeError)
    check_run_arguments(n_trials=n_trials, n_jobs=n_jobs)
    data = _data(X, y, task)
    storage = normalize_url(storage)
    study = Study.create(name or _free_name(storage), space=dict(space or default_space()),
                         data=data, strategy=strategy, metric=metric, epochs=epochs,
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
