"""A study's files beside its storage: its own data and the models of its best trials.

A study on ``sqlite:///runs.db`` keeps them in ``runs.db.artifacts/<study>/``
(``data/``: the user's arrays, memory-mapped by every worker; ``models/``: one
netcore model file per kept trial; ``checkpoints/``: the paused trainings of
multi-fidelity strategies, one per job that may be continued). Journal files work the same way. Server
databases (PostgreSQL, ...) keep them under ``$HPSEARCH_ARTIFACTS`` (default
``hpsearch-artifacts`` in the working folder), and in-memory studies in a
temporary folder of the process. Folders are named from the study name with
anything that could leave the folder (``/``, ``..``) replaced.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from hpsearch.storages.database import _journal_path, _sqlite_path, normalize_url

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_TEMP_ROOT: dict[str, Path] = {}


def safe_name(name: str) -> str:
    """A folder name for ``name``: safe characters only, unique per name."""
    slug = _SAFE.sub("_", name).strip("._")[:64] or "study"
    if slug != name:
        slug += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return slug


def artifacts_root(url: str) -> Path:
    """The folder that holds the study folders of the storage ``url``."""
    url = normalize_url(url)
    path = _sqlite_path(url) or _journal_path(url)
    if path is not None:
        return path.with_name(path.name + ".artifacts")
    if url in ("memory", "memory://"):
        if "root" not in _TEMP_ROOT:
            _TEMP_ROOT["root"] = Path(tempfile.mkdtemp(prefix="hpsearch-memory-"))
        return _TEMP_ROOT["root"]
    base = Path(os.environ.get("HPSEARCH_ARTIFACTS", "hpsearch-artifacts")).resolve()
    return base / safe_name(url.split("@")[-1])


def study_dir(url: str, name: str) -> Path:
    return artifacts_root(url) / safe_name(name)


def data_dir(url: str, name: str) -> Path:
    return study_dir(url, name) / "data"


def models_dir(url: str, name: str) -> Path:
    return study_dir(url, name) / "models"


def model_path(url: str, name: str, slot: int, trial_id: int) -> Path:
    """One file per attempt of a slot: a re-run never overwrites another attempt's file."""
    return models_dir(url, name) / f"trial-{slot:05d}-{trial_id}.npz"


def checkpoint_path(url: str, name: str, slot: int) -> Path:
    """The training state a paused job of ``slot`` saves (one per slot: a re-run of
    the slot trains the same epochs from the same start and writes the same state)."""
    return study_dir(url, name) / "checkpoints" / f"job-{slot:05d}.npz"
