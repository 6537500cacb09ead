"""``fit``: the minibatch training loop, its configuration and its History."""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netcore.callbacks import Callback, EarlyStopping
from netcore.checkpoint import TrainingState, plain
from netcore.layers import BatchNorm
from netcore.model import MLP
from netcore.optim import (
    ClipGlobalNorm,
    ClipValue,
    L1Penalty,
    L2Penalty,
    MaxNorm,
    Optimizer,
    get_optimizer,
)
from netcore.resume import check_resumable
from netcore.schedules import Schedule, get_schedule
from netcore.step import TrainStep
from netcore.validation import (
    check_non_negative,
    check_options,
    check_positive,
    check_positive_int,
)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

_OPTIMIZER_OPTIONS = ("momentum", "beta1", "beta2", "rho", "eps")
_SCHEDULE_OPTIONS = ("step_size", "gamma", "decay_rate", "min_lr", "max_lr", "pct_start",
                     "div_factor", "final_div_factor", "warmup_steps", "schedule_steps")


@dataclass
class TrainConfig:
    """Every option of ``fit``; see ``fit`` for their meaning."""

    optimizer: str | Optimizer = "adam"
    lr: float = 1e-3
    batch_size: int = 32
    epochs: int = 10
    seed: int | None = None
    l2: float = 0.0
    l1: float = 0.0
    clip_norm: float | None = None
    clip_value: float | None = None
    max_norm: float | None = None
    momentum: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    rho: float | None = None
    eps: float | None = None
    early_stopping: EarlyStopping | None = None
    callbacks: Sequence[Callback] = ()
    shuffle: bool = True
    schedule: str | None = None
    step_size: int | None = None
    gamma: float | None = None
    decay_rate: float | None = None
    min_lr: float | None = None
    max_lr: float | None = None
    pct_start: float | None = None
    div_factor: float | None = None
    final_div_factor: float | None = None
    warmup_steps: int | None = None
    schedule_steps: int | None = None

    def __post_init__(self):
        self.lr = check_positive(self.lr, "lr")
        self.batch_size = check_positive_int(self.batch_size, "batch_size")
        self.epochs = check_positive_int(self.epochs, "epochs")
        self.l2 = check_non_negative(self.l2, "l2")
        self.l1 = check_non_negative(self.l1, "l1")
        for name in ("clip_norm", "clip_value", "max_norm"):
            if getattr(self, name) is not None:
                setattr(self, name, check_positive(getattr(self, name), name))
        self.build_schedule(steps_per_epoch=1)  # validates the schedule and its options now
        if self.early_stopping is not None and not isinstance(self.early_stopping, EarlyStopping):
            raise TypeError(f"early_stopping must be an EarlyStopping, got {self.early_stopping!r}")
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {cb!r}")

    def build_optimizer(self) -> Optimizer:
        options = {k: getattr(self, k) for k in _OPTIMIZER_OPTIONS if getattr(self, k) is not None}
        if isinstance(self.optimizer, Optimizer):
            if options:
                raise ValueError(f"pass {sorted(options)} to the optimizer object, not to fit")
            return self.optimizer
        if not isinstance(self.optimizer, str):
            raise TypeError(f"optimizer must be a name or an Optimizer, got {self.optimizer!r}")
        return get_optimizer(self.optimizer, **options)

    def gradient_transforms(self) -> list:
        transforms = []
        if self.l2:
            transforms.append(L2Penalty(self.l2))
        if self.l1:
            transforms.append(L1Penalty(self.l1))
        if self.clip_value is not None:
            transforms.append(ClipValue(self.clip_value))
        if self.clip_norm is not None:
            transforms.append(ClipGlobalNorm(self.clip_norm))
        return transforms

    def constraints(self) -> list:
        """Projections of the weight matrices applied after each step."""
        return [MaxNorm(self.max_norm)] if self.max_norm is not None else []

    def build_schedule(self, steps_per_epoch: int) -> Schedule | None:
        """The learning-rate schedule, or None for a constant ``lr`` without one."""
        options = {k: getattr(self, k) for k in _SCHEDULE_OPTIONS if getattr(self, k) is not None}
        if self.schedule is None:
            if options:
                raise ValueError(f"{sorted(options)} configure a learning-rate schedule; "
                                 "pass schedule=... as well")
            return None
        return get_schedule(self.schedule, self.lr, steps_per_epoch=steps_per_epoch,
                            epochs=self.epochs, **options)


