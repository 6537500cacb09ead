"""``TrainingState``: everything a paused ``fit`` needs to continue bit-identically.

A run configured for ``epochs=E`` and stopped with ``fit(..., pause_after=k)``
leaves its state on ``history.state``: the flat parameter buffer and the other
model buffers (batch-norm running statistics), the optimizer's state, the
bit-generator states of the shuffling and dropout generators, the step count
(learning-rate schedules), the epochs done, the History so far and the state
of the callbacks (early stopping's best value, wait and best weights).
``fit(..., resume=state)`` continues from there; the result equals an
uninterrupted run's to the last bit (only the History's "time" differs).

One state is one ``.npz`` file: arrays plus JSON metadata, nothing pickled.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netcore.safe_npz import NpzArchive
from netcore.state_checks import VERSION, checked_fields

FORMAT = "netcore-training-state"


@dataclass
class TrainingState:
    """The complete state of a paused training (see the module docstring).

    ``config_key`` describes the training configuration and ``model_config``
    the net (``MLP.get_config()``); a resume checks both against its own, and
    ``n_samples`` against the training data, so a state cannot silently
    continue a different training.
    """

    epochs_done: int
    step_count: int
    model_config: dict
    params: np.ndarray
    buffers: dict[str, np.ndarray]
    optimizer_state: dict
    shuffle_rng: dict
    dropout_rng: dict
    history: dict
    callback_states: list[dict]
    config_key: dict
    n_samples: int

    def save(self, path: str | Path) -> Path:
        """Write the state to ``path`` (``.npz`` is appended when missing); returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        arrays = {"params": self.params}
        arrays.update({f"buffer:{k}": v for k, v in self.buffers.items()})
        optimizer = _split_arrays(self.optimizer_state, "optimizer:", arrays)
        callbacks = [_split_arrays(state, f"callback{i}:", arrays)
                     for i, state in enumerate(self.callback_states)]
        metadata = {
            "format": FORMAT, "version": VERSION, "epochs_done": self.epochs_done,
            "step_count": self.step_count, "model_config": self.model_config,
            "optimizer_state": optimizer, "shuffle_rng": self.shuffle_rng,
            "dropout_rng": self.dropout_rng, "history": plain(self.history),
            "callback_states": callbacks, "config_key": self.config_key,
            "n_samples": self.n_samples,
        }
        meta = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
        np.savez(path, metadata=meta, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TrainingState:
        """Read a state written by ``save``; every field is checked (see ``netcore.state_checks``)
        and only the arrays the format defines are read, each after its size is checked.

        Raises:
            ValueError: if the file is not a readable, undamaged netcore training state,
                naming the file and the field at fault.
        """
        path = Path(path)
        try:
            archive = NpzArchive(path)
        except ValueError as exc:
            raise ValueError(f"{path}: not a readable netcore training state ({exc})") from None
        with archive:
            try:
                metadata = archive.json("metadata")
            except ValueError as exc:
                raise ValueError(f"{path}: not a readable netcore training state ({exc})") from None
            if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
                found = metadata.get("format") if isinstance(metadata, dict) else None
                raise ValueError(f"{path}: not a netcore training state (format {found!r})")
            try:
                return cls(**checked_fields(metadata, archive))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: a damaged netcore training state: {exc}") from None

    def copy(self) -> TrainingState:
        return copy.deepcopy(self)


def _split_arrays(state: dict, prefix: str, arrays: dict) -> dict:
    """The JSON part of ``state``; its arrays go to ``arrays`` under ``prefix + key``."""
    rest = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            arrays[prefix + key] = value
        else:
            rest[key] = plain(value)
    return rest


def plain(value):
    """``value`` with numpy scalars as Python numbers (exact: float32 widens to float64)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
