"""Running the LR range test: its configuration, the steps at growing rates, the curve.

Each step is ``netcore.TrainStep`` (the step ``fit`` takes) at the rate of
netcore's ``exp_range`` or ``linear_range`` schedule, so the test trains
exactly as a training would at that rate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

import netcore
from hpsearch.lr_finder.result import LRRangeResult
from hpsearch.lr_finder.rules import EMA, suggest
from netcore.optim import Optimizer
from netcore.train import TrainConfig
from netcore.validation import check_choice, check_finite, check_int, check_options

MODES = ("exp", "linear")
TRAIN_OPTIONS = ("momentum", "beta1", "beta2", "rho", "eps", "l2", "l1", "clip_norm", "clip_value",
                 "max_norm")
"""``fit`` options that shape a training step and so also apply to the range test."""
_SCHEDULES = {"exp": "exp_range", "linear": "linear_range"}


# Configuration.

@dataclass(frozen=True)
class RangeTestConfig:
    """Every option of ``lr_range_test`` but the model, data and optimizer; see there."""

    lr_min: float = 1e-7
    lr_max: float = 10.0
    num_iter: int = 100
    mode: str = "exp"
    smooth: float = 0.05
    diverge: float = 4.0
    use_val: bool = False
    val_size: int = 1000
    batch_size: int = 128
    seed: int | None = 0

    def __post_init__(self):
        lr_min, lr_max = check_finite(self.lr_min, "lr_min"), check_finite(self.lr_max, "lr_max")
        if not 0 < lr_min < lr_max:
            raise ValueError(f"`0 < lr_min < lr_max` must hold, but got (lr_min={self.lr_min!r}, "
                             f"lr_max={self.lr_max!r})")
        check_choice(self.mode, MODES, "mode")
        smooth, diverge = check_finite(self.smooth, "smooth"), check_finite(self.diverge, "diverge")
        if not 0 < smooth <= 1:
            raise ValueError(f"smooth must satisfy 0 < smooth <= 1 (1: no smoothing), got {self.smooth!r}")
        if not diverge > 1:
            raise ValueError(f"diverge must be a number > 1 (stop when loss > diverge x best), "
                             f"got {self.diverge!r}")
        if not isinstance(self.use_val, bool):
            raise TypeError(f"use_val must be True or False, got {self.use_val!r}")
        check_int(self.seed, "seed", minimum=0, optional=True)
        check_int(self.num_iter, "num_iter", minimum=2)
        check_int(self.val_size, "val_size", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)

    @classmethod
    def from_options(cls, options: Mapping) -> RangeTestConfig:
        """Build from a mapping, naming unknown keys instead of a bare TypeError."""
        check_options(options, [f.name for f in dataclasses.fields(cls)],
                      what="unknown range-test option(s)")
        return cls(**options)


def lr_sequence(lr_min: float, lr_max: float, num_iter: int, mode: str = "exp") -> np.ndarray:
    """The learning rates of the test's ``num_iter`` steps: netcore's ``exp_range``
    (``mode="exp"``) or ``linear_range`` schedule from ``lr_min`` to ``lr_max``."""
    config = RangeTestConfig(lr_min=lr_min, lr_max=lr_max, num_iter=num_iter, mode=mode)
    schedule = netcore.get_schedule(_SCHEDULES[config.mode], config.lr_min, max_lr=config.lr_max,
                                    schedule_steps=config.num_iter)
    return np.array(schedule.sequence(config.num_iter), dtype=np.float64)


# Running the test.

def _as_model(model_or_config) -> netcore.MLP:
    if isinstance(model_or_config, netcore.MLP):
        return model_or_config
    if not isinstance(model_or_config, Mapping):
        raise TypeError(f"model_or_config must be a netcore.MLP or a dict of MLP arguments such as "
                        f"{{'sizes': [784, 100, 10]}}, got {type(model_or_config).__name__}")
    if "sizes" not in model_or_config:
        raise ValueError(f"model_or_config needs 'sizes' (layer widths, input first); "
                         f"got keys {sorted(model_or_config)}")
    return netcore.MLP(**model_or_config)


def _as_arrays(data) -> tuple:
    """(X, y, X_val, y_val) from a netcore Dataset or a tuple; the val pair may be None."""
    if isinstance(data, netcore.Dataset):
        return data.X_train, data.y_train, data.X_val, data.y_val
    if isinstance(data, tuple | list) and len(data) in (2, 4):
        return (*data, None, None) if len(data) == 2 else tuple(data)
    raise TypeError("data must be a netcore Dataset (netcore.load_dataset) or a tuple (X, y) or "
                    f"(X, y, X_val, y_val), got {type(data).__name__}"
                    + (f" of length {len(data)}" if isinstance(data, tuple | list) else ""))


@dataclass
class _Arrays:
    X: np.ndarray
    T: np.ndarray
    X_val: np.ndarray | None = None
    T_val: np.ndarray | None = None


def _prepare(model: netcore.MLP, data, config: RangeTestConfig, rng: np.random.Generator) -> _Arrays:
    X, y, X_val, y_val = _as_arrays(data)
    out = _Arrays(*model.prepare_data(X, y))
    if not config.use_val:
        return out
    if X_val is None or y_val is None:
        raise ValueError("use_val=True needs validation data: pass a Dataset or (X, y, X_val, y_val)")
    X_val, T_val = model.prepare_data(X_val, y_val, ("X_val", "y_val"))
    keep = np.sort(rng.choice(len(X_val), size=min(config.val_size, len(X_val)), replace=False))
    out.X_val, out.T_val = X_val[keep], T_val[keep]
    return out


def _batches(n: int, batch_size: int, num_iter: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """``num_iter`` minibatches of indices: successive slices of fresh permutations."""
    size = min(batch_size, n)
    per_pass = n // size
    for i in range(num_iter):
        if i % per_pass == 0:
            order = rng.permutation(n)
        start = (i % per_pass) * size
        yield order[start:start + size]


@contextlib.contextmanager
def restored(model: netcore.MLP, optimizer: Optimizer) -> Iterator[None]:
    """Put the model (weights, gradients, buffers, dropout RNG) and the optimizer state
    back exactly as they were when the block exits, also on an error."""
    params, grads, buffers = model.params.copy(), model.grads.copy(), model.get_buffers()
    rng_state, opt_state = model.rng.bit_generator.state, optimizer.state_dict()
    try:
        yield
    finally:
        # In place: the layers hold views into these flat buffers.
        model.params[...] = params
        model.grads[...] = grads
        model.set_buffers(buffers)
        model.rng.bit_generator.state = rng_state
        optimizer.load_state_dict(opt_state)


class _Curve:
    """The recorded points and the divergence rule."""

    def __init__(self, config: RangeTestConfig):
        self.config = config
        self.lrs, self.raw, self.smooth, self.raw_val, self.smooth_val = [], [], [], [], []
        self.ema, self.val_ema = EMA(config.smooth), EMA(config.smooth)
        self.best = math.inf
        self.stop_reason, self.stop_lr = "completed", None

    def add(self, lr: float, loss: float, val_loss: float | None) -> bool:
        """Record one step; True when the test must stop (the point is then the last)."""
        if not (math.isfinite(loss) and (val_loss is None or math.isfinite(val_loss))):
            self.stop_reason, self.stop_lr = "non_finite", lr
            return True
        self.lrs.append(lr)
        self.raw.append(loss)
        self.smooth.append(self.ema.update(loss))
        watched = self.smooth[-1]
        if val_loss is not None:
            self.raw_val.append(val_loss)
            self.smooth_val.append(watched := self.val_ema.update(val_loss))
        if not math.isfinite(watched):
            self.stop_reason, self.stop_lr = "non_finite", lr
            return True
        if len(self.lrs) > 1 and watched > self.config.diverge * self.best:
            self.stop_reason, self.stop_lr = "diverged", lr
            return True
        self.best = min(self.best, watched)
        return False


class _RangeTest:
    """One run: netcore's training step at growing rates, filling a ``_Curve``."""

    def __init__(self, model: netcore.MLP, train: TrainConfig, config: RangeTestConfig):
        self.model, self.config = model, config
        self.train_step = netcore.TrainStep.from_config(train)

    def run(self, data) -> _Curve:
        batch_seed, val_seed = np.random.SeedSequence(self.config.seed).spawn(2)
        arrays = _prepare(self.model, data, self.config, np.random.default_rng(val_seed))
        curve = _Curve(self.config)
        lrs = lr_sequence(self.config.lr_min, self.config.lr_max, self.config.num_iter, self.config.mode)
        batches = _batches(len(arrays.X), self.config.batch_size, self.config.num_iter,
                           np.random.default_rng(batch_seed))
        # Overflow is expected once the rate is too high; it is detected and recorded instead.
        with restored(self.model, self.train_step.optimizer), \
                np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for lr, idx in zip(lrs, batches, strict=True):
                xb, tb = arrays.X[idx], arrays.T[idx]
                loss, _ = self.train_step.step(self.model, xb, tb, float(lr))
                loss /= len(xb)
                val = self._val_loss(arrays) if math.isfinite(loss) and self.config.use_val else None
                if curve.add(float(lr), loss, val):
                    break
        return curve

    def _val_loss(self, arrays: _Arrays) -> float:
        return self.model.evaluate_prepared(arrays.X_val, arrays.T_val)["loss"]


