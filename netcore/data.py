"""Datasets: MNIST from IDX files, scikit-learn's 8x8 digits, seeded spirals.

``load_dataset(name)`` returns a ``Dataset`` with train, validation and test
splits as float arrays in [0, 1] (or standardized coordinates for spirals)
and integer labels. A user's own data comes in through ``Dataset.from_arrays``,
``from_csv``, ``from_parquet``, ``from_npz`` or ``from_file``, and ``save`` /
``open`` keep prepared splits on disk.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import struct
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netcore.array_cache import cached_arrays, user_cache_root
from netcore.data_files import (
    ARRAYS,
    fingerprint,
    read_csv,
    read_dataset,
    read_npz,
    read_parquet,
    write_dataset,
)
from netcore.tabular import Preprocessing, check_task
from netcore.user_data import split_arrays

log = logging.getLogger(__name__)

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

# MNIST: SHA-256 of the *decompressed* IDX payloads, which are the same on every
# mirror (the .gz wrappers differ in timestamps and compression level).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def mnist_dir() -> Path:
    """``$NETCORE_DATA_DIR/mnist`` if set, else ``~/.cache/netcore/mnist``."""
    root = os.environ.get("NETCORE_DATA_DIR")
    base = Path(root) if root else user_cache_root()
    return base / "mnist"


def read_idx(path: str | Path, expected_sha256: str | None = None) -> np.ndarray:
    """Read a (gzipped) IDX file, checking its format and optionally its checksum.

    Raises:
        ValueError: naming the file, for a bad checksum, a truncated file or a
            malformed header.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot be read as {'gzip' if opener is gzip.open else 'IDX'}: "
                         f"{exc}; delete it and provide a fresh copy") from None
    if expected_sha256 is not None:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise ValueError(f"{path}: checksum mismatch (sha256 of the contents is {digest}, "
                             f"expected {expected_sha256}); the file is corrupted or not MNIST")
    return _parse_idx(raw, path)


def _parse_idx(raw: bytes, path: Path) -> np.ndarray:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: truncated or oversized IDX data ({len(raw) - header} bytes, "
                         f"expected {expected} for shape {shape})")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _download(name: str, target: Path) -> None:
    errors = []
    for mirror in MNIST_MIRRORS:
        try:
            tmp = target.with_suffix(".part")
            with urllib.request.urlopen(mirror + name, timeout=30) as response, \
                    open(tmp, "wb") as fh:
                shutil.copyfileobj(response, fh)
            tmp.replace(target)
            return
        except OSError as exc:
            errors.append(f"{mirror}: {exc}")
    raise FileNotFoundError(
        f"MNIST file {name} is missing and could not be downloaded ({'; '.join(errors)}). "
        f"Put the four standard IDX files ({', '.join(MNIST_FILES)}) in {target.parent} "
        "or set NETCORE_DATA_DIR to a folder whose mnist/ subfolder holds them."
    )


def _mnist_arrays(directory: Path, download: bool) -> dict[str, np.ndarray]:
    arrays = {}
    for name, sha in MNIST_FILES.items():
        path = directory / name
        if not path.exists():
            if not download:
                raise FileNotFoundError(f"{path} is missing; put the MNIST IDX files in {directory}")
            directory.mkdir(parents=True, exist_ok=True)
            log.info("downloading %s to %s", name, directory)
            _download(name, path)
        arrays[name.split("-idx")[0]] = read_idx(path, sha)
    return arrays


def _scaled(images: np.ndarray, dtype) -> np.ndarray:
    pixels = images.reshape(len(images), -1).astype(dtype)
    pixels /= 255
    return pixels


def _prepared_mnist(directory: Path, download: bool, dtype) -> dict[str, np.ndarray]:
    arrays = _mnist_arrays(directory, download)
    return {"train_images": _scaled(arrays["train-images"], dtype),
            "train_labels": arrays["train-labels"].astype(np.int64),
            "test_images": _scaled(arrays["t10k-images"], dtype),
            "test_labels": arrays["t10k-labels"].astype(np.int64)}


def _mnist_cache_key(dtype) -> str:
    # Only checksum-verified files are ever decoded, so the expected checksums name
    # the content wherever the files were read from.
    digest = hashlib.sha256("".join(MNIST_FILES.values()).encode()).hexdigest()[:16]
    return f"mnist-{np.dtype(dtype).name}-{digest}"


