"""Datasets on disk: tables and archives to read, and a folder format to save and reopen.

A saved dataset is a folder of ``.npy`` files (one per split array, never
pickled) and a ``dataset.json`` manifest written last, so a folder with a
manifest is complete. Reopened, the arrays are read-only memory maps: worker
processes share one copy through the OS page cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netcore.data.cache import array_specs, load_arrays, save_arrays
from netcore.data.tabular import Preprocessing, check_task, select_columns, shown
from netcore.safe_npz import NpzArchive
from netcore.validation import did_you_mean

if TYPE_CHECKING:  # imported by the readers of tables: opening saved arrays needs no pandas
    import pandas as pd

FORMAT = "netcore-dataset"
VERSION = 1
MANIFEST = "dataset.json"
ARRAYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
_HASH_CHUNK = 1 << 24  # bytes hashed at a time, so memory maps are never copied whole


def existing_file(path: str | Path) -> Path:
    """``path`` as a Path, or a FileNotFoundError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    return path


def table_columns(frame: pd.DataFrame, target: str, features, source: Path
                  ) -> tuple[pd.DataFrame, pd.Series]:
    """The feature columns (``features``, else all but ``target``) and the target column.

    Raises:
        ValueError: listing the table's columns when ``target`` or a feature is not one.
    """
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    known = set(columns)  # membership tests stay linear in the width of a wide table
    if not isinstance(target, str) or target not in known:
        hint = did_you_mean(target, columns) if isinstance(target, str) else ""
        raise ValueError(f"{source}: target {target!r} is not a column{hint}; the columns are "
                         f"{shown(columns, 30)}")
    if features is None:
        features = [c for c in columns if c != target]
    elif isinstance(features, str) or not all(isinstance(c, str) for c in features):
        raise TypeError(f"features must be a list of column names, got {features!r}")
    missing = [c for c in features if c not in known]
    if missing or target in set(features):
        problem = f"{shown(missing)} are not columns" if missing else f"{target!r} is the target"
        raise ValueError(f"{source}: features {problem}; the columns are {shown(columns, 30)}")
    return select_columns(frame, features, str(source)), frame[target]


def read_csv(path: str | Path, target: str, *, features=None, sep: str = ","
             ) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of a delimited text file (``pandas.read_csv``)."""
    import pandas as pd

    path = existing_file(path)
    try:
        frame = pd.read_csv(path, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read as a table with sep={sep!r}: {exc}") from None
    return table_columns(frame, target, features, path)


def read_parquet(path: str | Path, target: str, *, features=None) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of a parquet file (``pandas.read_parquet``; needs pyarrow)."""
    import pandas as pd

    path = existing_file(path)
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise ImportError(f"reading {path.name} needs a parquet engine: pip install pyarrow "
                          f"({exc})") from None
    return table_columns(frame, target, features, path)


def read_npz(path: str | Path, X: str = "X", y: str = "y") -> dict[str, np.ndarray]:
    """``{"X": .., "y": ..}`` of an ``.npz`` archive, plus ``X_val``/``y_val`` and
    ``X_test``/``y_test`` when it holds them (nothing is unpickled; only these arrays
    are read, each after its size is checked: see ``netcore.safe_npz``).

    Raises:
        ValueError: a damaged or hostile archive, or missing keys (listing the archive's keys).
    """
    path = existing_file(path)
    try:
        with NpzArchive(path) as archive:
            keys = archive.names
            missing = [key for key in (X, y) if key not in keys]
            if missing:
                raise ValueError(f"no arrays named {missing}; the archive holds {keys}")
            wanted = {"X": X, "y": y} | {k: k for k in ("X_val", "y_val", "X_test", "y_test") if k in keys}
            return {name: archive.array(key) for name, key in wanted.items()}
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def write_dataset(folder: str | Path, name: str, arrays: dict[str, np.ndarray], *, task: str,
                  n_classes: int, preprocessing: Preprocessing | None) -> Path:
    """Save ``arrays`` (the six splits) and their description in ``folder``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} exists and is not a folder")
    # An older manifest goes first: until the new one is written the folder is incomplete.
    (folder / MANIFEST).unlink(missing_ok=True)
    manifest = {"format": FORMAT, "version": VERSION, "name": name, "task": task,
                "n_classes": int(n_classes),
                "preprocessing": None if preprocessing is None else preprocessing.to_dict(),
                "arrays": array_specs(arrays)}
    save_arrays(folder, arrays, MANIFEST, manifest)
    return folder


def read_dataset(folder: str | Path, *, mmap: bool = True) -> tuple[dict, dict[str, np.ndarray]]:
    """The checked manifest of a saved dataset and its arrays (read-only maps when ``mmap``).

    Raises:
        ValueError: naming the folder and what is missing or damaged.
    """
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise ValueError(f"{folder}: not a saved dataset (no {MANIFEST}; is the folder right, "
                         "or was saving interrupted?)")
    try:
        manifest = _checked_manifest(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
        arrays = load_arrays(folder, manifest["arrays"], mmap_mode="r" if mmap else None)
    except OSError as exc:
        raise ValueError(f"{folder}: a saved dataset with a missing or unreadable file ({exc})") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{folder}: a damaged saved dataset ({exc})") from None
    except RecursionError:  # a manifest nested thousands of levels deep
        raise ValueError(f"{folder}: a damaged saved dataset ({MANIFEST} nests too deep)") from None
    return manifest, arrays


def _checked_manifest(manifest) -> dict:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{MANIFEST} is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise ValueError(f"{MANIFEST} has format version {manifest.get('version')!r}, "
                         f"this netcore reads {VERSION}")
    for key in ("name", "task", "n_classes", "arrays"):
        if manifest.get(key) is None:
            raise ValueError(f"{MANIFEST} lacks {key!r}")
    check_task(manifest["task"])
    specs = manifest["arrays"]
    if not isinstance(specs, dict) or sorted(specs) != sorted(ARRAYS):
        raise ValueError(f"{MANIFEST} must describe the arrays {list(ARRAYS)}")
    if isinstance(manifest["n_classes"], bool) or not isinstance(manifest["n_classes"], int):
        raise ValueError(f"{MANIFEST} has a non-integer n_classes {manifest['n_classes']!r}")
    if manifest.get("preprocessing") is not None:
        manifest["preprocessing"] = Preprocessing.from_dict(manifest["preprocessing"])
    return manifest


def fingerprint(arrays: dict[str, np.ndarray], *, task: str, n_classes: int,
                preprocessing: Preprocessing | None) -> dict:
    """A JSON-able summary of the six split arrays that changes when any value changes.

    ``sha256`` covers each array's shape, dtype and bytes (C order), then the
    task, ``n_classes`` and the preprocessing as JSON; arrays are hashed in
    chunks, so memory maps are read without being copied whole.
    """
    digest = hashlib.sha256()
    for name in ARRAYS:
        array = arrays[name]
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        _hash_rows(digest, array)
    meta = {"task": task, "n_classes": int(n_classes),
            "preprocessing": None if preprocessing is None else preprocessing.to_dict()}
    digest.update(json.dumps(meta, sort_keys=True).encode())
    return {"shapes": {name: list(arrays[name].shape) for name in ARRAYS},
            "dtype": str(arrays["X_train"].dtype), "task": task, "n_classes": int(n_classes),
            "sha256": digest.hexdigest()}


def _hash_rows(digest, array: np.ndarray) -> None:
    step = max(1, _HASH_CHUNK // max(1, array[:1].nbytes))  # whole rows per chunk
    for start in range(0, len(array), step):
        digest.update(np.ascontiguousarray(array[start:start + step]).data)
