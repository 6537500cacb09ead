"""A user's own data as train/validation/test splits (behind ``Dataset.from_arrays``).

Everything is checked before anything is computed, so bad input fails with a
message about the input, not a numpy traceback. Splits are drawn with
scikit-learn's ``train_test_split`` (stratified for classification), and the
standardization statistics come from the training split only, so nothing about
the held-out rows leaks into training.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from netcore.data.tabular import (
    Preprocessing,
    array_matrix,
    check_finite_features,
    check_float_dtype,
    check_task,
    frame_matrix,
    is_frame,
    python_scalar,
    shown,
)

_SPLITS = ("train", "val", "test")
MAX_FLOAT_CLASSES = 20
"""Float labels that are whole numbers with at most this many distinct values are classes.
scikit-learn's ``type_of_target`` reads any whole-number floats as classes; the limit keeps
a whole-number quantity (diabetes' target: 214 distinct values) a regression target."""


def split_arrays(X, y, *, val=0.2, test=0.2, stratify: bool = True, standardize: bool = True,
                 standardize_target: bool = True, seed: int = 0, task: str | None = None,
                 X_val=None, y_val=None, X_test=None, y_test=None, dtype="float32",
                 target: str | None = None) -> dict:
    """The fields of a ``Dataset`` built from ``X`` and ``y`` (see ``Dataset.from_arrays``)."""
    dtype = check_float_dtype(dtype)
    X, names = features(X, None, "X")
    y = label_values(y, "y", len(X))
    task = infer_task(y, task)
    if task == "classification":
        y = column_labels(y, "y")
    explicit = _explicit_splits({"val": (X_val, y_val), "test": (X_test, y_test)}, names, X.shape[1])
    fractions = _check_fractions(val if "val" not in explicit else None,
                                 test if "test" not in explicit else None)
    if task == "classification":
        classes, codes = encode_classes(y)
        explicit = {k: (Xs, _encode_split(column_labels(ys, f"y_{k}"), classes, f"y_{k}"))
                    for k, (Xs, ys) in explicit.items()}
    else:  # float64 until the target scaling is applied
        classes, codes = None, regression_targets(y, "y", np.float64)
        explicit = {k: (Xs, regression_targets(ys, f"y_{k}", np.float64))
                    for k, (Xs, ys) in explicit.items()}
    strata = codes if task == "classification" and stratify else None
    rows = split_rows(len(X), fractions, strata=strata, classes=classes, seed=seed)
    parts = {k: (X[r], codes[r]) for k, r in rows.items()} | explicit
    _check_flag(standardize_target, "standardize_target")
    prep = _fit_preprocessing(parts["train"], task, names, target, classes, standardize,
                              standardize_target)
    fields = {"n_classes": len(classes) if classes else 0, "task": task, "preprocessing": prep}
    for split in _SPLITS:
        fields[f"X_{split}"] = prep.transform(parts[split][0], dtype)
        labels = parts[split][1]
        fields[f"y_{split}"] = np.ascontiguousarray(labels) if task == "classification" \
            else prep.standardize_target(labels, dtype)
    return fields


def _check_flag(value, argument: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{argument} must be True or False, got {value!r}")


def features(X, names: tuple[str, ...] | None, argument: str, n_features: int | None = None
             ) -> tuple[np.ndarray, tuple | None]:
    """A checked 2-D numeric matrix and its column names (None for arrays).

    ``names`` picks a DataFrame's columns; ``n_features`` is the width ``X`` must have.
    """
    if is_frame(X):
        matrix, found = frame_matrix(X, names, argument)
        matrix = array_matrix(matrix, argument)  # rows and columns present
    else:
        matrix, found = array_matrix(X, argument), names
    if n_features is not None and matrix.shape[1] != n_features:
        raise ValueError(f"{argument} has {matrix.shape[1]} features, X has {n_features}")
    check_finite_features(matrix, found, argument)
    return matrix, found


def label_values(y, argument: str, n_rows: int) -> np.ndarray:
    """``y`` as a 1-D (or 2-D numeric) array without missing values, one label per row."""
    import pandas as pd  # here, not at the top: netcore.data imports this module in every worker

    if isinstance(y, pd.DataFrame):
        y = y.iloc[:, 0] if y.shape[1] == 1 else y.to_numpy()
    if isinstance(y, pd.Series):
        if pd.api.types.is_float_dtype(y.dtype):
            y = y.to_numpy(dtype=np.float64, na_value=np.nan)
        else:  # categorical, nullable and string columns become their labels
            y = y.to_numpy(dtype=object if isinstance(y.dtype, pd.api.extensions.ExtensionDtype) else None)
    values = np.asarray(y)
    column = values.ndim == 2 and values.shape[1] == 1  # labels as a column: read as 1-D
    if values.ndim not in (1, 2) or (values.ndim == 2 and not column
                                     and not np.issubdtype(values.dtype, np.number)):
        raise ValueError(f"{argument} must be 1-D (one label per row; 2-D only for numeric "
                         f"multi-output regression), got shape {values.shape}")
    missing = int(pd.isna(values).sum()) if values.dtype == object else \
        int((~np.isfinite(values)).sum()) if np.issubdtype(values.dtype, np.floating) else 0
    if missing:
        raise ValueError(f"{argument} contains {missing} missing (NaN) or infinite values; "
                         "drop those rows first")
    if len(values) != n_rows:
        raise ValueError(f"X and {argument} have different lengths: {n_rows} and {len(values)}")
    return values


def infer_task(y: np.ndarray, task: str | None) -> str:
    """``task``, or when None, as scikit-learn's ``type_of_target`` reads ``y``:
    ``"regression"`` for float labels, unless they are whole numbers with at most
    ``MAX_FLOAT_CLASSES`` distinct values (``y.astype(float)`` of classes), else
    ``"classification"``. A 2-D ``y`` of several columns is regression."""
    if task is not None:
        return check_task(task)
    if not np.issubdtype(y.dtype, np.floating):
        return "classification"
    if y.ndim == 2 and y.shape[1] != 1:
        return "regression"
    whole = bool(np.all(y == np.round(y)))
    return "classification" if whole and len(np.unique(y)) <= MAX_FLOAT_CLASSES else "regression"


def column_labels(y: np.ndarray, argument: str) -> np.ndarray:
    """Class labels of shape (n, 1) as (n,), with one warning, as scikit-learn does."""
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(f"{argument} of shape {y.shape} (a column) was given where 1-D class "
                      f"labels were expected; it is read as {argument}.ravel()",
                      UserWarning, stacklevel=4)
        return y.ravel()
    return y


def encode_classes(y: np.ndarray) -> tuple[tuple, np.ndarray]:
    """The sorted distinct labels (python scalars) and each row's index among them (int64)."""
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D for classification, got shape {y.shape}; "
                         "pass task='regression' for numeric multi-output targets")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(y == np.round(y)):
            raise ValueError("y holds non-integral float values; pass task='regression', "
                             "or integer or string class labels for classification")
        y = y.astype(np.int64)
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:
        raise TypeError("y mixes label types that cannot be sorted (e.g. numbers and strings); "
                        "use one type") from None
    if len(classes) < 2:
        raise ValueError(f"y has {len(classes)} class ({shown(classes.tolist())}); "
                         "classification needs at least 2")
    return tuple(python_scalar(c) for c in classes), codes.astype(np.int64).reshape(-1)


def _encode_split(y: np.ndarray, classes: tuple, argument: str) -> np.ndarray:
    try:
        return Preprocessing(classes=classes).encode(y)
    except ValueError as exc:
        raise ValueError(f"{argument} has labels not seen in y: {exc}") from None


def regression_targets(y: np.ndarray, argument: str, dtype) -> np.ndarray:
    """Numeric regression targets in ``dtype``; strings or objects are a TypeError."""
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"{argument} must be numeric for task='regression', got dtype {y.dtype}")
    return y.astype(dtype)