def _train_config(optimizer, batch_size: int, train_options: dict) -> TrainConfig:
    # The range test's own options are lr_range_test's named arguments, never in train_options.
    check_options(train_options, [*TRAIN_OPTIONS, *(f.name for f in dataclasses.fields(RangeTestConfig))],
                  what="lr_range_test() got unknown options", error=TypeError)
    if not isinstance(optimizer, str | Optimizer):
        raise TypeError(f"optimizer must be a name in {sorted(netcore.OPTIMIZERS)} or a netcore "
                        f"Optimizer, got {optimizer!r}")
    return TrainConfig(optimizer=optimizer, batch_size=batch_size, **train_options)


def _result(curve: _Curve, config: RangeTestConfig) -> LRRangeResult:
    def array(values):
        return np.array(values, dtype=np.float64)

    monitor = "val_loss" if config.use_val else "loss"
    watched = curve.smooth_val if config.use_val else curve.smooth
    found = suggest(curve.lrs, watched)
    notes = found.notes
    if not curve.lrs:
        notes = (f"the first step already gave a {curve.stop_reason} loss at lr={curve.stop_lr:.3g}: "
                 "lower lr_min",)
    return LRRangeResult(
        lrs=array(curve.lrs), losses=array(curve.smooth), raw_losses=array(curve.raw),
        val_losses=array(curve.smooth_val) if config.use_val else None,
        raw_val_losses=array(curve.raw_val) if config.use_val else None,
        monitor=monitor, stop_reason=curve.stop_reason, stop_lr=curve.stop_lr,
        suggestions=found.values, suggestion=found.suggestion, method=found.method,
        confidence=found.confidence, spread=found.spread, notes=notes,
        config=dataclasses.asdict(config))


