"""Save and load models as one .npz file holding arrays and JSON metadata.

Nothing is pickled: loading uses ``allow_pickle=False``, so a crafted file
cannot run code; it can only fail to load. The metadata is checked before any
model is built, so a tiny file claiming a huge network is refused instead of
allocating it.
"""

from __future__ import annotations

import json
import numbers
import zipfile
from pathlib import Path

import numpy as np

from netcore.model import MLP, param_count
from netcore.tabular import Preprocessing

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

    Raises:
        ValueError: if the file is not a valid netcore model (naming the file and the fault).
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: not a readable netcore model file ({exc})") from None
    try:
        metadata = _metadata(arrays)
        config = _checked_config(metadata, arrays)
        preprocessing = _preprocessing(metadata, config)
        model = MLP(**config)
        model.params[...] = arrays["params"]
        model.set_buffers({k.split(":", 1)[1]: v for k, v in arrays.items()
                           if k.startswith("buffer:")})
        model.preprocessing = preprocessing  # checked against the net's widths and loss
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid netcore model file ({exc})") from None
    return model


def _metadata(arrays: dict[str, np.ndarray]) -> dict:
    for key in ("metadata", "params"):
        if key not in arrays:
            raise ValueError(f"no {key!r} array")
    metadata = json.loads(arrays["metadata"].tobytes().decode("utf-8"))
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        found = metadata.get("format") if isinstance(metadata, dict) else metadata
        raise ValueError(f"format is {found!r}, expected {FORMAT!r}")
    if not isinstance(metadata.get("config"), dict):
        raise ValueError(f"metadata 'config' must be a dict, got {metadata.get('config')!r}")
    return metadata


def _checked_config(metadata: dict, arrays: dict[str, np.ndarray]) -> dict:
    """The model config, once it is complete and implies exactly the stored parameter count."""
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
    params = arrays["params"]
    expected = param_count(config)  # counted from shapes: nothing allocated yet
    if params.ndim != 1 or params.shape[0] != expected:
        raise ValueError(f"{params.size} parameters stored, {expected} expected for sizes {sizes}")
    return config


def _preprocessing(metadata: dict, config: dict) -> Preprocessing | None:
    if metadata.get("preprocessing") is None:
        return None
    prep = Preprocessing.from_dict(metadata["preprocessing"])
    if prep.n_features is not None and prep.n_features != config["sizes"][0]:
        raise ValueError(f"preprocessing has {prep.n_features} features, the model's input layer "
                         f"{config['sizes'][0]}")
    return prep
