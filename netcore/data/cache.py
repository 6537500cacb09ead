"""A disk cache of prepared dataset arrays, memory-mapped when loaded.

Decoding MNIST (gunzip, checksums, scaling to float32) takes most of a second
and gives every process its own 220 MB copy. A search starts one worker
process per core and each would pay both. Saved once as ``.npy`` files, the
prepared arrays load in milliseconds as copy-on-write memory maps: processes
share the pages through the OS page cache, and a write to an array stays
private to the process that makes it (the file never changes).

The cache lives in ``$NETCORE_CACHE_DIR``, else ``~/.cache/netcore/arrays``.
A cache that cannot be written (read-only or full disk) is skipped with a
warning; an incomplete or damaged entry is rebuilt.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Bump when the layout of an entry changes, so old entries are not read.
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"


def user_cache_root() -> Path:
    """``~/.cache/netcore``: the default home of downloaded and cached data."""
    return Path.home() / ".cache" / "netcore"


def cache_dir() -> Path:
    """``$NETCORE_CACHE_DIR`` if set, else ``~/.cache/netcore/arrays``."""
    root = os.environ.get("NETCORE_CACHE_DIR")
    return Path(root) if root else user_cache_root() / "arrays"


def cached_arrays(key: str, build: Callable[[], dict[str, np.ndarray]]
                  ) -> dict[str, np.ndarray]:
    """The arrays ``build()`` returns, memory-mapped from the cache entry ``key`` if it exists.

    ``key`` must name the content exactly (source checksums, dtype): an entry is
    never checked against its source. On a miss the arrays are built, saved,
    and returned as built.
    """
    folder = cache_dir() / f"{key}-v{FORMAT_VERSION}"
    arrays = _read(folder)
    if arrays is not None:
        return arrays
    arrays = build()
    try:
        _write(folder, arrays)
    except OSError as exc:
        log.warning("cannot cache %s in %s (%s); loading it from source each time", key,
                    folder, exc)
    return arrays


def is_memory_mapped(array: np.ndarray) -> bool:
    """True when ``array`` is (a view of) a memory-mapped file, e.g. a cache hit."""
    base = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return isinstance(base, mmap.mmap)


def _read(folder: Path) -> dict[str, np.ndarray] | None:
    # A missing, partial or damaged entry (files or manifest) is a miss.
    try:
        manifest = json.loads((folder / _MANIFEST).read_text())
        return load_arrays(folder, manifest, mmap_mode="c")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def _write(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    save_arrays(folder, arrays, _MANIFEST, array_specs(arrays))


def array_specs(arrays: dict[str, np.ndarray]) -> dict[str, dict]:
    """``{name: {"shape": [...], "dtype": "..."}}``: what a manifest records of each array."""
    return {name: {"shape": list(a.shape), "dtype": str(a.dtype)} for name, a in arrays.items()}


def save_arrays(folder: Path, arrays: dict[str, np.ndarray], manifest_name: str, manifest: dict) -> None:
    """Write each array as ``<name>.npy`` and then ``manifest`` as JSON, each atomically.

    The manifest comes last: a folder is complete once it is there.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_atomically(folder / f"{name}.npy",
                         lambda fh, a=array: np.save(fh, np.ascontiguousarray(a), allow_pickle=False))
    write_atomically(folder / manifest_name, lambda fh: fh.write(json.dumps(manifest).encode()))


def load_arrays(folder: Path, specs: dict[str, dict], *, mmap_mode: str | None) -> dict[str, np.ndarray]:
    """The arrays ``<name>.npy`` named in ``specs`` (as ``array_specs`` writes them).

    Raises:
        OSError: a file is missing or unreadable.
        ValueError, KeyError, TypeError: a file is not a plain ``.npy`` array, or
            its shape or dtype is not what ``specs`` says.
    """
    arrays = {}
    for name, spec in specs.items():
        array = np.load(folder / f"{name}.npy", mmap_mode=mmap_mode, allow_pickle=False)
        if list(array.shape) != spec["shape"] or str(array.dtype) != spec["dtype"]:
            raise ValueError(f"{name}.npy holds {array.dtype} of shape {list(array.shape)}, "
                             f"expected {spec['dtype']} of shape {spec['shape']}")
        # A plain ndarray view of the map: the np.memmap subclass would leak into results.
        arrays[name] = np.asarray(array)
    return arrays


def write_atomically(path: Path, write: Callable) -> None:
    """Call ``write(file)`` on a private temporary file, then rename it to ``path``.

    Processes that write the same file at once never read each other's partial
    files, and a failed write leaves the old file (or none) in place.
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # left only when writing failed
