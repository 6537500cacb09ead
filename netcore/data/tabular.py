"""How a user's raw feature rows become model inputs, and outputs become labels.

A ``Preprocessing`` is fitted once on the training split (``Dataset.from_arrays``
does it) and travels with the dataset and the model saved from it: the same
column order, the same standardization and the same class labels at
prediction time as in training. It is plain data and saves as JSON.
"""

from __future__ import annotations

import json
import math
import numbers
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from netcore.validation import check_choice, check_options

if TYPE_CHECKING:  # pandas is imported where a table is read: a worker training on arrays needs none
    import pandas as pd

TASKS = ("classification", "regression")
FLOAT_DTYPES = ("float32", "float64")
_FIELDS = ("task", "feature_names", "target", "mean", "scale", "classes", "target_mean",
           "target_scale")
# Fields a file written before they existed lacks: they read as None.
_OPTIONAL_FIELDS = ("target_mean", "target_scale")
_SHOWN = 5  # names or labels quoted in an error message


def check_task(task, argument: str = "task") -> str:
    """``task`` if it is one of ``TASKS``, else a ValueError naming both."""
    return check_choice(task, list(TASKS), argument)


def check_float_dtype(dtype) -> np.dtype:
    """``float32`` or ``float64`` as a numpy dtype; anything else is a ValueError."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in FLOAT_DTYPES:  # the error shows the dtype as given
        check_choice(dtype, list(FLOAT_DTYPES), "dtype")
    return np.dtype(name)


def shown(items, limit: int = _SHOWN) -> str:
    """The first ``limit`` items of a list for an error message, with the count of the rest."""
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"{items[:limit]}{more}"


def python_scalar(value):
    """``value`` as a JSON-able python scalar (str, int, float or bool), or a TypeError."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    raise TypeError(f"class labels must be str, int, float or bool, got {value!r}")


