"""One study in one storage: the handle that every layer above the storage uses.

``StudyStorage`` holds the Optuna storage, its URL, the study's name, id and
folder, and answers what they are asked for: the trials, the study's files
(data, models, checkpoints), the lock that serializes claims between drivers and
the bookkeeping attributes of the claims (the slot counter and the re-run queue).
``create``, ``open``, ``delete_study`` and ``list_studies`` make, find and remove
studies; opening or deleting never creates a storage file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.storages import artifacts, records
from hpsearch.storages.bulk import read_trials
from hpsearch.storages.database import (
    normalize_url,
    open_storage,
    require_file,
    retrying,
    storage_lock,
    study_names,
)

MAX_NAME_LENGTH = 200


class StudyStorage:
    """The study ``name`` in the storage at ``url`` (it must exist: see ``create``, ``open``)."""

    def __init__(self, url: str, name: str):
        self.url, self.name = normalize_url(url), name
        self.storage = open_storage(self.url)
        self.study_id = self.storage.get_study_id_from_name(name)
        self.folder = artifacts.study_folder(self.url, self.storage, self.study_id, name)

    @classmethod
    def create(cls, url: str, name: str, directions: list[str], config: dict) -> StudyStorage:
        """Create the study ``name`` with its own new folder and stored ``config`` (call
        under ``storage_lock(url)`` after finding that no study has that name)."""
        store = open_storage(normalize_url(url))
        optuna.create_study(study_name=name, storage=store, directions=directions)
        study_id = store.get_study_id_from_name(name)
        store.set_study_user_attr(study_id, records.ARTIFACTS, artifacts.new_folder(name))
        store.set_study_user_attr(study_id, records.CONFIG, config)
        return cls(url, name)

    @classmethod
    def open(cls, url: str | None, name: str | None = None) -> StudyStorage:
        """The existing study ``name`` (with ``None``: the storage's only study).

        Raises:
            FileNotFoundError: when a SQLite or journal file is missing.
            ValueError: when the storage holds no such study, none or several (``name=None``),
                or its file is a folder or a device.
        """
        url = normalize_url(url)
        require_file(url)
        names = list_studies(url) if name is None else []
        if name is None and not names:
            raise ValueError(f"{url} holds no study yet; Study.create or `hpsearch run` "
                             "creates one")
        if name is None and len(names) > 1:
            raise ValueError(f"{url} holds {len(names)} studies {names}; name one (--study "
                             "on the command line)")
        name = names[0] if name is None else name
        try:
            return cls(url, name)
        except KeyError:
            raise ValueError(f"no study named {name!r} in {url}; studies there: "
                             f"{list_studies(url)}") from None

    def stored_config(self) -> dict | None:
        """The configuration stored at creation (None for a study hpsearch did not create)."""
        return self.storage.get_study_user_attrs(self.study_id).get(records.CONFIG)

    def exists(self) -> bool:
        """True while the storage still holds this study (not deleted, not made again)."""
        try:
            return self.storage.get_study_id_from_name(self.name) == self.study_id
        except KeyError:
            return False

    def lock(self) -> contextlib.AbstractContextManager:
        """The cross-process lock of the storage's claims (``storage_lock``)."""
        return storage_lock(self.url)

    def retrying(self):
        """The Optuna storage, its calls retried while a database server restarts."""
        return retrying(self.storage, self.url)

    # Trials.
    def trials(self, *, confirmations: bool = False, curves: bool = True) -> list[FrozenTrial]:
        """The search's stored trials; with ``confirmations`` also the repeats that
        ``confirm`` trained (which are no part of the search); without ``curves`` a
        SQL storage leaves out the per-epoch lists (quicker, for tables of results)."""
        trials = self.all_trials(skip_user=() if curves else ("curves",))
        return trials if confirmations else [t for t in trials
                                             if not records.is_confirmation(t)]

    def all_trials(self, skip_user: tuple[str, ...] = ()) -> list[FrozenTrial]:
        """Every stored trial, confirmations included, read in one go (``read_trials``)."""
        return read_trials(self.storage, self.study_id, skip_user=skip_user)

    def finished_count(self) -> int:
        """The search's trials finished for good (complete, pruned or failed)."""
        return sum(records.is_finished(t) for t in self.trials())

    def completed(self, *, curves: bool = True) -> list[FrozenTrial]:
        """The search's complete trials (``curves``: as for ``trials``)."""
        return [t for t in self.trials(curves=curves) if t.state == TrialState.COMPLETE]

    def final(self, *, curves: bool = True) -> list[FrozenTrial]:
        """The complete trials that stand for their configuration: all of them, except
        paused asha/bohb jobs that a later job continued (``records.superseded``)."""
        done = self.completed(curves=curves)
        continued = records.superseded(done)
        return [t for t in done if records.slot_of(t) not in continued]

    def trial(self, trial_id: int) -> FrozenTrial | None:
        """The trial ``trial_id`` (None when it is gone)."""
        try:
            return self.storage.get_trial(trial_id)
        except KeyError:
            return None

    # The claims' bookkeeping (read and written under ``lock``).
    def system_attrs(self) -> dict:
        return self.storage.get_study_system_attrs(self.study_id)

    def set_system_attr(self, key: str, value) -> None:
        self.storage.set_study_system_attr(self.study_id, key, value)

    # The study's files.
    def data_dir(self) -> Path:
        """The folder of the study's own data.

        Raises:
            ValueError: when the folder is missing (the storage moved without it).
        """
        folder = self.raw_data_dir()
        if not (folder / "dataset.json").exists():
            raise ValueError(f"the data of study {self.name!r} is missing: no {folder}; keep "
                             "the storage's .artifacts folder beside it, or create the study "
                             "again with data=...")
        return folder

    def raw_data_dir(self) -> Path:
        """Where the study's own data is saved, whether it is there or not."""
        return artifacts.data_dir(self.folder)

    def save_data(self, data) -> None:
        """Save ``data`` (a ``netcore.Dataset``) as the study's own, unless it is saved."""
        if not (self.raw_data_dir() / "dataset.json").exists():
            data.save(self.raw_data_dir())

    def models_dir(self) -> Path:
        return artifacts.models_dir(self.folder)

    def model_path(self, slot: int, trial_id: int) -> Path:
        """The model file of one attempt (``trial_id``) at ``slot``."""
        return artifacts.model_path(self.folder, slot, trial_id)

    def curve_path(self, trial_id: int) -> Path:
        """The file a running trial's worker leaves its curve in (``storages.curves``)."""
        return artifacts.curve_path(self.folder, trial_id)

    def checkpoint_path(self, slot: int) -> Path:
        """Where the job of ``slot`` saves its paused training (asha, bohb)."""
        return artifacts.checkpoint_path(self.folder, slot)


@contextlib.contextmanager
def creation_lock(url: str | None) -> Iterator[list[str]]:
    """Hold the storage's lock while a study is created in it; yields the names of the
    studies it holds. The storage is opened first: opening a new file takes the lock too."""
    url = normalize_url(url)
    store = open_storage(url)
    with storage_lock(url):
        yield study_names(store)


def list_studies(url: str | None) -> list[str]:
    """The names of the studies in the storage at ``url``, sorted."""
    return study_names(open_storage(normalize_url(url)))


def delete_study(url: str | None, name: str) -> list[Path]:
    """Delete the study ``name`` and its folder; returns what could not be removed.

    Raises:
        FileNotFoundError, ValueError: as ``StudyStorage.open``, for a missing study too.
    """
    url = normalize_url(url)
    require_file(url)
    store = open_storage(url)
    with storage_lock(url):
        names = study_names(store)
        if name not in names:
            raise ValueError(f"no study named {name!r} in {url}; studies there: {names}")
        folder = artifacts.study_folder(url, store, store.get_study_id_from_name(name), name)
        optuna.delete_study(study_name=name, storage=store)
        return remove_tree(folder) if folder is not None else []


def remove_tree(folder: Path) -> list[Path]:
    """Remove ``folder`` and what it holds; returns the entries that stayed (e.g. an
    immutable file), without the folders that stayed only because they hold them."""
    left: list[Path] = []
    keyword = "onexc" if sys.version_info >= (3, 12) else "onerror"
    shutil.rmtree(folder, **{keyword: lambda _fn, path, _error: left.append(Path(path))})
    left = [path for path in left if os.path.lexists(path)]
    return [path for path in left if not any(path in other.parents for other in left)]


def check_study_name(name: str) -> str:
    """Refuse study names that cannot be shown on one line or kept in a storage:
    empty, longer than ``MAX_NAME_LENGTH`` characters, or holding control
    characters (newline, tab, NUL, ...).

    Raises:
        TypeError, ValueError: naming what is wrong with ``name``.
    """
    if not isinstance(name, str):
        raise TypeError(f"the study name must be a string, got {type(name).__name__}")
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValueError(f"the study name must have 1 to {MAX_NAME_LENGTH} characters, "
                         f"got {len(name)}")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValueError(f"the study name must not hold control characters, got {name!r}")
    return name
