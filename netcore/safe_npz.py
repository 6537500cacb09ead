"""Reading ``.npz`` archives that may be hostile: only the members asked for, each checked first.

``np.load`` decompresses whatever member is asked for, as large as its ``.npy``
header says: a small file can then hold a member that inflates to gigabytes (a
zip bomb) or a header that claims terabytes. ``NpzArchive`` reads a member only
when a loader asks for it by name, and before reading checks that

- its ``.npy`` header describes a plain array (no Python objects: nothing is unpickled),
- the archive's uncompressed size of the member (``ZipInfo.file_size``) is exactly
  the header plus shape x itemsize, so decompression ends where the array does,
- that size stays within a bound (the caller's, else the machine's memory).

JSON members (UTF-8 bytes in a ``uint8`` array) are read within a size bound and
parsed within a nesting bound, so deep nesting is a ValueError, not a RecursionError.
Every fault is a ValueError naming the member; loaders add the file's name.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

JSON_MAX_BYTES = 64 * 2**20  # far above any metadata netcore writes
JSON_MAX_DEPTH = 64  # netcore's metadata nests a few levels
_READ_ERRORS = (OSError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error)
# What np.savez and np.savez_compressed write; bzip2 and lzma would inflate a whole
# compressed block at once, beyond any bound a reader asks for.
_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_HEADER_READERS = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}


def memory_bound() -> int:
    """The machine's physical memory in bytes (16 GiB where it cannot be asked): no
    single array a loader reads may be larger."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 16 * 2**30


def size_text(n_bytes: int) -> str:
    """``n_bytes`` for people: ``"8.0 TB"``, ``"512.0 MB"``, ``"80 bytes"``."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"


@dataclass(frozen=True)
class ArrayHeader:
    """What a member's ``.npy`` header says, checked against the archive's size of it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int


class NpzArchive:
    """An ``.npz`` file opened for checked reads of single members (see the module docstring).

    >>> with NpzArchive("model.npz") as archive:          # doctest: +SKIP
    ...     params = archive.array("params", max_bytes=2**20)

    Raises:
        ValueError: when the file is missing or not a zip archive.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (*_READ_ERRORS, ValueError) as exc:
            raise ValueError(f"not a readable .npz archive ({exc})") from None
        self._members = {info.filename[:-4]: info for info in self._zip.infolist()
                         if info.filename.endswith(".npy")}

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc_info) -> None:
        self._zip.close()

    @property
    def names(self) -> list[str]:
        """The names of the archive's arrays, sorted."""
        return sorted(self._members)

    def header(self, name: str) -> ArrayHeader:
        """The checked header of the array ``name``; nothing else of it is read.

        Raises:
            ValueError: when it is missing, holds objects, is not a plain array or its
                size in the archive differs from the size its header describes.
        """
        info = self._members.get(name)
        if info is None:
            raise ValueError(f"no array {name!r} (the archive holds {self.names})")
        if info.compress_type not in _COMPRESSIONS:
            raise ValueError(f"array {name!r} uses zip compression method {info.compress_type}; "
                             f"the ones read are {sorted(_COMPRESSIONS.values())}")
        try:
            with self._zip.open(info) as member:
                shape, _, dtype = _read_header(member)
                header_size = member.tell()
        except (*_READ_ERRORS, ValueError, SyntaxError, RecursionError) as exc:
            raise ValueError(f"array {name!r} has a damaged .npy header ({exc})") from None
        _check_plain(name, shape, dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if info.file_size != header_size + nbytes:
            raise ValueError(f"array {name!r} is damaged: its header describes {shape} {dtype} "
                             f"({size_text(nbytes)}), the archive holds "
                             f"{size_text(info.file_size - header_size)} of data")
        return ArrayHeader(tuple(shape), dtype, nbytes)

    def array(self, name: str, *, max_bytes: int | None = None) -> np.ndarray:
        """The array ``name``, read after its header is checked and its size bounded.

        Args:
            max_bytes: the largest array accepted (default: ``memory_bound()``).

        Raises:
            ValueError: for a fault of ``header``, an array above the bound, or damaged data.
        """
        header = self.header(name)
        check_size(name, header, memory_bound() if max_bytes is None else max_bytes)
        try:
            with self._zip.open(self._members[name]) as member:
                return npy.read_array(member, allow_pickle=False)
        except MemoryError:
            raise ValueError(f"array {name!r} ({header.shape} {header.dtype}, "
                             f"{size_text(header.nbytes)}) does not fit in memory") from None
        except (*_READ_ERRORS, ValueError) as exc:
            raise ValueError(f"array {name!r} is damaged ({exc})") from None

    def json(self, name: str, *, max_bytes: int = JSON_MAX_BYTES):
        """The JSON value stored as UTF-8 bytes in the ``uint8`` array ``name``.

        Raises:
            ValueError: for a fault of ``array``, text that is not JSON, or nesting
                deeper than ``JSON_MAX_DEPTH``.
        """
        header = self.header(name)
        if header.dtype != np.uint8 or len(header.shape) != 1:
            raise ValueError(f"array {name!r} must hold JSON text as 1-D uint8, got "
                             f"{header.shape} {header.dtype}")
        text = self.array(name, max_bytes=max_bytes).tobytes()
        try:
            value = json.loads(text.decode("utf-8"))
        except RecursionError:
            raise ValueError(f"{name!r} nests deeper than {JSON_MAX_DEPTH} levels") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{name!r} is not JSON text ({exc})") from None
        check_depth(value, name)
        return value


def _read_header(member) -> tuple:
    version = npy.read_magic(member)
    reader = _HEADER_READERS.get(version)
    if reader is None:
        raise ValueError(f".npy format version {version} (this reader knows 1.0 and 2.0)")
    return reader(member)


def _check_plain(name: str, shape: tuple, dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise ValueError(f"array {name!r} holds Python objects, which are never unpickled; "
                         "store numbers or fixed-width strings")
    if dtype.names is not None or dtype.subdtype is not None:
        raise ValueError(f"array {name!r} has the structured dtype {dtype}; plain arrays only")
    if any(n < 0 for n in shape):
        raise ValueError(f"array {name!r} has a negative size in its shape {shape}")


def check_size(name: str, header: ArrayHeader, max_bytes: int) -> None:
    """Refuse an array above ``max_bytes`` (counting at least one byte an element,
    so that a huge shape of zero-width items is refused too)."""
    size = max(header.nbytes, math.prod(header.shape))
    if size > max_bytes:
        raise ValueError(f"array {name!r} claims {header.shape} {header.dtype} "
                         f"({size_text(size)}), more than the {size_text(max_bytes)} allowed")


def check_depth(value, name: str, max_depth: int = JSON_MAX_DEPTH) -> None:
    """Refuse JSON ``value`` nested deeper than ``max_depth`` (checked without recursion)."""
    level = [value]
    for _ in range(max_depth + 1):
        level = [child for item in level if isinstance(item, dict | list)
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return
    raise ValueError(f"{name!r} nests deeper than {max_depth} levels")