@dataclass
class History:
    """Per-epoch metrics of one training and how it ended.

    ``metrics`` maps "loss", "accuracy", "val_loss", "val_accuracy" (for
    ``mse``: "val_rmse" and "val_r2" instead of the accuracies) and "time"
    (seconds) to one value per epoch, and "lr" (the learning rate of the
    epoch's first step) when a schedule is set; ``stop_reason`` is one of
    "completed", "early_stopping", "diverged", "paused" (``fit(pause_after=...)``;
    ``state`` then holds the ``TrainingState`` to resume from) or a callback's reason.
    """

    metrics: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    restored_epoch: int | None = None
    stop_reason: str = "completed"
    diverged: bool = False
    diverged_epoch: int | None = None
    state: TrainingState | None = field(default=None, repr=False, compare=False)

    @property
    def epochs_run(self) -> int:
        return len(self.metrics.get("loss", []))

    def __getitem__(self, key: str) -> list[float]:
        return self.metrics[key]

    def record(self, logs: dict) -> None:
        for key, value in logs.items():
            if key != "epoch":
                self.metrics.setdefault(key, []).append(value)

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch (1-based index), one column per metric."""
        import pandas as pd  # on use: importing pandas takes 0.2 s

        frame = pd.DataFrame(self.metrics)
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
        return frame

    def as_dict(self) -> dict:
        """The fields as plain data (without ``state``)."""
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.name != "state"}


@dataclass
class _Data:
    X: np.ndarray
    T: np.ndarray
    X_val: np.ndarray | None
    T_val: np.ndarray | None


def _prepare_data(model: MLP, X, y, X_val, y_val) -> _Data:
    X, T = model.prepare_data(X, y)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is None:
        return _Data(X, T, None, None)
    return _Data(X, T, *model.prepare_data(X_val, y_val, ("X_val", "y_val")))


class _Trainer:
    """One training run: the epoch loop delegates batching, stepping and stopping."""

    def __init__(self, model: MLP, config: TrainConfig, data: _Data,
                 n_used: int | None = None):
        self.model, self.config, self.data = model, config, data
        # Samples trained on per epoch (batch norm drops a last batch of one sample).
        self.n_used = len(data.X) if n_used is None else n_used
        self.train_step = TrainStep.from_config(config)
        self.schedule = config.build_schedule(math.ceil(self.n_used / config.batch_size))
        # One seed drives shuffling (the same stream as default_rng(seed)) and, through
        # a spawned child, the dropout masks.
        seeds = np.random.SeedSequence(config.seed)
        self.rng = np.random.default_rng(seeds)
        model.set_rng(np.random.default_rng(seeds.spawn(1)[0]))
        self.callbacks = ([config.early_stopping] if config.early_stopping else []) \
            + list(config.callbacks)
        self.batch_callbacks = [cb for cb in self.callbacks
                                if type(cb).on_batch_end is not Callback.on_batch_end]
        self.history = History()
        self.step_count = 0
        n = min(config.batch_size, len(data.X))
        self.x_buf = np.empty((n, data.X.shape[1]), dtype=data.X.dtype)
        self.t_buf = np.empty((n, *data.T.shape[1:]), dtype=data.T.dtype)

    def run(self, pause_after: int | None = None, resume: TrainingState | None = None) -> History:
        for cb in self.callbacks:
            cb.on_train_begin(self.model, self.history)
        first = 1 if resume is None else self._restore(resume) + 1
        last = self.config.epochs if pause_after is None else min(pause_after, self.config.epochs)
        # Overflow is expected when a run diverges; it is detected and recorded instead.
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(first, last + 1):
                if self._run_epoch(epoch):
                    break
            else:
                if last < self.config.epochs:
                    return self._pause(last)
        for cb in self.callbacks:
            cb.on_train_end(self.model, self.history)
        if self.history.best_epoch is None:
            self.history.best_epoch = self._best_epoch()
        return self.history

    def _pause(self, epoch: int) -> History:
        """Stop after ``epoch`` without ending the training: the callbacks' ``on_train_end``
        is not called (no best weights restored), the state goes on ``history.state``."""
        state = self._capture(epoch)
        history = History(**self.history.as_dict())
        history.stop_reason, history.best_epoch, history.state = "paused", self._best_epoch(), state
        return history

    def _capture(self, epoch: int) -> TrainingState:
        return TrainingState(
            epochs_done=epoch, step_count=self.step_count, model_config=plain(self.model.get_config()),
            params=self.model.params.copy(), buffers=self.model.get_buffers(),
            optimizer_state=self.train_step.optimizer.state_dict(),
            shuffle_rng=copy.deepcopy(self.rng.bit_generator.state),
            dropout_rng=copy.deepcopy(self.model.rng.bit_generator.state),
            history=self.history.as_dict(),
            callback_states=[cb.state_dict() for cb in self.callbacks],
            config_key=config_key(self.config), n_samples=len(self.data.X))

    def _restore(self, state: TrainingState) -> int:
        """Put the paused training back; returns the epochs it had done."""
        check_resumable(state, self.model, config_key(self.config), len(self.data.X))
        np.copyto(self.model.params, state.params)
        self.model.set_buffers(state.buffers)
        self.train_step.optimizer.load_state_dict(state.optimizer_state)
        self.rng.bit_generator.state = copy.deepcopy(state.shuffle_rng)
        self.model.rng.bit_generator.state = copy.deepcopy(state.dropout_rng)
        self.step_count = state.step_count
        self.history = History(**copy.deepcopy(state.history))
        for cb, cb_state in zip(self.callbacks, state.callback_states, strict=True):
            cb.load_state_dict(cb_state)
        return state.epochs_done

    def _run_epoch(self, epoch: int) -> bool:
        """Train one epoch; True when training must stop."""
        start = time.perf_counter()
        first_lr = self.schedule(self.step_count) if self.schedule is not None else None
        loss, correct, finite = self._train_batches()
        logs = {"epoch": epoch, "loss": loss / self.n_used}
        if self.model.loss.is_classifier:
            logs["accuracy"] = correct / self.n_used
        if finite and self.data.X_val is not None:
            val = self.model.evaluate_prepared(self.data.X_val, self.data.T_val)
            logs.update({f"val_{k}": v for k, v in val.items()})
            finite = bool(np.isfinite(val["loss"]))
        if first_lr is not None:
            logs["lr"] = first_lr
        logs["time"] = time.perf_counter() - start
        self.history.record(logs)
        log.debug("epoch %d: %s", epoch, logs)
        if not finite:
            self.history.diverged, self.history.diverged_epoch = True, epoch
            self.history.stop_reason = "diverged"
            return True
        return self._ask_callbacks(epoch, logs)

    def _ask_callbacks(self, epoch: int, logs: dict) -> bool:
        # Every callback sees every epoch, also the one where an earlier one stops training.
        stop = False
        for cb in self.callbacks:
            if cb.on_epoch_end(epoch, logs, self.model) and not stop:
                self.history.stop_reason, stop = cb.stop_reason, True
        return stop

    def _train_batches(self) -> tuple[float, int, bool]:
        """One pass over shuffled minibatches: summed loss, number correct, finite?"""
        X, T, bs = self.data.X, self.data.T, self.config.batch_size
        n = len(X)
        if self.config.shuffle:
            order = self.rng.permutation(n)
            # Indices sorted within each batch: the same batches, gathered in memory order
            # (a sixth faster than in random order on MNIST).
            full = n - n % bs
            order[:full].reshape(-1, bs).sort(axis=1)
            order[full:].sort()
        else:
            order = np.arange(n)
        total, correct = 0.0, 0
        for start in range(0, self.n_used, bs):
            idx = order[start:start + bs]
            # mode="clip" lets take write straight into the buffer (indices are valid).
            xb = np.take(X, idx, axis=0, out=self.x_buf[:len(idx)], mode="clip")
            tb = np.take(T, idx, axis=0, out=self.t_buf[:len(idx)], mode="clip")
            loss, hits = self._step(xb, tb)
            if not np.isfinite(loss):
                return loss, correct, False
            total, correct = total + loss, correct + hits
        return total, correct, True

    def _step(self, xb: np.ndarray, tb: np.ndarray) -> tuple[float, int]:
        lr = self.config.lr if self.schedule is None else self.schedule(self.step_count)
        loss, hits = self.train_step.step(self.model, xb, tb, lr)
        if not np.isfinite(loss):
            return loss, hits
        self.step_count += 1
        for cb in self.batch_callbacks:
            cb.on_batch_end(self.model, self.step_count)
        return loss, hits

    def _best_epoch(self) -> int | None:
        key = "val_loss" if "val_loss" in self.history.metrics else "loss"
        values = np.asarray(self.history.metrics.get(key, []), dtype=float)
        if not np.isfinite(values).any():
            return None
        return int(np.nanargmin(np.where(np.isfinite(values), values, np.nan))) + 1


def config_key(config: TrainConfig) -> dict:
    """``config`` as plain data that two runs share exactly when one may resume the other
    (callbacks by class, early stopping and an optimizer object by their settings)."""
    key = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name == "callbacks":
            value = [type(cb).__name__ for cb in value]
        elif f.name == "early_stopping" and value is not None:
            value = value.settings()
        elif f.name == "optimizer" and isinstance(value, Optimizer):
            value = {"name": value.name, **value.hyperparameters()}
        key[f.name] = value
    return plain(key)


def _check_pause(pause_after, resume: TrainingState | None, epochs: int) -> int | None:
    if resume is not None and not isinstance(resume, TrainingState):
        raise TypeError(f"resume must be a netcore.TrainingState or a path to one, got {resume!r}")
    if pause_after is None:
        return None
    if isinstance(pause_after, bool) or not isinstance(pause_after, int) \
            or not 1 <= pause_after <= epochs:
        raise ValueError(f"pause_after must be an integer in [1, epochs={epochs}] or None, "
                         f"got {pause_after!r}")
    if resume is not None and pause_after <= resume.epochs_done:
        raise ValueError(f"pause_after={pause_after} must be after the {resume.epochs_done} "
                         "epochs the resumed state has done")
    return pause_after


def fit(model: MLP, X, y, X_val=None, y_val=None, *, pause_after: int | None = None,
        resume: TrainingState | str | Path | None = None, **options) -> History:
    """Train ``model`` in place on minibatches and return its ``History``.

    Options (keyword-only; see ``TrainConfig``): ``optimizer`` (name or
    Optimizer, default "adam"), ``lr``, ``batch_size``, ``epochs``, ``seed``
    (shuffling and dropout masks), ``l2``/``l1`` penalties on weights,
    ``clip_norm`` (global gradient norm), ``clip_value`` (each gradient element
    to [-c, c]), ``max_norm`` (each unit's incoming weight vector, after each
    step), the optimizer's ``momentum``/``beta1``/``beta2``/``rho``/``eps``,
    ``early_stopping``, ``callbacks`` and ``shuffle``.

    Learning-rate schedule: ``schedule`` (a name in ``netcore.SCHEDULES``) with
    its options ``step_size``, ``gamma``, ``decay_rate``, ``min_lr``,
    ``max_lr``, ``pct_start``, ``div_factor``, ``final_div_factor``,
    ``warmup_steps``, ``schedule_steps`` (see ``netcore.schedules``); the
    History then records each epoch's "lr".

    Training stops early when a callback asks, or when the loss becomes NaN or
    infinite (``history.diverged``, ``history.diverged_epoch``).

    Pause and resume: ``pause_after=k`` stops a run configured for ``epochs``
    after epoch ``k`` (``k == epochs`` just completes) with
    ``history.stop_reason == "paused"`` and its ``TrainingState`` on
    ``history.state`` (``state.save(path)``, ``TrainingState.load(path)``); the
    model then holds the weights of epoch ``k`` (early stopping restores its best
    weights only when the training ends). ``resume=state`` (or a path to a saved
    state) continues it on the same data with the same options (``pause_after``
    may pause it again): params, optimizer state and History are bit-identical to
    an uninterrupted run's. A run that stops early or diverges before ``k`` ends
    as usual, without a state. A mismatched net, option or data size raises
    ValueError.

    Changing hyperparameters at resume (population-based training): ``lr``,
    ``batch_size``, ``l2``, ``l1``, ``clip_norm``, ``clip_value``, ``max_norm``
    and the optimizer's ``momentum``/``beta1``/``beta2``/``rho``/``eps``
    (``netcore.resume.RESUME_CHANGEABLE``) may differ from the paused run's: the resumed run
    takes its steps with the new values, its optimizer state (velocity, moments,
    step count), generators and History carry on. Dropout is a property of the
    net: resume with a net built with other dropout rates (non-zero ones stay
    non-zero: a rate of 0 has no dropout layer). The sizes, activations,
    optimizer kind, schedule, epochs, seed and early stopping cannot change.

    Example:
        >>> hist = fit(model, X, y, X_val, y_val, optimizer="sgd", lr=0.1, epochs=5)
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be a netcore.MLP, got {type(model).__name__}")
    check_options(options, [f.name for f in dataclasses.fields(TrainConfig)],
                  what="fit() got unknown options", error=TypeError)
    config = TrainConfig(**options)
    if isinstance(resume, str | Path):
        resume = TrainingState.load(resume)
    pause_after = _check_pause(pause_after, resume, config.epochs)
    data = _prepare_data(model, X, y, X_val, y_val)
    needs_val = config.early_stopping is not None and config.early_stopping.monitor.startswith("val")
    if needs_val and data.X_val is None:
        raise ValueError(
            f"early_stopping monitors {config.early_stopping.monitor!r}: pass X_val and y_val"
        )
    n_used = _samples_per_epoch(model, config.batch_size, len(data.X))
    return _Trainer(model, config, data, n_used).run(pause_after, resume)


def _samples_per_epoch(model: MLP, batch_size: int, n: int) -> int:
    """How many of the ``n`` training samples each epoch trains on: all of them,
    except that a net with batch norm skips a last batch of a single sample, whose
    batch variance is 0 (its normalized values are all 0, its statistics
    meaningless), as PyTorch users do with ``drop_last``; which sample is left
    out changes each epoch when the data is shuffled.

    Raises:
        ValueError: for batch norm with ``batch_size=1`` or fewer than 2 samples.
    """
    if not any(isinstance(layer, BatchNorm) for layer in model.layers):
        return n
    if batch_size == 1:
        raise ValueError("batch_size=1 with batch_norm: the statistics of a one-sample batch "
                         "are degenerate (its variance is 0); use batch_size >= 2")
    if n < 2:
        raise ValueError(f"batch_norm needs at least 2 training samples, got {n}")
    if n % batch_size != 1:
        return n
    warnings.warn(f"batch norm: {n} samples with batch_size={batch_size} leave a last batch "
                  "of 1 sample, whose statistics are degenerate; it is dropped from each "
                  "epoch (choose a batch_size that does not leave 1 sample over to keep it)",
                  UserWarning, stacklevel=3)
    return n - 1
