"""Every field of a saved ``TrainingState`` checked on load, before a resume can use it.

A damaged state must not resume into a silently different training: a
parameter vector of one value would be broadcast over every weight, optimizer
moments of the wrong shape would be dropped (the optimizer starts over), a
negative epoch count would train extra epochs. Each check names the field.
Arrays are read through ``netcore.safe_npz`` after their headers match the net
that ``model_config`` describes, so nothing larger than that net is read.
"""

from __future__ import annotations

import numbers

import numpy as np

from netcore.model import MLP, param_count
from netcore.safe_npz import NpzArchive

VERSION = 1
# The fields of ``netcore.train.History`` (without ``state``) and the types they hold;
# a saved state's history must have exactly these (the round-trip tests keep them in step).
_HISTORY_FIELDS = {"metrics": dict, "best_epoch": (int, type(None)),
                   "restored_epoch": (int, type(None)), "stop_reason": str, "diverged": bool,
                   "diverged_epoch": (int, type(None))}


def checked_fields(metadata: dict, archive: NpzArchive) -> dict:
    """The keyword arguments of ``TrainingState`` from ``metadata`` and the arrays of ``archive``.

    Raises:
        ValueError, TypeError, KeyError: naming the first field that is missing or wrong.
    """
    version = metadata.get("version")
    if type(version) is not int or version != VERSION:
        raise ValueError(f"format 'version' is {version!r}; this netcore reads version {VERSION}")
    fields = {name: _count(metadata, name, low)
              for name, low in (("epochs_done", 0), ("step_count", 0), ("n_samples", 1))}
    fields["model_config"] = _mapping(metadata, "model_config")
    fields["config_key"] = _mapping(metadata, "config_key")
    fields["params"], net = _params(archive, fields["model_config"])
    templates = {f"buffer:{k}": v for k, v in net.get_buffers().items()}
    fields["buffers"] = {name.split(":", 1)[1]: array
                         for name, array in _arrays(archive, "buffer:", templates).items()}
    fields["optimizer_state"] = _optimizer_state(metadata, archive, net.params)
    fields["shuffle_rng"], fields["dropout_rng"] = (_rng_state(metadata, name)
                                                    for name in ("shuffle_rng", "dropout_rng"))
    fields["history"] = _history(metadata, fields["epochs_done"])
    fields["callback_states"] = _callback_states(metadata, archive, net.params, templates)
    return fields


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _count(metadata: dict, name: str, low: int) -> int:
    value = metadata.get(name)
    if not _is_int(value) or value < low:
        raise ValueError(f"{name!r} must be an integer >= {low}, got {value!r}")
    return int(value)


def _mapping(metadata: dict, name: str) -> dict:
    value = metadata.get(name)
    if not isinstance(value, dict):
        raise ValueError(f"{name!r} must be a dict, got {type(value).__name__}")
    return value


def _params(archive: NpzArchive, model_config: dict) -> tuple[np.ndarray, MLP]:
    """The parameter vector, checked against ``model_config`` before it is read, and a
    net of that config (whose buffers and parameters are the templates of the other arrays)."""
    expected = param_count(model_config)  # from shapes alone: nothing allocated yet
    header = archive.header("params")
    dtype = np.dtype(model_config.get("dtype", "float32"))
    if header.shape != (expected,) or header.dtype != dtype:
        raise ValueError(f"'params' is {header.shape} {header.dtype}; 'model_config' needs "
                         f"({expected},) {dtype}")
    params = archive.array("params")
    return params, MLP(**{**model_config, "seed": 0})


def _arrays(archive: NpzArchive, prefix: str, templates: dict[str, np.ndarray]
            ) -> dict[str, np.ndarray]:
    """The arrays named ``prefix...``: exactly the ``templates``' names, each of its shape and dtype."""
    stored = sorted(name for name in archive.names if name.startswith(prefix))
    if stored != sorted(templates):
        raise ValueError(f"the arrays {stored} are stored, {sorted(templates)} expected")
    return {name: _array_like(archive, name, like) for name, like in templates.items()}


def _array_like(archive: NpzArchive, name: str, like: np.ndarray) -> np.ndarray:
    header = archive.header(name)
    if header.shape != like.shape or header.dtype != like.dtype:
        raise ValueError(f"{name!r} is {header.shape} {header.dtype}, expected "
                         f"{like.shape} {like.dtype} (as the net's)")
    return archive.array(name)


def _optimizer_state(metadata: dict, archive: NpzArchive, params: np.ndarray) -> dict:
    """The step count ``t`` and the moment arrays, each shaped as the parameter vector."""
    rest = _mapping(metadata, "optimizer_state")
    if set(rest) != {"t"}:
        raise ValueError(f"'optimizer_state' must hold 't' and arrays only, got {sorted(rest)}")
    _count(rest, "t", 0)
    names = [name for name in archive.names if name.startswith("optimizer:")]
    arrays = {name[len("optimizer:"):]: _array_like(archive, name, params) for name in names}
    return {"t": int(rest["t"]), **arrays}


def _rng_state(metadata: dict, name: str) -> dict:
    state = _mapping(metadata, name)
    try:  # the bit generator checks its own state
        np.random.default_rng(0).bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ValueError(f"{name!r} is not a generator state ({exc!r})") from None
    return state


def _history(metadata: dict, epochs_done: int) -> dict:
    """The History so far: its fields, and ``epochs_done`` numbers in each metric."""
    history = _mapping(metadata, "history")
    if set(history) != set(_HISTORY_FIELDS):
        raise ValueError(f"'history' must have the fields {sorted(_HISTORY_FIELDS)}, got "
                         f"{sorted(history)}")
    for field, types in _HISTORY_FIELDS.items():
        if not isinstance(history[field], types) or (types is not bool and
                                                     isinstance(history[field], bool)):
            raise ValueError(f"'history' field {field!r} has the wrong type: {history[field]!r}")
    for key, values in history["metrics"].items():
        if not isinstance(values, list) or len(values) != epochs_done or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            raise ValueError(f"'history' metric {key!r} must hold {epochs_done} numbers (one per "
                             f"epoch done), got {_shown(values)}")
    return history


def _callback_states(metadata: dict, archive: NpzArchive, params: np.ndarray,
                     buffers: dict[str, np.ndarray]) -> list[dict]:
    """Each callback's numbers and arrays; early stopping's best weights shaped as the net's."""
    states = metadata.get("callback_states")
    if not isinstance(states, list) or not all(isinstance(s, dict) for s in states):
        raise ValueError(f"'callback_states' must be a list of dicts, got {_shown(states)}")
    out = []
    for i, rest in enumerate(states):
        prefix = f"callback{i}:"
        if any(isinstance(v, dict | list) for v in rest.values()):
            raise ValueError(f"'callback_states' [{i}] must hold numbers, strings and arrays")
        names = [name for name in archive.names if name.startswith(prefix)]
        templates = {prefix + "best_params": params} | {prefix + "best_" + k: v
                                                         for k, v in buffers.items()}
        arrays = {name[len(prefix):]: _array_like(archive, name, templates[name])
                  if name in templates else archive.array(name) for name in names}
        out.append({**rest, **arrays})
    extra = [name for name in archive.names if name.startswith("callback")
             and not any(name.startswith(f"callback{i}:") for i in range(len(states)))]
    if extra:
        raise ValueError(f"the arrays {extra} belong to no callback")
    return out


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

