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
from collections.abc import Callable, Container, Mapping
from pathlib import Path

import netcore
from hpsearch.metrics import sign
from hpsearch.objective import TrialFiles
from hpsearch.results.pareto import pareto_mask
from hpsearch.storages import records
from hpsearch.storages.handle import StudyStorage
from hpsearch.study_config import StudyConfig
from netcore.validation import check_choice

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


def check_data(handle: StudyStorage, config: StudyConfig, checked: list | None) -> list | None:
    """Check that the saved copy of the study's own data is the data it was created on.

    ``checked`` is the copy's stamp (its files' names, sizes and modification times)
    when it was last checked: the copy is hashed again only when the stamp changed.
    Returns the stamp now (None for a named dataset, which has no copy).

    Raises:
        ValueError: when the copy is missing or differs, with both fingerprints.
    """
    stored = config.objective.data_fingerprint
    if stored is None:
        return None
    folder = handle.data_dir()
    stamp = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir())
    if stamp != checked:
        check_data_copy(handle.name, folder, stored)
    return stamp


def dataset(handle: StudyStorage, config: StudyConfig) -> netcore.Dataset:
    """The data the study's trials train, validate and test on (``check_data`` it first)."""
    from hpsearch.objective import load_data

    files = TrialFiles(str(handle.data_dir())) if config.objective.data_fingerprint else None
    return load_data(config.objective, files)


def _completed_trial(handle: StudyStorage, slot: int):
    completed = handle.completed()
    done = [t for t in completed if records.slot_of(t) == slot]
    if not done:
        slots = sorted(records.slot_of(t) for t in completed)
        raise ValueError(f"study {handle.name!r} has no completed trial {slot!r}; completed "
                         f"trials: {slots[:20]}{' ...' if len(slots) > 20 else ''}")
    return done[-1]


def load_trial_model(handle: StudyStorage, config: StudyConfig, slot: int) -> netcore.MLP:
    """The kept model of trial ``slot``.

    Raises:
        ValueError: when the trial did not complete or its model was not kept.
    """
    trial = _completed_trial(handle, slot)
    name = records.metrics_of(trial).get("model_file")
    keep = config.objective.keep_models
    folder = handle.models_dir()
    path = folder / str(name)
    # Only a file of the models folder, whatever an edited record names.
    valid = isinstance(name, str) and _MODEL_FILE.fullmatch(name) is not None
    if valid and not folder.parent.is_dir():
        raise ValueError(f"the model of trial {slot} is missing with the whole folder of study "
                         f"{handle.name!r}: no {folder.parent}; the storage was moved or copied "
                         "without its .artifacts folder: put that folder back beside it, or "
                         f"study.refit(trial={slot}) trains the model again")
    if not valid or not path.exists():
        why = ("cross-validated trials train one net per fold and keep none"
               if config.objective.cross_validated
               else f"the study keeps the models of its {keep} best trials (keep_models)")
        raise ValueError(f"the model of trial {slot} was not kept: {why}; "
                         f"study.refit(trial={slot}) trains it again")
    return netcore.load(path)


REFIT_ON = ("train", "train+val")


def refit(handle: StudyStorage, config: StudyConfig, slot: Callable[[], int],
          data: Callable[[], netcore.Dataset], *, on: str) -> netcore.MLP:
    """Train the configuration of trial ``slot()`` again on ``data()`` (see ``Study.refit``);
    both are asked for only once ``on`` is known to be valid."""
    from hpsearch.objective import refit as train_again

    check_choice(on, REFIT_ON, "on")
    stored = _completed_trial(handle, slot())
    params = config.space.decode(stored.params)
    epochs = records.metrics_of(stored).get("best_epoch") if on == "train+val" else None
    seed = stored.system_attrs[records.SEED]
    return train_again(config.objective, params, seed, data(), epochs=epochs)


# How Study.export writes a model, by format name.
EXPORT_FORMATS = {"npz": netcore.save, "onnx": netcore.MLP.to_onnx}


