"""MNIST: reading the standard IDX files, downloading them when missing, and the classic split.

The four IDX files are read from ``mnist_dir()`` and checked against their
SHA-256; the decoded arrays are kept in ``netcore.data.cache``'s folder.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import os
import shutil
import struct
import urllib.request
from pathlib import Path

import numpy as np

from netcore.data.cache import cached_arrays, user_cache_root
from netcore.data.dataset import Dataset

log = logging.getLogger(__name__)

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
    (the default) the decoded arrays are saved once in ``netcore.data.cache``'s
    folder and later loads memory-map them: milliseconds instead of most of a
    second, and one copy in memory for all the processes of a search.
    """
    build = functools.partial(_prepared_mnist, Path(directory) if directory else mnist_dir(),
                              download, dtype)
    arrays = cached_arrays(_mnist_cache_key(dtype), build) if cache else build()
    images, labels = arrays["train_images"], arrays["train_labels"]
    return Dataset("mnist", images[:50000], labels[:50000], images[50000:], labels[50000:],
                   arrays["test_images"], arrays["test_labels"], 10)
