"""Training callbacks: hooks called by ``fit`` at the edges of batches and epochs.

``on_epoch_end`` returning True stops training; that is the hook early
stopping and search pruners use. Every callback is still called for the epoch
in which one of them stops training (the first to ask gives the stop reason).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from netcore.metrics import direction_of, minimizes
from netcore.validation import check_choice, check_non_negative

# What early stopping may watch; which way each goes is netcore.metrics' to say.
_MONITORS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_rmse", "val_r2")


class Callback:
    """Base class; override the hooks you need."""

    stop_reason = "callback"

    def on_train_begin(self, model, history) -> None:
        """Called once before the first epoch."""

    def on_batch_end(self, model, step: int) -> None:
        """Called after each optimizer step (``step`` counts from 1)."""

    def on_epoch_end(self, epoch: int, logs: dict, model) -> bool | None:
        """Called with the epoch's metrics; return True to stop training."""

    def on_train_end(self, model, history) -> None:
        """Called once after the last epoch, also when training diverged (not on a pause)."""

    def state_dict(self) -> dict:
        """What a paused training must keep of this callback to resume it exactly
        (numbers, strings and arrays); stateless callbacks keep nothing."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; called on resume, after ``on_train_begin``."""


class EpochHook(Callback):
    """Calls ``fn(epoch, logs)`` after each epoch; a True result stops training.

    The reporting hook for search pruners: ``fn`` may also raise to abort.
    """

    stop_reason = "pruned"

    def __init__(self, fn: Callable[[int, dict], bool | None]):
        if not callable(fn):
            raise TypeError(f"EpochHook needs a callable, got {fn!r}")
        self.fn = fn

    def on_epoch_end(self, epoch, logs, model):
        return self.fn(epoch, logs)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: ``"val_loss"`` (default), ``"val_accuracy"``, ``"loss"``, ``"accuracy"``,
            or for regression (``mse``) ``"val_rmse"`` or ``"val_r2"``.
        patience: epochs without improvement tolerated before stopping.
        min_delta: smallest change that counts as an improvement.
        restore_best: at the end of training (stopped early or not), put back
            the weights of the best epoch.
    """

    stop_reason = "early_stopping"

    def __init__(self, monitor: str = "val_loss", *, patience: int = 5,
                 min_delta: float = 0.0, restore_best: bool = True):
        check_choice(monitor, sorted(_MONITORS), "monitor")
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"patience must be an integer >= 0, got {patience!r}")
        self.monitor, self.patience = monitor, patience
        self.min_delta = check_non_negative(min_delta, "min_delta")
        self.restore_best = bool(restore_best)
        self.mode = "min" if minimizes(direction_of(monitor)) else "max"

    def on_train_begin(self, model, history):
        self.best_value, self.best_epoch, self.wait = None, None, 0
        self._best_params = np.empty_like(model.params) if self.restore_best else None
        self._best_buffers = None

    def _improved(self, value: float) -> bool:
        if self.best_value is None:
            return True
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def on_epoch_end(self, epoch, logs, model):
        value = logs.get(self.monitor)
        if value is None or not np.isfinite(value):
            return False
        if self._improved(value):
            self.best_value, self.best_epoch, self.wait = float(value), epoch, 0
            if self.restore_best:
                np.copyto(self._best_params, model.params)
                self._best_buffers = model.get_buffers()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def state_dict(self) -> dict:
        state = {"best_value": self.best_value, "best_epoch": self.best_epoch, "wait": self.wait}
        if self.restore_best and self.best_epoch is not None:
            state["best_params"] = self._best_params.copy()
            state.update({f"best_buffer:{k}": v.copy() for k, v in self._best_buffers.items()})
        return state

    def load_state_dict(self, state: dict) -> None:
        self.best_value, self.best_epoch = state["best_value"], state["best_epoch"]
        self.wait = int(state["wait"])
        if self.restore_best and self.best_epoch is not None:
            np.copyto(self._best_params, state["best_params"])
            self._best_buffers = {k.split(":", 1)[1]: np.array(v, copy=True)
                                  for k, v in state.items() if k.startswith("best_buffer:")}

    def settings(self) -> dict:
        """The options that define this early stopping (a resume checks them)."""
        return {"monitor": self.monitor, "patience": self.patience,
                "min_delta": self.min_delta, "restore_best": self.restore_best}

    def on_train_end(self, model, history):
        if self.best_epoch is None:
            return
        history.best_epoch = self.best_epoch
        if self.restore_best:
            np.copyto(model.params, self._best_params)
            model.set_buffers(self._best_buffers)
            history.restored_epoch = self.best_epoch