def export(handle: StudyStorage, config: StudyConfig, path: str | Path, *, trial: int | None,
           model: netcore.MLP | None, format: str) -> Path:
    """Write ``model``, else trial ``trial``'s kept model, else the best trial's, to
    ``path`` in ``format`` (a name of ``EXPORT_FORMATS``); see ``Study.export``.

    Raises:
        ValueError: for another format, both ``trial`` and ``model``, or neither in a
            multi-objective study (no single best trial). TypeError: for a ``model``
            that is no ``netcore.MLP``.
    """
    from hpsearch.results import best

    check_choice(format, sorted(EXPORT_FORMATS), "format")
    if model is not None and trial is not None:
        raise ValueError("export takes trial= or model=, not both")
    if model is not None and not isinstance(model, netcore.MLP):
        raise TypeError(f"model must be a netcore.MLP (e.g. study.refit()), got "
                        f"{type(model).__name__}")
    if model is None and trial is None and config.objective.multi_objective:
        pareto = [int(t) for t in best.pareto_trials(handle, config)["trial"]]
        raise ValueError(f"study {handle.name!r} has several objectives and no single best "
                         "trial: choose one with trial= (--trial on the command line), "
                         f"e.g. of its Pareto set {pareto}")
    if model is None:
        slot = best.best_trial(handle, config)["trial"] if trial is None else trial
        model = load_trial_model(handle, config, slot)
    return EXPORT_FORMATS[format](model, path)


def prune_models(handle: StudyStorage, config: StudyConfig,
                 finished: dict[int, tuple] | None = None, running: Container[int] = ()) -> None:
    """Delete the model files of all but the ``keep_models`` best complete trials.

    Files of trials still running are left alone (another driver may be
    recording them), as is everything when the folder does not exist.
    ``finished`` (a run's, kept between calls) maps the ids of trials known
    finished to their (state name, values): a finished trial never changes, so
    each is read from the storage once at most, not after every recorded trial;
    ``running`` holds the ids of trials the caller knows to be running (its own).
    """
    folder = handle.models_dir()
    if not folder.is_dir():
        return
    finished = {} if finished is None else finished
    kept, drop, seen = [], [], set()
    for path in folder.iterdir():
        match = _MODEL_FILE.match(path.name)
        if match is None:
            continue
        seen.add(int(match.group(2)))
        if int(match.group(2)) in running:
            continue
        outcome = _finished_outcome(handle, int(match.group(2)), finished)
        if outcome is None:
            continue
        state, values = outcome
        if state == "COMPLETE" and values is not None:
            kept.append((values, int(match.group(1)), path))
        else:
            drop.append(path)
    kept = [kept[i] for i in _model_order(config.objective.directions,
                                          [(values, slot) for values, slot, _ in kept])]
    drop += [path for _, _, path in kept[config.objective.keep_models:]]
    for path in drop:
        _remove(path)
        seen.discard(int(_MODEL_FILE.match(path.name).group(2)))
    for gone in [trial_id for trial_id in finished if trial_id not in seen]:
        del finished[gone]  # its file is gone: the memory stays flat
    remove_partial_files(handle)


def _finished_outcome(handle: StudyStorage, trial_id: int,
                      finished: dict[int, tuple]) -> tuple | None:
    """The (state name, values) of trial ``trial_id`` once finished (None while it runs
    or when it is gone), read from ``finished`` or else the storage, and kept there."""
    if trial_id in finished:
        return finished[trial_id]
    trial = handle.trial(trial_id)
    if trial is None or not trial.state.is_finished():
        return None
    finished[trial_id] = (trial.state.name, trial.values)
    return finished[trial_id]


def remove_partial_files(handle: StudyStorage) -> None:
    """Delete the half-written model and checkpoint files (``*.partial.npz``) that
    workers killed while saving (or stopped by a full disk) left, except those of
    trials still running (another driver's worker may be writing them)."""
    folders = (handle.models_dir(), handle.checkpoint_path(0).parent)
    partial = [(path, match) for folder in folders if folder.is_dir()
               for path in folder.iterdir() if (match := _PARTIAL_FILE.fullmatch(path.name))]
    if not partial:
        return
    running = [t for t in handle.trials(confirmations=True) if not t.state.is_finished()]
    ids, slots = {records.trial_id_of(t) for t in running}, {records.slot_of(t) for t in running}
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
    first = sign(directions[0])
    return sorted(range(len(trials)), key=lambda i: (not front[i] if len(directions) > 1 else 0,
                                                     first * trials[i][0][0], trials[i][1]))


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # a read-only folder: the files stay, the study goes on
        log.warning("cannot delete %s: %s", path, exc)
