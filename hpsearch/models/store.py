"""The models a study keeps and the data it was made for.

Each holdout trial's worker saves the net of its best epoch (``netcore.save``:
arrays and JSON, never pickle) in the study's ``models/`` folder; after every
recorded trial the driver deletes the files of all but the ``keep_models``
best complete trials. A study made on the user's data keeps that data's
fingerprint, so that it cannot be resumed on other data by mistake, nor run on
a saved copy of that data that changed after it was saved.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from pathlib import Path

import netcore
from hpsearch.results.pareto import pareto_mask
from hpsearch.storages import artifacts, records

log = logging.getLogger(__name__)

DATA_SOURCE_KEYS = ("path", "target", "val", "test", "standardize", "standardize_target", "task",
                    "stratify", "seed", "features")
_MODEL_FILE = re.compile(r"trial-(\d+)-(\d+)\.npz$")
# What a worker writes before renaming (``hpsearch.objective.saving.save_atomically``): a model file
# names its trial's id, a checkpoint its slot; the number after is the worker's pid.
_PARTIAL_FILE = re.compile(r"(?:trial-\d+-(?P<trial>\d+)|job-(?P<slot>\d+))\.\d+\.partial\.npz")


def read_data_source(source: Mapping) -> netcore.Dataset:
    """The dataset a spec's ``[data]`` table describes (``path`` and its options)."""
    options = {k: v for k, v in source.items() if k != "path"}
    return netcore.Dataset.from_file(source["path"], **options)


def _describe(fingerprint: Mapping | None) -> str:
    if not fingerprint:
        return "a named dataset"
    shapes = fingerprint.get("shapes", {})
    return (f"train {shapes.get('X_train')}, val {shapes.get('X_val')}, test "
            f"{shapes.get('X_test')}, {fingerprint.get('dtype')}, sha256 "
            f"{str(fingerprint.get('sha256'))[:12]}")


def check_same_data(name: str, stored: Mapping, wanted: Mapping) -> None:
    """Refuse to resume a study on data other than its own.

    Raises:
        ValueError: naming both datasets' shapes and hashes.
    """
    before, after = stored.get("data_fingerprint"), wanted.get("data_fingerprint")
    if before != after:
        raise ValueError(f"study {name!r} was created on other data ({_describe(before)}); "
                         f"this run gives {_describe(after)}. Use another study name for "
                         "other data")


def check_data_copy(name: str, folder: Path, stored: Mapping) -> None:
    """Refuse the saved copy of a study's data in ``folder`` unless it is still the data
    the study was created on (its fingerprint is ``stored``): workers train on that copy.

    Raises:
        ValueError: naming the folder and both fingerprints.
    """
    found = netcore.Dataset.open(folder).fingerprint()
    if found.get("sha256") != stored.get("sha256"):
        raise ValueError(f"the saved data of study {name!r} in {folder} changed after the study "
                         f"was created: it was {_describe(stored)}, it is {_describe(found)}; "
                         "restore the folder, or create the study again with data=...")


def _completed_trial(study, slot: int):
    done = [t for t in study._completed() if records.slot_of(t) == slot]
    if not done:
        slots = sorted(records.slot_of(t) for t in study._completed())
        raise ValueError(f"study {study.name!r} has no completed trial {slot!r}; completed "
                         f"trials: {slots[:20]}{' ...' if len(slots) > 20 else ''}")
    return done[-1]


def load_trial_model(study, slot: int) -> netcore.MLP:
    """The kept model of trial ``slot``.

    Raises:
        ValueError: when the trial did not complete or its model was not kept.
    """
    trial = _completed_trial(study, slot)
    name = records.metrics_of(trial).get("model_file")
    keep = study.config.objective.keep_models
    folder = artifacts.models_dir(study.folder)
    path = folder / str(name)
    # Only a file of the models folder, whatever an edited record names.
    valid = isinstance(name, str) and _MODEL_FILE.fullmatch(name) is not None
    if valid and not folder.parent.is_dir():
        raise ValueError(f"the model of trial {slot} is missing with the whole folder of study "
                         f"{study.name!r}: no {folder.parent}; the storage was moved or copied "
                         "without its .artifacts folder: put that folder back beside it, or "
                         f"study.refit(trial={slot}) trains the model again")
    if not valid or not path.exists():
        why = ("cross-validated trials train one net per fold and keep none"
               if study.config.objective.cross_validated
               else f"the study keeps the models of its {keep} best trials (keep_models)")
        raise ValueError(f"the model of trial {slot} was not kept: {why}; "
                         f"study.refit(trial={slot}) trains it again")
    return netcore.load(path)