def is_frame(value) -> bool:
    """True for a pandas DataFrame, without importing pandas (a DataFrame means it is loaded)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _numeric_dtype(dtype) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _non_numeric_columns(dtypes: pd.Series) -> list[str]:
    """The names of the non-numeric columns among ``dtypes`` (a frame's ``dtypes``),
    testing each distinct dtype once: a table may have 10^5 columns of a few dtypes."""
    bad = {dtype for dtype in set(dtypes.tolist()) if not _numeric_dtype(dtype)}
    return [str(name) for name, dtype in dtypes.items() if dtype in bad] if bad else []


def select_columns(frame: pd.DataFrame, names, argument: str = "X") -> pd.DataFrame:
    """The columns ``names`` of ``frame`` (named as text), in that order.

    A table read from a file keeps each column apart, and pandas then selects
    columns one by one; a table of numbers is gathered once instead, so wide
    tables stay fast (the columns become float64, as model inputs do anyway).
    """
    import pandas as pd

    positions = _column_positions(frame, names, argument)
    if all(_numeric_dtype(dtype) for dtype in set(frame.dtypes.tolist())):
        matrix = frame.to_numpy(dtype=np.float64, na_value=np.nan)[:, positions]
        return pd.DataFrame(matrix, columns=pd.Index(frame.columns[positions]), index=frame.index)
    return frame.iloc[:, positions]


def frame_matrix(frame: pd.DataFrame, feature_names: tuple[str, ...] | None,
                 argument: str = "X") -> tuple[np.ndarray, tuple[str, ...]]:
    """The float64 matrix of ``frame``'s feature columns (all when ``feature_names`` is None).

    Columns are matched by their names as text, so a frame with integer column
    names (``pandas.DataFrame(X)``) gives back the names ``"0"``, ``"1"``, ... and
    is matched by them. Every step is linear in the number of columns.

    Raises:
        ValueError: naming feature columns the frame lacks, or a frame without rows.
        TypeError: naming non-numeric columns (suggesting ``pandas.get_dummies``).
    """
    if len(frame) == 0:
        raise ValueError(f"{argument} has columns but no rows: nothing to use")
    if feature_names is not None:
        frame = select_columns(frame, feature_names, argument)
    bad = _non_numeric_columns(frame.dtypes)
    if bad:
        raise TypeError(f"{argument} has non-numeric columns {shown(bad)}; encode them as numbers "
                        "first, e.g. with pandas.get_dummies(X, columns=[...])")
    names = tuple(str(name) for name in frame.columns)
    return frame.to_numpy(dtype=np.float64, na_value=np.nan), names


def _column_positions(frame: pd.DataFrame, feature_names: tuple[str, ...], argument: str
                      ) -> list[int]:
    """Where each of ``feature_names`` is among ``frame``'s columns (named as text)."""
    positions: dict[str, int] = {}
    doubled = set()
    for i, name in enumerate(map(str, frame.columns)):
        if positions.setdefault(name, i) != i:
            doubled.add(name)
    missing = [name for name in feature_names if name not in positions]
    if missing:
        raise ValueError(f"{argument} lacks the feature columns {shown(missing)}; "
                         f"it has {shown(map(str, frame.columns), 20)}")
    ambiguous = [name for name in feature_names if name in doubled]
    if ambiguous:
        raise ValueError(f"{argument} has several columns named {shown(ambiguous)}; "
                         "rename them so that each feature is one column")
    return [positions[name] for name in feature_names]


def array_matrix(X, argument: str = "X") -> np.ndarray:
    """``X`` as a numeric 2-D array with rows and columns, or a clear error."""
    X = np.asarray(X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{argument} must be numeric, got dtype {X.dtype}; encode categories as "
                        "numbers first, e.g. with pandas.get_dummies")
    if X.ndim != 2:
        hint = " (reshape a single feature with X.reshape(-1, 1))" if X.ndim == 1 else ""
        raise ValueError(f"{argument} must be 2-D (n_samples, n_features), got shape {X.shape}{hint}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{argument} must have at least 1 row and 1 feature, got shape {X.shape}")
    return X


def check_finite_features(X: np.ndarray, names: tuple[str, ...] | None, argument: str = "X") -> None:
    """Raise a ValueError counting the NaN/inf values of ``X`` and naming their columns."""
    if not np.issubdtype(X.dtype, np.floating):
        return
    bad = ~np.isfinite(X)
    count = int(bad.sum())
    if count:
        columns = np.flatnonzero(bad.any(axis=0))
        labels = [names[i] for i in columns] if names is not None else [int(i) for i in columns]
        kind = "columns" if names is not None else "column indices"
        raise ValueError(f"{argument} contains {count} NaN or infinite values, in the {kind} "
                         f"{shown(labels)}; drop or impute them first")


def _as_array(values, argument: str, dtype=None) -> np.ndarray | None:
    if values is None:
        return None
    try:
        array = np.array(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{argument} must be a list of finite numbers: {exc}") from None
    if array.ndim != 1 or (dtype is not None and not np.isfinite(array).all()):
        raise ValueError(f"{argument} must be a 1-D list of finite numbers, got {values!r}")
    array.flags.writeable = False
    return array


@dataclass(eq=False)
class Preprocessing:
    """Feature columns, standardization and class labels fitted on a training split.

    Construction checks the values and puts them in their stored form (names and
    classes as tuples, statistics as read-only float64 arrays); a plain, not
    frozen, dataclass so that it may do so.

    Args:
        task: ``"classification"`` or ``"regression"``.
        feature_names: the feature columns, in model input order (None for arrays).
        target: the name of the label column, when there was one.
        mean, scale: per-feature float64 statistics of the standardization
            ``(X - mean) / scale`` (None: inputs are used as they are).
        classes: the original class labels; class index i is ``classes[i]``.
        target_mean, target_scale: per-output float64 statistics of a standardized
            regression target: the net learns ``(y - target_mean) / target_scale``
            and ``decode`` maps its outputs back to the target's units (None: the
            target is used as it is).

    >>> prep = Preprocessing(classes=("cat", "dog"))
    >>> prep.decode(prep.encode(["dog", "cat"])).tolist()
    ['dog', 'cat']
    """

    task: str = "classification"
    feature_names: tuple[str, ...] | None = None
    target: str | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    classes: tuple | None = None
    target_mean: np.ndarray | None = None
    target_scale: np.ndarray | None = None

    def __post_init__(self):
        check_task(self.task)
        if self.target is not None and not isinstance(self.target, str):
            raise TypeError(f"target must be a column name (str) or None, got {self.target!r}")
        self.feature_names = self._checked_names()
        self.mean = _as_array(self.mean, "mean", np.float64)
        self.scale = self._checked_scale()
        self.classes = self._checked_classes()
        self.target_mean, self.target_scale = self._checked_target_scaling()

    def _checked_names(self) -> tuple[str, ...] | None:
        if self.feature_names is None:
            return None
        if isinstance(self.feature_names, str) or not all(isinstance(n, str) for n in self.feature_names):
            raise TypeError(f"feature_names must be a sequence of str, got {self.feature_names!r}")
        names = tuple(self.feature_names)
        if len(set(names)) != len(names):
            raise ValueError(f"feature_names must be unique, got {shown(names)}")
        return names

    def _checked_scale(self) -> np.ndarray | None:
        scale = _as_array(self.scale, "scale", np.float64)
        if (scale is None) != (self.mean is None):
            raise ValueError("mean and scale must be given together (or both be None)")
        if scale is None:
            return None
        n = len(self.feature_names) if self.feature_names is not None else len(self.mean)
        if not len(self.mean) == len(scale) == n:
            raise ValueError(f"mean, scale and feature_names must have one entry per feature, got "
                             f"{len(self.mean)}, {len(scale)} and {n}")
        if (scale < 0).any():
            raise ValueError("scale must hold standard deviations >= 0")
        scale = np.where(scale > 0, scale, 1.0)  # constant features are only centred
        scale.flags.writeable = False
        return scale

    def _checked_classes(self) -> tuple | None:
        if self.classes is None:
            return None
        if self.task == "regression":
            raise ValueError("classes must be None for task='regression'")
        if isinstance(self.classes, str | bytes):
            raise TypeError(f"classes must be a sequence of labels, got {self.classes!r}")
        classes = tuple(python_scalar(c) for c in self.classes)
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"classes must hold at least 2 distinct labels, got {shown(classes)}")
        return classes

    def _checked_target_scaling(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        mean = _as_array(self.target_mean, "target_mean", np.float64)
        scale = _as_array(self.target_scale, "target_scale", np.float64)
        if (mean is None) != (scale is None):
            raise ValueError("target_mean and target_scale must be given together (or both be None)")
        if mean is None:
            return None, None
        if self.task != "regression":
            raise ValueError("target_mean and target_scale are for task='regression' only")
        if len(mean) != len(scale) or len(mean) == 0:
            raise ValueError(f"target_mean and target_scale must have one entry per output, got "
                             f"{len(mean)} and {len(scale)}")
        if (scale < 0).any():
            raise ValueError("target_scale must hold standard deviations >= 0")
        scale = np.where(scale > 0, scale, 1.0)  # a constant target is only centred
        scale.flags.writeable = False
        return mean, scale

    def check_fits(self, n_inputs: int, n_outputs: int, is_classifier: bool) -> None:
        """Refuse to describe a net it does not fit: another input width, a class or
        target count other than the outputs, or a classifier's labels on a regression net.

        Raises:
            ValueError: naming both counts.
        """
        if self.n_features is not None and self.n_features != n_inputs:
            raise ValueError(f"preprocessing has {self.n_features} features, the model's input "
                             f"layer {n_inputs}")
        if (self.task == "classification") != is_classifier:
            raise ValueError(f"preprocessing is for task={self.task!r}, the model's loss for "
                             f"{'classification' if is_classifier else 'regression'}")
        if self.classes is not None and len(self.classes) != n_outputs \
                and not (len(self.classes) == 2 and n_outputs == 1):
            raise ValueError(f"preprocessing has {len(self.classes)} classes, the model "
                             f"{n_outputs} outputs")
        if self.target_mean is not None and len(self.target_mean) != n_outputs:
            raise ValueError(f"preprocessing scales {len(self.target_mean)} targets, the model "
                             f"has {n_outputs} outputs")

    @property
    def n_features(self) -> int | None:
        """The number of input features, when known."""
        if self.feature_names is not None:
            return len(self.feature_names)
        return None if self.mean is None else len(self.mean)

    def transform(self, X, dtype="float32") -> np.ndarray:
        """Model inputs from raw rows: a DataFrame (columns picked by name) or a 2-D array.

        Raises:
            ValueError: missing columns, a wrong number of features, NaN/inf values.
            TypeError: non-numeric columns.
        """
        dtype = check_float_dtype(dtype)
        if is_frame(X):
            matrix, names = frame_matrix(X, self.feature_names)
        else:
            matrix, names = array_matrix(X), self.feature_names
        if self.n_features is not None and matrix.shape[1] != self.n_features:
            raise ValueError(f"X has {matrix.shape[1]} features, expected {self.n_features}"
                             + (f" ({shown(names)})" if names else ""))
        check_finite_features(matrix, names)
        if self.mean is None:
            return np.ascontiguousarray(matrix, dtype=dtype)
        out = matrix - self.mean  # float64, like the statistics
        out /= self.scale
        return np.ascontiguousarray(out, dtype=dtype)

    def standardize_target(self, y: np.ndarray, dtype="float32") -> np.ndarray:
        """Regression targets as the net learns them: ``(y - target_mean) / target_scale``
        (``y`` unchanged, in ``dtype``, when the target is not standardized)."""
        y = np.asarray(y, dtype=np.float64)
        if self.target_mean is not None:
            shape = y.shape
            y = ((y.reshape(len(y), -1) - self.target_mean) / self.target_scale).reshape(shape)
        return np.ascontiguousarray(y, dtype=check_float_dtype(dtype))

    def decode(self, predictions) -> np.ndarray:
        """Original class labels of predicted class indices; for regression, the
        net's outputs in the target's units (float64; unchanged without target scaling)."""
        if self.task == "regression":
            if self.target_mean is None:
                return predictions
            values = np.asarray(predictions, dtype=np.float64)
            shape = values.shape
            return (values.reshape(len(values), -1) * self.target_scale + self.target_mean
                    ).reshape(shape)
        if self.classes is None:
            return predictions
        indices = np.asarray(predictions)
        if not np.issubdtype(indices.dtype, np.integer) and indices.size:
            raise TypeError(f"predictions must be class indices (integers), got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= len(self.classes)):
            raise ValueError(f"predictions must be class indices in [0, {len(self.classes)}), got "
                             f"values in [{indices.min()}, {indices.max()}]")
        return np.asarray(self.classes).take(indices.astype(np.intp))

    def encode(self, labels) -> np.ndarray:
        """Class indices (int64) of original labels.

        Raises:
            ValueError: listing labels that are not among ``classes``.
        """
        if self.classes is None:
            raise ValueError(f"encode needs classes; this preprocessing is for task={self.task!r} "
                             "without class labels")
        import pandas as pd

        values = np.asarray(labels, dtype=object).reshape(-1)
        indices = pd.Index(self.classes, dtype=object).get_indexer(values)
        unknown = indices < 0
        if unknown.any():
            raise ValueError(f"unknown labels {shown(pd.unique(values[unknown]))}; the known "
                             f"classes are {shown(self.classes, 20)}")
        return indices.astype(np.int64).reshape(np.shape(labels))

    def to_dict(self) -> dict:
        """JSON-able fields (arrays as lists; the target scaling only when set);
        ``from_dict`` reads it back."""
        def listed(value):
            if value is None:
                return None
            return value.tolist() if isinstance(value, np.ndarray) else list(value)
        return {"task": self.task, "feature_names": listed(self.feature_names), "target": self.target,
                "mean": listed(self.mean), "scale": listed(self.scale), "classes": listed(self.classes),
                # Left out when unset, so that data and models written before they existed
                # keep their fingerprints.
                **{key: listed(getattr(self, key)) for key in _OPTIONAL_FIELDS
                   if getattr(self, key) is not None}}

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessing:
        """The ``Preprocessing`` written by ``to_dict``.

        Raises:
            ValueError: for a non-dict, missing or unknown keys, a null ``task``
                or any field of the wrong type or shape.
        """
        if not isinstance(data, dict):
            raise ValueError(f"preprocessing must be a dict, got {type(data).__name__}")
        check_options(data, _FIELDS, what="preprocessing has unknown keys",
                      allows="it needs exactly")
        data = {key: None for key in _OPTIONAL_FIELDS} | data
        missing = [key for key in _FIELDS if key not in data]
        if missing:
            raise ValueError(f"preprocessing needs the keys {list(_FIELDS)}; missing {missing}")
        if data["task"] is None:  # a null in the file, named as its field
            check_choice(None, list(TASKS), "preprocessing 'task'")
        lists = ("feature_names", "mean", "scale", "classes", *_OPTIONAL_FIELDS)
        if any(isinstance(data[key], str) for key in lists):
            raise ValueError(f"preprocessing {', '.join(lists)} must be lists or null")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"invalid preprocessing: {exc}") from None

    def __eq__(self, other) -> bool:
        if not isinstance(other, Preprocessing):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))