def lr_range_test(model_or_config, data, *, optimizer: str | Optimizer = "sgd", lr_min: float = 1e-7,
                  lr_max: float = 10.0, num_iter: int = 100, mode: str = "exp", smooth: float = 0.05,
                  diverge: float = 4.0, use_val: bool = False, val_size: int = 1000,
                  batch_size: int = 128, seed: int | None = 0, **train_options) -> LRRangeResult:
    """Run a learning-rate range test and return its curve and suggestions.

    Args:
        model_or_config: a ``netcore.MLP`` (left exactly as it was: weights,
            buffers and dropout RNG are restored) or a dict of MLP arguments.
        data: a ``netcore.Dataset`` or a tuple ``(X, y)`` / ``(X, y, X_val, y_val)``.
        optimizer: a name in ``netcore.OPTIMIZERS`` or an ``Optimizer``, whose
            state is restored afterwards; its options (``momentum``, ``beta1``,
            ...) and the gradient transforms ``l2``, ``l1``, ``clip_norm``,
            ``clip_value``, ``max_norm`` go in ``train_options`` as for ``fit``.
        lr_min, lr_max, num_iter, mode: the rates, ``"exp"`` or ``"linear"``
            from ``lr_min`` to ``lr_max`` in ``num_iter`` steps.
        smooth: weight of the newest loss in the EMA (1: no smoothing).
        diverge: stop once the smoothed loss exceeds ``diverge`` x its best.
        use_val: also measure the loss on a fixed random subset of
            ``val_size`` validation samples after every step, and read the
            suggestions from it.
        batch_size, seed: minibatch size, and the seed of their order (and of the subset).

    Raises:
        TypeError, ValueError: naming the argument, before any step is taken.
    """
    config = RangeTestConfig(lr_min=lr_min, lr_max=lr_max, num_iter=num_iter, mode=mode, smooth=smooth,
                             diverge=diverge, use_val=use_val, val_size=val_size,
                             batch_size=batch_size, seed=seed)
    train = _train_config(optimizer, config.batch_size, train_options)
    model = _as_model(model_or_config)
    curve = _RangeTest(model, train, config).run(data)
    return _result(curve, config)