def refit(study, *, on: str, trial: int | None) -> netcore.MLP:
    """Train a trial's configuration again (see ``Study.refit``)."""
    from hpsearch.objective import refit as train_again

    if on not in ("train+val", "train"):
        raise ValueError(f"The 'on' parameter must be one of ['train', 'train+val']. Got {on!r}.")
    slot = study.best_trial["trial"] if trial is None else trial
    stored = _completed_trial(study, slot)
    params = study.config.space.decode(stored.params)
    epochs = records.metrics_of(stored).get("best_epoch") if on == "train+val" else None
    seed = stored.system_attrs[records.SEED]
    return train_again(study.config.objective, params, seed, study.dataset(), epochs=epochs)


def prune_models(study) -> None:
    """Delete the model files of all but the ``keep_models`` best complete trials.

    Files of trials still running are left alone (another driver may be
    recording them), as is everything when the folder does not exist.
    """
    folder = artifacts.models_dir(study.folder)
    if not folder.is_dir():
        return
    kept, drop = [], []
    for path in folder.iterdir():
        match = _MODEL_FILE.match(path.name)
        if match is None:
            continue
        trial = _stored_trial(study, int(match.group(2)))
        if trial is None or not trial.state.is_finished():
            continue
        if trial.state.name == "COMPLETE" and trial.values is not None:
            kept.append((trial.values, int(match.group(1)), path))
        else:
            drop.append(path)
    kept = [kept[i] for i in _model_order(study.config.objective.directions,
                                          [(values, slot) for values, slot, _ in kept])]
    drop += [path for _, _, path in kept[study.config.objective.keep_models:]]
    for path in drop:
        _remove(path)
    remove_partial_files(study)


def remove_partial_files(study) -> None:
    """Delete the half-written model and checkpoint files (``*.partial.npz``) that
    workers killed while saving (or stopped by a full disk) left, except those of
    trials still running (another driver's worker may be writing them)."""
    folders = (artifacts.models_dir(study.folder),
               artifacts.checkpoint_path(study.folder, 0).parent)
    partial = [(path, match) for folder in folders if folder.is_dir()
               for path in folder.iterdir() if (match := _PARTIAL_FILE.fullmatch(path.name))]
    if not partial:
        return
    running = [t for t in study.trials(confirmations=True) if not t.state.is_finished()]
    ids, slots = {t._trial_id for t in running}, {records.slot_of(t) for t in running}
    for path, match in partial:
        trial, slot = match["trial"], match["slot"]
        if not (int(trial) in ids if trial is not None else int(slot) in slots):
            _remove(path)


def remove_orphan_files(paths: list[str]) -> None:
    """Delete what the trials of a study deleted under a run wrote after the delete
    (their model and checkpoint files, and half-written ones), and the folders this
    leaves empty: nothing may bring a deleted study's folder back."""
    for path in map(Path, paths):
        for leftover in [path, *path.parent.glob(f"{path.stem}.*.partial.npz")]:
            _remove(leftover)
    for folder in {Path(path).parent for path in paths}:
        for empty in (folder, folder.parent):
            with contextlib.suppress(OSError):  # not empty: another study's, or kept
                empty.rmdir()


def _model_order(directions: list[str], trials: list[tuple[list[float], int]]) -> list[int]:
    """Indices of ``trials`` (values, slot), best first: by the first objective, and in a
    multi-objective study the Pareto-optimal trials before the others."""
    if not trials:
        return []
    front = pareto_mask([values for values, _ in trials], directions)
    sign = 1.0 if directions[0] == "minimize" else -1.0
    return sorted(range(len(trials)), key=lambda i: (not front[i] if len(directions) > 1 else 0,
                                                     sign * trials[i][0][0], trials[i][1]))


def _stored_trial(study, trial_id: int):
    try:
        return study.storage.get_trial(trial_id)
    except KeyError:
        return None


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # a read-only folder: the files stay, the study goes on
        log.warning("cannot delete %s: %s", path, exc)
