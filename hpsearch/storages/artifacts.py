"""A study's files beside its storage: its own data and the models of its best trials.

A study on ``sqlite:///runs.db`` keeps them in ``runs.db.artifacts/<folder>/``
(``data/``: the user's arrays, memory-mapped by every worker; ``models/``: one
netcore model file per kept trial; ``checkpoints/``: the paused trainings of
multi-fidelity strategies, one per job that may be continued). Journal files work the same way. Server
databases (PostgreSQL, ...) keep them under ``$HPSEARCH_ARTIFACTS`` (default
``hpsearch-artifacts`` in the working folder), and in-memory studies in a
temporary folder of the process.

A study's folder is named when the study is created: a readable form of its
name and a random key, recorded in the storage (``hpsearch:artifacts``). No
other study, whatever its name or the file system's case rules, can have the
same folder; a study deleted and created again gets a new one.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from pathlib import Path

from hpsearch.storages import records
from hpsearch.storages.database import normalize_url, storage_file

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# A name kept as it is: lower case (two names differing in case must not meet on a
# case-insensitive file system) and not ending like a hashed name does.
_KEPT = re.compile(r"(?![.])[a-z0-9._-]{1,64}(?<![.])")
_HASHED = re.compile(r".*-[0-9a-f]{8}")
_FOLDER = re.compile(r"[A-Za-z0-9._-]{1,120}")
_TEMP_ROOT: dict[str, Path] = {}


def safe_name(name: str) -> str:
    """A folder name for ``name``: safe characters only, one folder name per name.

    A lower-case name of safe characters is kept as it is; any other gets a readable
    form and a hash of the exact name, so that ``"a b"``, ``"a_b-<hash>"``, ``"A"`` and
    ``"a"`` all name different folders.
    """
    if _KEPT.fullmatch(name) and not _HASHED.fullmatch(name):
        return name
    return f"{_slug(name, 64)}-{_name_hash(name)}"


def legacy_folder(name: str) -> str:
    """The folder name studies created before per-study keys used (kept readable for them)."""
    slug = _slug(name, 64)
    return slug if slug == name else f"{slug}-{_name_hash(name)}"


def new_folder(name: str) -> str:
    """A fresh folder name for a new study: a readable form of ``name`` and a random key."""
    return f"{_slug(name, 48)}-{secrets.token_hex(6)}"


def _slug(name: str, limit: int) -> str:
    """A readable form of ``name`` in safe characters, at most ``limit`` of them."""
    return _UNSAFE.sub("_", name).strip("._")[:limit] or "study"


def _name_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def check_folder(folder: str) -> str:
    """``folder`` as read from a storage, refused unless it is one plain folder name.

    Raises:
        ValueError: for a name that could lead out of the artifacts folder.
    """
    if not isinstance(folder, str) or not _FOLDER.fullmatch(folder) or folder in (".", ".."):
        raise ValueError(f"the stored artifacts folder {folder!r} is not a plain folder name")
    return folder


def artifacts_root(url: str) -> Path:
    """The folder that holds the study folders of the storage ``url``."""
    url = normalize_url(url)
    path = storage_file(url)
    if path is not None:
        return path.with_name(path.name + ".artifacts")
    if url in ("memory", "memory://"):
        if "root" not in _TEMP_ROOT:
            _TEMP_ROOT["root"] = Path(tempfile.mkdtemp(prefix="hpsearch-memory-"))
        return _TEMP_ROOT["root"]
    base = Path(os.environ.get("HPSEARCH_ARTIFACTS", "hpsearch-artifacts")).resolve()
    return base / safe_name(url.split("@")[-1])


def study_dir(url: str, folder: str) -> Path:
    """The folder of one study: ``folder`` (its recorded name) under the storage's root."""
    return artifacts_root(url) / check_folder(folder)


def study_folder(url: str, storage, study_id: int, name: str) -> Path | None:
    """The folder of the study ``study_id`` named ``name`` in ``storage`` (at ``url``).

    It is the folder recorded at creation; a study created before folders were
    recorded keeps the one named after it, and a study hpsearch did not create has none.

    Raises:
        ValueError: when the recorded folder name is not a plain folder name.
    """
    attrs = storage.get_study_user_attrs(study_id)
    if records.ARTIFACTS in attrs:
        return study_dir(url, attrs[records.ARTIFACTS])
    return study_dir(url, legacy_folder(name)) if records.CONFIG in attrs else None


def data_dir(folder: Path) -> Path:
    return folder / "data"


def models_dir(folder: Path) -> Path:
    return folder / "models"


def model_path(folder: Path, slot: int, trial_id: int) -> Path:
    """One file per attempt of a slot: a re-run never overwrites another attempt's file."""
    return models_dir(folder) / f"trial-{slot:05d}-{trial_id}.npz"


def checkpoint_path(folder: Path, slot: int) -> Path:
    """The training state a paused job of ``slot`` saves (one per slot: a re-run of
    the slot trains the same epochs from the same start and writes the same state)."""
    return folder / "checkpoints" / f"job-{slot:05d}.npz"


def curve_path(folder: Path, trial_id: int) -> Path:
    """The curve file of a running trial (removed when its result is recorded)."""
    return folder / "curves" / f"trial-{trial_id}.txt"
