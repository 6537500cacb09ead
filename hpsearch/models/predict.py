"""Predictions of a saved model on a data file: ``hpsearch predict model.npz rows.csv``.

The model file carries the preprocessing of the data it was trained on (feature
columns, standardization, class labels, target scaling), and the model answers
raw rows with it (``MLP.predict``): raw rows go in and the user's own labels
(or the target's units) come out. This module only reads the file and names
the columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import netcore
from netcore.data.tabular import shown
from netcore.safe_npz import NpzArchive

_READERS = {".csv": ",", ".tsv": "\t"}


def read_rows(path: str | Path, *, header: bool = True) -> pd.DataFrame | np.ndarray:
    """The rows of a .csv/.tsv/.parquet table (a DataFrame) or of an .npz's ``X``.

    With ``header=False`` a .csv/.tsv file's first line is a row of data and the
    columns are taken in the order the model was trained on.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for another file type, or an .npz without ``X``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no data file at {path}")
    suffix = path.suffix.lower()
    if suffix in _READERS:
        rows = pd.read_csv(path, sep=_READERS[suffix], header=0 if header else None)
        if rows.empty:
            raise ValueError(f"{path}: a header line but no rows to predict")
        return rows
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix == ".npz":
        try:  # only X is read, after its size is checked
            with NpzArchive(path) as archive:
                return archive.array("X")
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    raise ValueError(f"{path}: the data file must be .csv, .tsv, .parquet or .npz")


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def check_header(model: netcore.MLP, rows, source: str | Path) -> None:
    """Refuse a table whose header looks like a row of numbers when the model does not
    expect such column names: the first row would be lost as a header.

    Raises:
        ValueError: naming the file, the model's width and ``--no-header``.
    """
    if not isinstance(rows, pd.DataFrame):
        return
    prep = model.preprocessing
    names = prep.feature_names if prep is not None else None
    if not all(_is_number(name) for name in rows.columns):
        return
    header = {str(c) for c in rows.columns}
    if names is not None and all(name in header for name in names):
        return  # the model's own names, which happen to be numbers (a DataFrame(X))
    expected = f"the {model.n_features_in_} columns {shown(names, 3)}" if names else \
        f"{model.n_features_in_} unnamed columns"
    raise ValueError(f"{source}: the first line looks like a row of numbers, not a header, and "
                     f"would be lost; the model expects {expected} in its training order: pass "
                     "--no-header to read the first line as data")


def predict_frame(model: netcore.MLP, rows) -> pd.DataFrame:
    """One row per input row: ``prediction`` in the user's labels or the target's units
    (and, for a classifier, one ``proba_<label>`` column per class of ``model.classes_``)."""
    if not model.loss.is_classifier:
        out = np.asarray(model.predict(rows)).reshape(-1, model.n_outputs)
        columns = ["prediction"] if out.shape[1] == 1 else \
            [f"prediction_{i}" for i in range(out.shape[1])]
        return pd.DataFrame(out, columns=columns)
    frame = pd.DataFrame({"prediction": model.predict(rows)})
    proba = model.predict_proba(rows)
    if proba.shape[1] == 1:  # a bare one-output sigmoid net: the probability of class 1
        proba = np.column_stack([1 - proba[:, 0], proba[:, 0]])
    for j, name in enumerate(model.classes_):
        frame[f"proba_{name}"] = proba[:, j]
    return frame


def predict_file(model_path: str | Path, data_path: str | Path, *,
                 proba: bool = False, header: bool = True) -> pd.DataFrame:
    """Predictions of the model file ``model_path`` on the rows of ``data_path``
    (``header=False``: a .csv/.tsv without a header line, columns in training order)."""
    model = netcore.load(model_path)
    rows = read_rows(data_path, header=header)
    if header:
        check_header(model, rows, data_path)
    else:
        rows = rows.to_numpy() if isinstance(rows, pd.DataFrame) else rows
    try:
        frame = predict_frame(model, rows)
    except (ValueError, TypeError) as exc:  # the rows do not fit the model: say which file
        raise type(exc)(f"{data_path}: {exc}") from None
    return frame if proba else frame[[c for c in frame if not c.startswith("proba_")]]
