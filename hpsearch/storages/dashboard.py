"""What optuna-dashboard shows of a study beyond its trials: artifacts and the study note.

Artifacts (kept models, plots) are files of Optuna's artifact store
(``optuna.artifacts``): each study keeps them in ``<its folder>/artifacts/``,
so deleting the study removes them with its folder. ``StorageArtifacts`` is the
one store over all the studies of a storage that ``hpsearch dashboard`` serves:
it finds an artifact in the study folder that holds it.

The study note is the Markdown text optuna-dashboard shows on the study page. It
is kept in the study's system attributes as the dashboard keeps its notes (a
version ``dashboard:note_ver`` and the text in numbered pieces
``dashboard:note_str:<i>`` of at most ``NOTE_PIECE`` characters), so writing it
needs no part of optuna-dashboard, which stays an optional extra.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

ARTIFACTS_PREFIX = "artifacts:"  # Optuna's attribute of an artifact's metadata
NOTE_VERSION, NOTE_PIECE_KEY, NOTE_PIECE = "dashboard:note_ver", "dashboard:note_str:", 2045
# The artifacts hpsearch published, by role ("plot:history.png", "model:<trial id>").
PUBLISHED = "hpsearch:published"
_ARTIFACT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def artifacts_dir(folder: Path) -> Path:
    """The artifact store's folder of a study (``folder``: the study's own folder)."""
    return folder / "artifacts"


def _checked_id(artifact_id: str) -> str:
    if not isinstance(artifact_id, str) or not _ARTIFACT_ID.fullmatch(artifact_id):
        raise ValueError(f"artifact id {artifact_id!r} is not an id Optuna makes (a UUID)")
    return artifact_id


def study_store(folder: Path):
    """Optuna's ``FileSystemArtifactStore`` in the study's artifacts folder."""
    from optuna.artifacts import FileSystemArtifactStore

    target = artifacts_dir(folder)
    target.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(target)


def upload(storage, folder: Path, path: Path, study) -> str:
    """Register the file ``path`` with the study's artifact store, listed on ``study``
    (an ``optuna.Study``); returns the artifact's id."""
    from optuna.artifacts import upload_artifact

    return upload_artifact(artifact_store=study_store(folder), file_path=str(path),
                           study_or_trial=study, storage=storage)


def withdraw(storage, study_id: int, folder: Path, artifact_id: str) -> None:
    """Remove a study artifact's file and unlist it (its metadata becomes ``null``, as
    the dashboard's own delete leaves it: an Optuna storage cannot drop an attribute)."""
    (artifacts_dir(folder) / _checked_id(artifact_id)).unlink(missing_ok=True)
    storage.set_study_system_attr(study_id, ARTIFACTS_PREFIX + artifact_id, "null")


def write_note(storage, study_id: int, body: str) -> None:
    """Make ``body`` (Markdown) the study's note, one version after the stored one."""
    attrs = storage.get_study_system_attrs(study_id)
    version = attrs.get(NOTE_VERSION, 0)
    storage.set_study_system_attr(study_id, NOTE_VERSION,
                                  (version if isinstance(version, int) else 0) + 1)
    pieces = [body[i:i + NOTE_PIECE] for i in range(0, len(body), NOTE_PIECE)]
    old = sum(key.startswith(NOTE_PIECE_KEY) for key in attrs)
    for index in range(max(len(pieces), old)):  # pieces of a longer old note become empty
        text = pieces[index] if index < len(pieces) else ""
        storage.set_study_system_attr(study_id, f"{NOTE_PIECE_KEY}{index}", text)


def read_note(storage, study_id: int) -> str:
    """The study's note ("" without one)."""
    attrs = storage.get_study_system_attrs(study_id)
    pieces = {int(k[len(NOTE_PIECE_KEY):]): v for k, v in attrs.items()
              if k.startswith(NOTE_PIECE_KEY) and k[len(NOTE_PIECE_KEY):].isdigit()}
    return "".join(str(pieces[i]) for i in sorted(pieces))


class StorageArtifacts:
    """Optuna's ``ArtifactStore`` over every study folder under ``root`` (a storage's
    artifacts root): an artifact is read from, or removed in, the folder that holds it;
    a file uploaded in the dashboard goes to ``root/uploads/artifacts/``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _find(self, artifact_id: str) -> Path:
        from optuna.artifacts.exceptions import ArtifactNotFound

        name = _checked_id(artifact_id)
        for path in self.root.glob(f"*/artifacts/{name}"):
            return path
        raise ArtifactNotFound(f"no artifact {artifact_id} under {self.root}")

    def open_reader(self, artifact_id: str) -> BinaryIO:
        return self._find(artifact_id).open("rb")

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        target = artifacts_dir(self.root / "uploads") / _checked_id(artifact_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            while chunk := content_body.read(1 << 20):
                out.write(chunk)

    def remove(self, artifact_id: str) -> None:
        self._find(artifact_id).unlink()
