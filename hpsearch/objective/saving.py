"""Files a trial writes (its model, a paused job's checkpoint), renamed into place whole."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import netcore


def save_model(model: netcore.MLP, path: Path) -> Path:
    """Save ``model`` (``netcore.save``) at ``path`` atomically; returns ``path``."""
    return save_atomically(functools.partial(netcore.save, model), path)


def save_atomically(save: Callable[[Path], Path], path: Path) -> Path:
    """Call ``save`` on a temporary name beside ``path`` and rename its file to ``path``.

    The temporary name is ``<stem>.<pid>.partial.npz``, which the study's cleanup knows."""
    # Written under a private name and renamed: a killed worker leaves no half file.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    try:
        os.replace(save(partial), path)
    except BaseException:  # a full disk: the half-written file must not stay behind
        partial.unlink(missing_ok=True)
        raise
    return path
