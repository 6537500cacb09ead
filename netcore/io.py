"""Save and load models as one .npz file holding arrays and JSON metadata.

Nothing is pickled: arrays are read by ``netcore.safe_npz``, so a crafted file
cannot run code; it can only fail to load. The metadata is checked before any
array is read or model built, so a tiny file claiming a huge network (or
holding a huge member) is refused instead of allocating it; every field is
checked, weights must be finite.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

import numpy as np

from netcore.data.tabular import Preprocessing
from netcore.losses import get_loss
from netcore.model import MLP, param_count
from netcore.safe_npz import NpzArchive

FORMAT = "netcore-mlp"
VERSION = 1
# Config values a model cannot be built without; the others have defaults
# (and "seed" and "activation_options" may be null).
_REQUIRED = ("sizes", "activation", "loss", "dtype")
_NULLABLE = ("seed", "activation_options")


def save(model: MLP, path: str | Path) -> Path:
    """Write ``model`` (and its ``preprocessing``, if set) to ``path`` (``.npz`` is appended when missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    metadata = {"format": FORMAT, "version": VERSION, "config": model.get_config()}
    if model.preprocessing is not None:
        metadata["preprocessing"] = model.preprocessing.to_dict()
    meta_bytes = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
    buffers = {f"buffer:{k}": v for k, v in model.get_buffers().items()}
    np.savez(path, metadata=meta_bytes, params=model.params, **buffers)
    return path


def load(path: str | Path) -> MLP:
    """Read a model written by ``save``, with its ``preprocessing`` (None in files without one).

    Only the arrays the format defines are read, each after its size is checked
    against the metadata (see ``netcore.safe_npz``): a small hostile file cannot
    make the loader decompress or allocate gigabytes.

    Raises:
        ValueError: if the file is not a valid netcore model (naming the file and the fault).
    """
    path = Path(path)
    try:
        archive = NpzArchive(path)
    except ValueError as exc:
        raise ValueError(f"{path}: not a readable netcore model file ({exc})") from None
    with archive:
        try:
            return _read_model(archive)
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a valid netcore model file ({exc})") from None


def _read_model(archive: NpzArchive) -> MLP:
    metadata = _metadata(archive)
    config = _checked_config(metadata, archive)
    preprocessing = _preprocessing(metadata, config)
    params = _finite(archive.array("params"), "params")
    model = MLP(**config)
    model.params[...] = params
    model.set_buffers(_buffers(archive, model))
    model.preprocessing = preprocessing  # checked against the net's widths and loss
    return model


def _metadata(archive: NpzArchive) -> dict:
    for key in ("metadata", "params"):
        if key not in archive.names:
            raise ValueError(f"no {key!r} array")
    metadata = archive.json("metadata")
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        found = metadata.get("format") if isinstance(metadata, dict) else metadata
        raise ValueError(f"format is {found!r}, expected {FORMAT!r}")
    version = metadata.get("version")
    if type(version) is not int or version != VERSION:
        raise ValueError(f"format 'version' is {version!r}; this netcore reads version {VERSION}")
    if not isinstance(metadata.get("config"), dict):
        raise ValueError(f"metadata 'config' must be a dict, got {metadata.get('config')!r}")
    return metadata


def _checked_config(metadata: dict, archive: NpzArchive) -> dict:
    """The model config, once it is complete and implies exactly the stored parameters
    (their count and dtype, read from the array's header alone)."""
    config = metadata["config"]
    for key in _REQUIRED:
        if config.get(key) is None:
            raise ValueError(f"config {key!r} is missing or null")
    nulls = [key for key, value in config.items() if value is None and key not in _NULLABLE]
    if nulls:
        raise ValueError(f"config {nulls[0]!r} is null")
    sizes = config["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(
            isinstance(w, numbers.Integral) and not isinstance(w, bool) and w > 0 for w in sizes):
        raise ValueError(f"config 'sizes' must be a list of at least 2 positive integers, got {sizes!r}")
    params = archive.header("params")
    expected = param_count(config)  # counted from shapes: nothing allocated yet
    if len(params.shape) != 1 or params.shape[0] != expected:
        raise ValueError(f"{math.prod(params.shape)} parameters stored, {expected} expected for "
                         f"sizes {sizes}")
    if params.dtype != np.dtype(config["dtype"]):
        raise ValueError(f"'params' are {params.dtype}, config 'dtype' is {config['dtype']!r}")
    return config


def _buffers(archive: NpzArchive, model: MLP) -> dict[str, np.ndarray]:
    """The stored buffers (batch-norm statistics): exactly the model's, each of its shape."""
    expected = model.get_buffers()
    stored = sorted(name.split(":", 1)[1] for name in archive.names if name.startswith("buffer:"))
    if stored != sorted(expected):
        raise ValueError(f"buffers {stored} stored, {sorted(expected)} expected")
    buffers = {}
    for key, like in expected.items():
        name = f"buffer:{key}"
        header = archive.header(name)
        if header.shape != like.shape or header.dtype != like.dtype:
            raise ValueError(f"{name!r} is {header.shape} {header.dtype}, expected "
                             f"{like.shape} {like.dtype}")
        buffers[key] = _finite(archive.array(name), name)
    return buffers


def _finite(array: np.ndarray, name: str) -> np.ndarray:
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise ValueError(f"{name!r} holds {bad} NaN or infinite values")
    return array


def _preprocessing(metadata: dict, config: dict) -> Preprocessing | None:
    if metadata.get("preprocessing") is None:
        return None
    prep = Preprocessing.from_dict(metadata["preprocessing"])
    if prep.n_features is not None and prep.n_features != config["sizes"][0]:
        raise ValueError(f"preprocessing has {prep.n_features} features, the model's input layer "
                         f"{config['sizes'][0]}")
    if prep.classes is not None:
        _check_classes(prep.classes, config)
    return prep


def _check_classes(classes: tuple, config: dict) -> None:
    """A classifier has one output per class (or one sigmoid output for two classes)."""
    n_out, loss = config["sizes"][-1], config["loss"]
    if not get_loss(loss).is_classifier or not (
            n_out == len(classes) or (n_out == 1 and len(classes) == 2)):
        raise ValueError(f"preprocessing 'classes' lists {len(classes)} labels for a {loss!r} "
                         f"model with {n_out} outputs")
