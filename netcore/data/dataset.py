"""The ``Dataset``: train, validation and test splits of one dataset, and its constructors.

A user's own data comes in through ``Dataset.from_arrays``, ``from_csv``,
``from_parquet``, ``from_npz`` or ``from_file``, and ``save`` / ``open`` keep
prepared splits on disk. The built-in datasets are in ``netcore.data.builtin``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netcore.data.files import (
    ARRAYS,
    fingerprint,
    read_csv,
    read_dataset,
    read_npz,
    read_parquet,
    write_dataset,
)
from netcore.data.splits import split_arrays
from netcore.data.tabular import Preprocessing, check_task

_FILE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".npz")


@dataclass(frozen=True)
class Dataset:
    """Train/validation/test splits of one dataset.

    ``task`` is ``"classification"`` (integer labels ``0..n_classes-1``) or
    ``"regression"`` (float targets, ``n_classes`` 0). ``preprocessing``, set
    for a user's own data, turns new raw rows into inputs like these and
    predicted class indices back into the original labels.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    task: str = "classification"
    preprocessing: Preprocessing | None = None

    def __post_init__(self):
        check_task(self.task)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        """Width of a model's output layer: ``n_classes``, or the number of regression targets."""
        if self.task == "classification":
            return self.n_classes
        return 1 if self.y_train.ndim == 1 else self.y_train.shape[1]

    def subset(self, n_train: int | None = None, n_val: int | None = None) -> Dataset:
        """The first ``n_train`` training and ``n_val`` validation samples."""
        return dataclasses.replace(self, X_train=self.X_train[:n_train], y_train=self.y_train[:n_train],
                                   X_val=self.X_val[:n_val], y_val=self.y_val[:n_val])

    @classmethod
    def from_arrays(cls, X, y, *, val: float = 0.2, test: float = 0.2, stratify: bool = True,
                    standardize: bool = True, standardize_target: bool = True, seed: int = 0,
                    task: str | None = None, X_val=None, y_val=None, X_test=None, y_test=None,
                    name: str = "arrays", dtype="float32") -> Dataset:
        """A dataset from a user's features ``X`` (2-D array or DataFrame) and labels ``y``.

        ``task=None`` infers regression from float ``y``, else classification
        (labels of any type become indices ``0..k-1``; ``preprocessing.classes``
        maps them back). Test rows (fraction ``test`` of all rows), then
        validation rows (fraction ``val`` of all rows) are split off with
        ``seed``, stratified by class when ``stratify``; ``X_val``/``y_val`` and
        ``X_test``/``y_test`` replace the drawn splits. With ``standardize``
        every split is scaled by the training split's mean and std; with
        ``standardize_target`` so is a regression target (``y_*`` then hold
        standardized values; ``preprocessing.decode`` gives the target's units
        back, and a model carrying the preprocessing reports its metrics and
        predictions in them).

        >>> data = Dataset.from_arrays(np.eye(10), ["a", "b"] * 5, val=0.2, test=0.2)
        >>> data.X_train.shape, data.n_classes, data.preprocessing.classes
        ((6, 10), 2, ('a', 'b'))

        Raises:
            ValueError: NaN/inf values (naming the columns), mismatched lengths,
                fewer than 2 classes, bad fractions, splits left empty, a class
                too small to stratify, labels of an explicit split unseen in ``y``.
            TypeError: non-numeric feature columns.
        """
        fields = split_arrays(X, y, val=val, test=test, stratify=stratify, standardize=standardize,
                              standardize_target=standardize_target, seed=seed, task=task,
                              X_val=X_val, y_val=y_val, X_test=X_test, y_test=y_test, dtype=dtype)
        return cls(name=name, **fields)

    @classmethod
    def from_csv(cls, path: str | Path, target: str, *, features: Sequence[str] | None = None,
                 sep: str = ",", **split_options) -> Dataset:
        """A dataset from a CSV file's ``target`` column and its ``features`` (default: all
        other columns); ``split_options`` go to ``from_arrays``, ``name`` defaults to the file stem."""
        X, y = read_csv(path, target, features=features, sep=sep)
        return cls._from_table(X, y, target, Path(path).stem, split_options)

    @classmethod
    def from_parquet(cls, path: str | Path, target: str, *, features: Sequence[str] | None = None,
                     **split_options) -> Dataset:
        """``from_csv`` for a parquet file (needs ``pip install pyarrow``)."""
        X, y = read_parquet(path, target, features=features)
        return cls._from_table(X, y, target, Path(path).stem, split_options)

    @classmethod
    def _from_table(cls, X, y, target: str, stem: str, split_options: dict) -> Dataset:
        data = cls.from_arrays(X, y, **{"name": stem, **split_options})
        prep = dataclasses.replace(data.preprocessing, target=target)
        return dataclasses.replace(data, preprocessing=prep)

    @classmethod
    def from_npz(cls, path: str | Path, *, X: str = "X", y: str = "y", **split_options) -> Dataset:
        """A dataset from the arrays ``X`` and ``y`` of an ``.npz`` archive; its ``X_val``,
        ``y_val``, ``X_test``, ``y_test`` arrays, when present, are the explicit splits."""
        arrays = read_npz(path, X, y)
        options = {"name": Path(path).stem, **arrays, **split_options}
        return cls.from_arrays(options.pop("X"), options.pop("y"), **options)

    @classmethod
    def from_file(cls, path: str | Path, target: str | None = None, **options) -> Dataset:
        """``from_csv`` (``.csv``; ``.tsv`` with tabs), ``from_parquet`` (``.parquet``, ``.pq``)
        or ``from_npz`` (``.npz``; ``target`` names the label array) by the file's suffix."""
        suffix = Path(path).suffix.lower()
        if suffix not in _FILE_SUFFIXES:
            raise ValueError(f"cannot read {path}: the supported suffixes are {list(_FILE_SUFFIXES)}")
        if suffix == ".npz":
            return cls.from_npz(path, **({"y": target} if target is not None else {}), **options)
        if target is None:
            raise ValueError(f"reading the table {path} needs target=<the label column>")
        if suffix in (".parquet", ".pq"):
            return cls.from_parquet(path, target, **options)
        return cls.from_csv(path, target, **({"sep": "\t"} if suffix == ".tsv" else {}), **options)

    def save(self, folder: str | Path) -> Path:
        """Write the splits as ``.npy`` files and ``dataset.json`` into ``folder``; ``open`` reads it."""
        arrays = {name: getattr(self, name) for name in ARRAYS}
        return write_dataset(folder, self.name, arrays, task=self.task, n_classes=self.n_classes,
                             preprocessing=self.preprocessing)

    @classmethod
    def open(cls, folder: str | Path, *, mmap: bool = True) -> Dataset:
        """A dataset written by ``save``; with ``mmap`` its arrays are read-only memory maps.

        Raises:
            ValueError: naming the folder when it is not a complete, intact saved dataset.
        """
        manifest, arrays = read_dataset(folder, mmap=mmap)
        return cls(name=str(manifest["name"]), **arrays, n_classes=manifest["n_classes"],
                   task=manifest["task"], preprocessing=manifest["preprocessing"])

    def fingerprint(self) -> dict:
        """Shapes, dtype, task, ``n_classes`` and a SHA-256 of every array and the preprocessing:
        equal for equal data, different when any value changes."""
        return fingerprint({name: getattr(self, name) for name in ARRAYS}, task=self.task,
                           n_classes=self.n_classes, preprocessing=self.preprocessing)
