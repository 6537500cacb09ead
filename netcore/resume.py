"""What a resumed ``fit`` may change, and the check that refuses the rest.

A paused training may continue with other step settings (population-based
training changes them mid-training): the learning rate, batch size,
penalties, clipping, max-norm and the optimizer's coefficients, whose state
(velocity, moments, step count) carries on; and with a net of other dropout
rates. Anything else (sizes, activations, the optimizer kind, schedule,
epochs, seed, early stopping, the training data) must be the paused run's.
"""

from __future__ import annotations

from netcore.checkpoint import TrainingState, plain
from netcore.model import MLP

# The options a resumed run may set anew (``fit(resume=state, lr=...)``): they change how
# the next steps are taken, not the net's shape nor the optimizer state's meaning.
RESUME_CHANGEABLE = ("lr", "batch_size", "l2", "l1", "clip_norm", "clip_value", "max_norm",
                     "momentum", "beta1", "beta2", "rho", "eps")
# The net's settings a resumed run may change: its dropout rates (see ``_check_same_net``).
RESUME_CHANGEABLE_NET = ("dropout", "input_dropout")


def check_resumable(state: TrainingState, model: MLP, key: dict, n_samples: int) -> None:
    """Raise ValueError when ``state`` was not paused from this net, configuration (``key``,
    ``netcore.train.config_key``) and data.

    The options in ``RESUME_CHANGEABLE`` and the net's dropout rates may differ: the
    resumed run continues with the new values (the optimizer state carries on)."""
    _check_same_net(state, model)
    key = {k: v for k, v in key.items() if k not in RESUME_CHANGEABLE}
    theirs = {k: v for k, v in state.config_key.items() if k not in RESUME_CHANGEABLE}
    if key != theirs:
        diff, was, now = _differences(theirs, key)
        raise ValueError(f"resume: the training options {diff} differ from the paused run's "
                         f"({was} in the state, {now} here); only {list(RESUME_CHANGEABLE)} "
                         "may change at resume")
    if n_samples != state.n_samples:
        raise ValueError(f"resume: the paused run trained on {state.n_samples} samples, "
                         f"this one on {n_samples}")


def _check_same_net(state: TrainingState, model: MLP) -> None:
    """The net must be the state's; its dropout rates may change, but not from or to 0:
    a rate of 0 has no dropout layer, and the layers (and their buffers) must stay."""
    skip = ("seed", *RESUME_CHANGEABLE_NET)
    ours = {k: v for k, v in plain(model.get_config()).items() if k not in skip}
    theirs = {k: v for k, v in plain(state.model_config).items() if k not in skip}
    if ours != theirs:
        diff, was, now = _differences(theirs, ours)
        raise ValueError(f"resume: the state was saved from a different net ({diff} differ: "
                         f"{was} in the state, {now} here)")
    saved = _dropout_layers(state.model_config)
    if saved != _dropout_layers(model.get_config()):
        raise ValueError("resume: dropout may change at resume only between non-zero rates "
                         "(a rate of 0 has no dropout layer): the state has dropout="
                         f"{state.model_config.get('dropout')}, input_dropout="
                         f"{state.model_config.get('input_dropout')}; this net {model.dropout}, "
                         f"{model.input_dropout}")


def _dropout_layers(model_config: dict) -> list[bool]:
    rates = [model_config.get("input_dropout", 0.0), *model_config.get("dropout", [])]
    return [bool(rate) for rate in rates]


def _differences(saved: dict, current: dict) -> tuple[list[str], dict, dict]:
    """The keys whose values differ between two mappings, and those values in each."""
    keys = sorted(k for k in saved.keys() | current.keys() if saved.get(k) != current.get(k))
    return keys, {k: saved.get(k) for k in keys}, {k: current.get(k) for k in keys}