def _explicit_splits(given: dict, names, n_features: int) -> dict:
    out = {}
    for split, (X, y) in given.items():
        if (X is None) != (y is None):
            raise ValueError(f"X_{split} and y_{split} must be given together")
        if X is not None:
            matrix, _ = features(X, names, f"X_{split}", n_features)
            out[split] = (matrix, label_values(y, f"y_{split}", len(matrix)))
    return out


def _check_fractions(val, test) -> dict:
    fractions = {}
    for name, value in (("val", val), ("test", test)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise ValueError(f"{name} must be a fraction in (0, 1) of the rows, got {value!r}")
        fractions[name] = float(value)
    if sum(fractions.values()) >= 1:
        raise ValueError(f"val + test must be < 1 to leave rows for training, got {val} + {test}")
    return fractions


def split_sizes(n_rows: int, fractions: dict) -> dict:
    """Rows drawn for ``"test"`` (a fraction of all rows) and then ``"val"`` (a fraction of
    all rows, so ``val / (1 - test)`` of the rest); at least 1 row must remain to train."""
    sizes, rest = {}, n_rows
    if "test" in fractions:
        sizes["test"] = _ceil(fractions["test"] * n_rows)
        rest -= sizes["test"]
    if "val" in fractions:
        sizes["val"] = _ceil(fractions["val"] / (1 - fractions.get("test", 0.0)) * rest)
        rest -= sizes["val"]
    if rest < 1:
        raise ValueError(f"X has {n_rows} rows: too few to split off {sizes} and keep at least "
                         "1 row for training")
    return sizes


def _ceil(x: float) -> int:
    return math.ceil(round(x, 9))  # 0.25 * 80 must give 20, not 21 after rounding noise


def split_rows(n_rows: int, fractions: dict, *, strata: np.ndarray | None, classes: tuple | None,
               seed: int) -> dict[str, np.ndarray]:
    """Row indices of ``"train"`` and of each split named in ``fractions``, shuffled by ``seed``."""
    rows = {"train": np.arange(n_rows)}
    for split, size in split_sizes(n_rows, fractions).items():
        rows["train"], rows[split] = _split_off(rows["train"], size, split, strata, classes, seed)
    return rows


def _split_off(rows: np.ndarray, size: int, split: str, strata, classes, seed: int):
    from sklearn.model_selection import train_test_split

    labels = None if strata is None else strata[rows]
    if labels is not None:
        counts = np.bincount(labels, minlength=len(classes))
        rare = np.flatnonzero((counts > 0) & (counts < 2))
        if rare.size:
            raise ValueError(f"class {classes[rare[0]]!r} has only {counts[rare[0]]} row left when the "
                             f"{split} rows are split off, too few to stratify (at least 2 needed); "
                             "pass stratify=False or provide more rows of it")
    try:
        return train_test_split(rows, test_size=size, random_state=seed, stratify=labels)
    except ValueError as exc:
        raise ValueError(f"cannot draw {size} {split} rows stratified by class ({exc}); "
                         "pass stratify=False or larger fractions") from None


def _fit_preprocessing(train: tuple[np.ndarray, np.ndarray], task: str, names, target, classes,
                       standardize: bool, standardize_target: bool) -> Preprocessing:
    """Statistics of the training rows only: the features' (``standardize``) and, for
    regression, the target's (``standardize_target``)."""
    X_train, y_train = train
    mean = scale = target_mean = target_scale = None
    if standardize:
        mean, scale = X_train.mean(axis=0), X_train.std(axis=0)
    if standardize_target and task == "regression":
        y_train = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
        target_mean, target_scale = y_train.mean(axis=0), y_train.std(axis=0)
    return Preprocessing(task=task, feature_names=names, target=target, mean=mean, scale=scale,
                         classes=classes, target_mean=target_mean, target_scale=target_scale)