def load_mnist(*, dtype="float32", download: bool = True, directory: str | Path | None = None,
               cache: bool = True) -> Dataset:
    """MNIST with the classic split: 50,000 train, the last 10,000 validate, t10k tests.

    Pixels are scaled to [0, 1] and flattened to 784 features. With ``cache``
    (the default) the decoded arrays are saved once in ``netcore.array_cache``'s
    folder and later loads memory-map them: milliseconds instead of most of a
    second, and one copy in memory for all the processes of a search.
    """
    build = functools.partial(_prepared_mnist, Path(directory) if directory else mnist_dir(),
                              download, dtype)
    arrays = cached_arrays(_mnist_cache_key(dtype), build) if cache else build()
    images, labels = arrays["train_images"], arrays["train_labels"]
    return Dataset("mnist", images[:50000], labels[:50000], images[50000:], labels[50000:],
                   arrays["test_images"], arrays["test_labels"], 10)


def _digits_file() -> Path | None:
    """scikit-learn's bundled digits file, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def _digits_cache_key(dtype, seed: int) -> str | None:
    # The bundled file and the version of the code that splits it name the content;
    # None (no caching) when the file is not where it is expected.
    path = _digits_file()
    if path is None:
        return None
    source = path.read_bytes() + importlib.metadata.version("scikit-learn").encode()
    digest = hashlib.sha256(source).hexdigest()[:16]
    return f"digits-{np.dtype(dtype).name}-seed{seed}-{digest}"


def _prepared_digits(dtype, seed) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    X, y = sk_digits(return_X_y=True)
    X = (X / 16.0).astype(dtype)
    y = y.astype(np.int64)
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, test_size=0.4, stratify=y,
                                                  random_state=seed)
    X_val, X_te, y_val, y_te = train_test_split(X_rest, y_rest, test_size=0.5,
                                                stratify=y_rest, random_state=seed)
    return {"X_train": X_tr, "y_train": y_tr, "X_val": X_val, "y_val": y_val,
            "X_test": X_te, "y_test": y_te}


def load_digits(*, dtype="float32", seed: int = 0, cache: bool = True) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images), a fixed stratified 60/20/20 split.

    With ``cache`` (the default) the split arrays are saved once in
    ``netcore.array_cache``'s folder and later loads memory-map them without
    importing scikit-learn: a worker process of a search starts about a second sooner.
    """
    build = functools.partial(_prepared_digits, dtype, seed)
    key = _digits_cache_key(dtype, seed) if cache and isinstance(seed, int) else None
    arrays = build() if key is None else cached_arrays(key, build)
    return Dataset("digits", **arrays, n_classes=10)


def make_spirals(n_samples: int, *, n_classes: int = 3, noise: float = 0.2,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved 2-D spirals, one arm per class (the cs231n toy problem)."""
    per_class = n_samples // n_classes
    X = np.empty((per_class * n_classes, 2))
    y = np.repeat(np.arange(n_classes), per_class)
    for k in range(n_classes):
        radius = np.linspace(0.05, 1.0, per_class)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, per_class) + rng.normal(0, noise, per_class)
        rows = slice(k * per_class, (k + 1) * per_class)
        X[rows] = np.column_stack([radius * np.sin(theta), radius * np.cos(theta)])
    return X, y


def load_spirals(*, dtype="float32", seed: int = 0, n_samples: int = 3000,
                 n_classes: int = 3) -> Dataset:
    """Seeded synthetic spirals, shuffled and split 60/20/20."""
    rng = np.random.default_rng(seed)
    X, y = make_spirals(n_samples, n_classes=n_classes, rng=rng)
    order = rng.permutation(len(X))
    X, y = X[order].astype(dtype), y[order].astype(np.int64)
    a, b = int(0.6 * len(X)), int(0.8 * len(X))
    return Dataset("spirals", X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], n_classes)


DATASETS = {"mnist": load_mnist, "digits": load_digits, "spirals": load_spirals}


def load_dataset(name: str, **options) -> Dataset:
    """Load a dataset by name: ``"mnist"``, ``"digits"`` or ``"spirals"``.

    Options go to the loader (e.g. ``dtype="float64"``, ``seed=`` for spirals).
    """
    if name not in DATASETS:
        raise ValueError(f"The 'name' parameter must be one of {sorted(DATASETS)}. Got {name!r}.")
    return DATASETS[name](**options)
