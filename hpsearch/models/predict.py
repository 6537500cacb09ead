"""Predictions of a saved model on a data file: ``hpsearch predict model.npz rows.csv``.

The model file carries the preprocessing of the data it was trained on (feature
columns, standardization, class labels), so raw rows go in and the user's own
labels come out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import netcore
from netcore.safe_npz import NpzArchive

_READERS = {".csv": ",", ".tsv": "\t"}


def read_rows(path: str | Path) -> pd.DataFrame | np.ndarray:
    """The rows of a .csv/.tsv/.parquet table (a DataFrame) or of an .npz's ``X``.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for another file type, or an .npz without ``X``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no data file at {path}")
    suffix = path.suffix.lower()
    if suffix in _READERS:
        return pd.read_csv(path, sep=_READERS[suffix])
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix == ".npz":
        try:  # only X is read, after its size is checked
            with NpzArchive(path) as archive:
                return archive.array("X")
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    raise ValueError(f"{path}: the data file must be .csv, .tsv, .parquet or .npz")


def predict_frame(model: netcore.MLP, rows) -> pd.DataFrame:
    """One row per input row: ``prediction`` in the user's labels (and, for a
    classifier, one ``proba_<label>`` column per class)."""
    prep = model.preprocessing
    X = prep.transform(rows, dtype=model.dtype.name) if prep is not None else rows
    out = model.predict_proba(X)
    if not model.loss.is_classifier:
        columns = ["prediction"] if out.shape[1] == 1 else \
            [f"prediction_{i}" for i in range(out.shape[1])]
        return pd.DataFrame(out, columns=columns)
    indices = model.predict(X)
    labels = prep.decode(indices) if prep is not None and prep.classes else indices
    frame = pd.DataFrame({"prediction": labels})
    names = list(prep.classes) if prep is not None and prep.classes else \
        list(range(out.shape[1]))
    if out.shape[1] == 1:  # one sigmoid output: the probability of class 1
        out = np.column_stack([1 - out[:, 0], out[:, 0]])
    for j, name in enumerate(names[:out.shape[1]]):
        frame[f"proba_{name}"] = out[:, j]
    return frame


def predict_file(model_path: str | Path, data_path: str | Path, *,
                 proba: bool = False) -> pd.DataFrame:
    """Predictions of the model file ``model_path`` on the rows of ``data_path``."""
    model = netcore.load(model_path)
    frame = predict_frame(model, read_rows(data_path))
    return frame if proba else frame[[c for c in frame if not c.startswith("proba_")]]
