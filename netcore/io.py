"""Save and load models as one .npz file holding arrays and JSON metadata.

Nothing is pickled: loading uses ``allow_pickle=False``, so a crafted file
cannot run code; it can only fail to load.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from netcore.model import MLP

FORMAT = "netcore-mlp"
VERSION = 1


def save(model: MLP, path: str | Path) -> Path:
    """Write ``model`` to ``path`` (``.npz`` is appended when missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    metadata = {"format": FORMAT, "version": VERSION, "config": model.get_config()}
    meta_bytes = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
    buffers = {f"buffer:{k}": v for k, v in model.get_buffers().items()}
    np.savez(path, metadata=meta_bytes, params=model.params, **buffers)
    return path


def load(path: str | Path) -> MLP:
    """Read a model written by ``save``.

    Raises:
        ValueError: if the file is not a netcore model (naming the file).
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: not a readable netcore model file ({exc})") from None
    try:
        metadata = json.loads(arrays["metadata"].tobytes().decode("utf-8"))
        if metadata.get("format") != FORMAT:
            raise ValueError(f"format is {metadata.get('format')!r}, expected {FORMAT!r}")
        model = MLP(**metadata["config"])
        params = arrays["params"]
        if params.shape != model.params.shape:
            raise ValueError(f"{params.shape[0]} parameters stored, {model.n_params} expected")
        model.params[...] = params
        model.set_buffers({k.split(":", 1)[1]: v for k, v in arrays.items()
                           if k.startswith("buffer:")})
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid netcore model file ({exc})") from None
    return model
