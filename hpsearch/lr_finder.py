"""The learning-rate range test (Smith 2015, 2017): raise the rate every minibatch, watch the loss.

``lr_range_test`` trains a netcore MLP on successive minibatches while the
learning rate grows from ``lr_min`` to ``lr_max``, records the loss at every
step and stops once the loss diverges. The good region is where the loss falls
fastest without oscillating; three suggestion rules read it off the curve and
a confidence says how far they disagree. The model and optimizer are left
exactly as they were: the test is a measurement, not a training.

>>> import netcore, hpsearch
>>> data = netcore.load_dataset("digits")
>>> result = hpsearch.lr_range_test({"sizes": [64, 32, 10], "seed": 0}, data, num_iter=60)
>>> round(result.suggestion, 2), result.method, result.confidence   # doctest: +SKIP
(1.12, 'steepest', 'medium')
>>> fig = result.plot("lr_find.png")              # doctest: +SKIP

Learning rates (0-based step ``i`` of ``n = num_iter``)::

    exp:     lr_i = lr_min * (lr_max / lr_min) ** (i / (n - 1))
    linear:  lr_i = lr_min + (lr_max - lr_min) * (i / (n - 1))

so the first step uses ``lr_min`` and the last ``lr_max``. ``losses[i]`` is the
loss of minibatch ``i`` just before the step taken with ``lrs[i]``, as in
pytorch-lr-finder and fastai; ``val_losses[i]`` is measured just after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

import netcore
from netcore.optim import Optimizer
from netcore.train import TrainConfig

if TYPE_CHECKING:
    import pandas as pd

RANGE_TEST = "range_test"
"""The value of ``lr`` that asks the objective to pick the learning rate by a range test."""

MODES = ("exp", "linear")
MIN_POINTS = 10
"""Curves shorter than this get untrimmed suggestions and a "low" confidence."""

PREFERENCE = ("steepest", "valley", "min_div_10")
"""The rule behind ``LRRangeResult.suggestion``: the first of these that exists."""

CONFIDENCE_DECADES = (("high", 0.5), ("medium", 1.0))
"""Spread of the suggestions (in decades of lr) up to which the confidence is high, medium."""

TRAIN_OPTIONS = ("momentum", "beta1", "beta2", "rho", "eps", "l2", "l1", "clip_norm", "clip_value",
                 "max_norm")
"""``fit`` options that shape a training step and so also apply to the range test."""


# Configuration.

def _check_int(value, argument: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{argument} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_real(value, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{argument} must be a finite number, got {value!r}")
    return float(value)


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
        lr_min, lr_max = _check_real(self.lr_min, "lr_min"), _check_real(self.lr_max, "lr_max")
        if not 0 < lr_min < lr_max:
            raise ValueError(f"`0 < lr_min < lr_max` must hold, but got (lr_min={self.lr_min!r}, "
                             f"lr_max={self.lr_max!r})")
        if self.mode not in MODES:
            raise ValueError(f"The 'mode' parameter must be one of {list(MODES)}. "
                             f"Got {self.mode!r} instead.")
        smooth, diverge = _check_real(self.smooth, "smooth"), _check_real(self.diverge, "diverge")
        if not 0 < smooth <= 1:
            raise ValueError(f"smooth must satisfy 0 < smooth <= 1 (1: no smoothing), got {self.smooth!r}")
        if not diverge > 1:
            raise ValueError(f"diverge must be a number > 1 (stop when loss > diverge x best), "
                             f"got {self.diverge!r}")
        if not isinstance(self.use_val, bool):
            raise TypeError(f"use_val must be True or False, got {self.use_val!r}")
        if self.seed is not None:
            object.__setattr__(self, "seed", _check_int(self.seed, "seed", 0))
        for name, value in (("lr_min", lr_min), ("lr_max", lr_max), ("smooth", smooth),
                            ("diverge", diverge), ("num_iter", _check_int(self.num_iter, "num_iter", 2)),
                            ("val_size", _check_int(self.val_size, "val_size", 1)),
                            ("batch_size", _check_int(self.batch_size, "batch_size", 1))):
            object.__setattr__(self, name, value)

    @classmethod
    def from_options(cls, options: Mapping) -> RangeTestConfig:
        """Build from a mapping, naming unknown keys instead of a bare TypeError."""
        allowed = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(f"unknown range-test option(s) {unknown}; allowed: {allowed}")
        return cls(**options)


def lr_sequence(lr_min: float, lr_max: float, num_iter: int, mode: str = "exp") -> np.ndarray:
    """The learning rates of the test's ``num_iter`` steps (see the module docstring)."""
    config = RangeTestConfig(lr_min=lr_min, lr_max=lr_max, num_iter=num_iter, mode=mode)
    lo, hi, last = config.lr_min, config.lr_max, config.num_iter - 1
    if config.mode == "exp":
        rates = [lo * (hi / lo) ** (i / last) for i in range(config.num_iter)]
    else:
        rates = [lo + (hi - lo) * (i / last) for i in range(config.num_iter)]
    return np.array(rates, dtype=np.float64)


class _EMA:
    """Exponential moving average with Adam's bias correction: unbiased from the first value."""

    def __init__(self, smooth: float):
        self.beta, self.avg, self.count = 1.0 - smooth, 0.0, 0

    def update(self, value: float) -> float:
        self.count += 1
        self.avg = self.beta * self.avg + (1.0 - self.beta) * value
        return self.avg / (1.0 - self.beta ** self.count)


def smooth_curve(values, smooth: float = 0.05) -> np.ndarray:
    """``values`` smoothed as the test smooths its losses (weight ``smooth`` on the newest)."""
    ema = _EMA(smooth)
    return np.array([ema.update(float(v)) for v in values], dtype=np.float64)


# Suggestions: pure functions of (lrs, losses), so they can be tested on synthetic curves.

def _trimmed(n: int) -> slice:
    """The points the suggestions read: all but the first 10%, where the smoothed loss
    still averages few batches and a lucky batch can look like a steep fall. The
    diverging end needs no trimming: every rule reads the curve up to its minimum."""
    return slice(0, n) if n < MIN_POINTS else slice(n // 10, n)


def _read(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    """Checked float arrays of a curve, trimmed by ``_trimmed``."""
    lrs, losses = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or lrs.shape != losses.shape:
        raise ValueError(f"lrs and losses must be 1-D and of equal length, got shapes "
                         f"{lrs.shape} and {losses.shape}")
    if not (np.all(lrs > 0) and np.all(np.isfinite(lrs)) and np.all(np.isfinite(losses))):
        raise ValueError("lrs must be finite and > 0 and losses finite")
    part = _trimmed(len(lrs))
    return lrs[part], losses[part]


def _window_slopes(x: np.ndarray, y: np.ndarray, width: int) -> np.ndarray:
    """Least-squares slope of y against x in every window of ``width`` consecutive points."""
    xs = np.lib.stride_tricks.sliding_window_view(x, width)
    ys = np.lib.stride_tricks.sliding_window_view(y, width)
    xc = xs - xs.mean(axis=1, keepdims=True)
    yc = ys - ys.mean(axis=1, keepdims=True)
    return (xc * yc).sum(axis=1) / (xc * xc).sum(axis=1)


def suggest_steepest(lrs, losses) -> float | None:
    """The lr where the loss falls fastest against log10(lr), before the loss minimum.

    The slope is a least-squares fit over a short window (n/20 points, at least
    3), not a two-point difference, so a single noisy point cannot win. None
    when the loss never falls.
    """
    lrs, losses = _read(lrs, losses)
    if len(lrs) < 2:
        return None
    stop = int(np.argmin(losses)) + 1
    x, y = np.log10(lrs[:stop]), losses[:stop]
    width = min(max(3, round(len(lrs) / 20)), len(x))
    if width < 2:
        return None
    slopes = _window_slopes(x, y, width)
    best = int(np.argmin(slopes))
    return float(lrs[best + width // 2]) if slopes[best] < 0 else None


def suggest_min_div_10(lrs, losses) -> float | None:
    """The lr of the lowest loss divided by 10 (fastai's "minimum/10")."""
    lrs, losses = _read(lrs, losses)
    return float(lrs[int(np.argmin(losses))] / 10.0) if len(lrs) else None


def _longest_descent(y: np.ndarray, rate: float) -> tuple[int, int, int]:
    """(first, last, length) of the longest subsequence of ``y`` that falls by at
    least ``rate`` per step between each member and the next."""
    length, first, steps = np.ones(len(y), dtype=np.int64), np.arange(len(y)), np.arange(len(y))
    for i in range(1, len(y)):
        falling = np.flatnonzero(y[:i] - y[i] >= rate * (i - steps[:i]))
        if falling.size:
            j = falling[int(np.argmax(length[falling]))]
            length[i], first[i] = length[j] + 1, first[j]
    last = int(np.argmax(length))
    return int(first[last]), last, int(length[last])


def suggest_valley(lrs, losses) -> float | None:
    """The middle of the longest valley: fastai's "valley" rule, made blind to plateaus.

    The valley is the longest stretch, up to the loss minimum, over which the
    loss keeps falling at a real rate: at least its mean rate of fall over the
    whole curve (total drop / number of points) from each point to the next in
    the stretch. fastai takes any decreasing subsequence, so a slowly drifting
    plateau of a smoothed curve joins its valley and drags the suggestion
    towards ``lr_min``. The suggestion is the middle of the stretch (in steps,
    so geometric in lr for the exp mode). None for a valley of fewer than 3 points.
    """
    lrs, losses = _read(lrs, losses)
    if len(lrs) < 3:
        return None
    y = losses[:int(np.argmin(losses)) + 1]
    rate = (y.max() - y.min()) / len(losses)
    first, last, length = _longest_descent(y, rate)
    return float(lrs[first + (last - first) // 2]) if length >= 3 and rate > 0 else None


SUGGESTERS = {"steepest": suggest_steepest, "min_div_10": suggest_min_div_10, "valley": suggest_valley}


@dataclass(frozen=True)
class Suggestions:
    """What the suggestion rules make of one curve."""

    values: dict[str, float | None]
    suggestion: float | None
    method: str | None
    confidence: str
    spread: float
    notes: tuple[str, ...] = ()


def suggest(lrs, losses) -> Suggestions:
    """Run every rule, pick one by ``PREFERENCE`` and rate the agreement.

    The confidence is "high" when the suggestions lie within half a decade of
    each other, "medium" within one decade, else "low"; always "low" for a
    curve shorter than ``MIN_POINTS`` or with fewer than two suggestions.
    """
    lrs, losses = np.asarray(lrs, float), np.asarray(losses, float)
    values = {name: rule(lrs, losses) for name, rule in SUGGESTERS.items()}
    method = next((name for name in PREFERENCE if values[name] is not None), None)
    found = [v for v in values.values() if v is not None]
    spread = float(np.log10(max(found) / min(found))) if len(found) >= 2 else math.nan
    notes = []
    if len(lrs) < MIN_POINTS:
        notes.append(f"only {len(lrs)} points recorded (fewer than {MIN_POINTS}): the curve is "
                     "too short to read reliably; widen the range or raise num_iter")
    if len(found) < 2:
        notes.append("fewer than two rules found a learning rate: the loss hardly decreases")
    confidence = "low"
    if not notes:
        confidence = next((name for name, limit in CONFIDENCE_DECADES if spread <= limit), "low")
    return Suggestions(values, None if method is None else values[method], method, confidence,
                       spread, tuple(notes))


# The result.

@dataclass(frozen=True)
class LRRangeResult:
    """One range test: its curve, why it stopped, and what it suggests.

    Attributes:
        lrs: the learning rate of every recorded step.
        losses: training loss, smoothed (bias-corrected EMA); ``raw_losses`` unsmoothed.
        val_losses: smoothed validation loss on a fixed subset (``use_val``), else None.
        monitor: the curve the suggestions and the divergence stop read
            ("val_loss" with ``use_val``, else "loss").
        stop_reason: "completed", "diverged" (loss > diverge x best) or
            "non_finite" (a NaN or infinite loss); ``stop_lr`` the rate it happened at.
        suggestions: {"steepest", "min_div_10", "valley"} -> lr or None.
        suggestion: the first of ``PREFERENCE`` that exists ("steepest", then
            "valley", then "min_div_10"); ``method`` names it. Steepest comes
            first because it trained closest to the best rate of a grid in
            the study ``studies/lr_finder_mnist.py`` (SGD, momentum and Adam).
        confidence: "high", "medium" or "low"; ``spread`` the decades between the
            largest and smallest suggestion; ``notes`` say why it is low.
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    val_losses: np.ndarray | None
    raw_val_losses: np.ndarray | None
    monitor: str
    stop_reason: str
    stop_lr: float | None
    suggestions: dict[str, float | None]
    suggestion: float | None
    method: str | None
    confidence: str
    spread: float
    notes: tuple[str, ...] = ()
    config: dict = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.stop_reason != "completed"

    @property
    def stopped_early(self) -> bool:
        return len(self.lrs) < self.config.get("num_iter", len(self.lrs))

    @property
    def curve(self) -> np.ndarray:
        """The smoothed curve the suggestions were read from."""
        return self.val_losses if self.monitor == "val_loss" else self.losses

    def to_frame(self) -> pd.DataFrame:
        """One row per step: lr, raw and smoothed loss (and validation loss)."""
        import pandas as pd  # on use: importing pandas takes 0.2 s

        columns = {"lr": self.lrs, "raw_loss": self.raw_losses, "loss": self.losses}
        if self.val_losses is not None:
            columns.update(raw_val_loss=self.raw_val_losses, val_loss=self.val_losses)
        return pd.DataFrame(columns, index=pd.RangeIndex(len(self.lrs), name="step"))

    def narrow(self, low_factor: float = 0.1, high_factor: float = 3.0):
        """A log-uniform ``lr`` dimension around the suggestion for a TPE or random search.

        >>> space = {"lr": result.narrow(), "hidden": space.choice([[64], [128]])}  # doctest: +SKIP

        Raises:
            ValueError: without a suggestion, or unless ``0 < low_factor < high_factor``.
        """
        from hpsearch import space

        low, high = _check_real(low_factor, "low_factor"), _check_real(high_factor, "high_factor")
        if not 0 < low < high:
            raise ValueError(f"`0 < low_factor < high_factor` must hold, but got "
                             f"(low_factor={low_factor!r}, high_factor={high_factor!r})")
        if self.suggestion is None:
            raise ValueError(f"the range test has no suggestion to narrow around "
                             f"(stop reason: {self.stop_reason}); {' '.join(self.notes)}")
        return space.log_float(self.suggestion * low, self.suggestion * high)

    def summary(self) -> dict:
        """The scalars worth storing with a trial (JSON-ready)."""
        return {"lr_suggestions": dict(self.suggestions), "lr_method": self.method,
                "lr_confidence": self.confidence,
                "lr_spread": None if math.isnan(self.spread) else self.spread,
                "range_test_steps": len(self.lrs), "range_test_stop": self.stop_reason}

    def plot(self, path=None, *, ax=None, title: str | None = None):
        """Loss against lr on a log axis with the suggestions marked; saved to ``path`` if given.

        Draws on ``ax`` if given, else on a new ``matplotlib.figure.Figure``
        built without pyplot: nothing is shown, no global figure is left open,
        any backend works. Returns the figure.
        """
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(7, 4.2), layout="constrained").add_subplot()
        _plot(self, ax, title)
        if path is not None:
            ax.figure.savefig(path, dpi=120)
        return ax.figure


_MARKERS = {"steepest": ("C2", "v"), "valley": ("C3", "o"), "min_div_10": ("C4", "s")}


def _plot(result: LRRangeResult, ax, title: str | None) -> None:
    ax.plot(result.lrs, result.raw_losses, color="C0", alpha=0.25, lw=0.8, label="loss (raw)")
    ax.plot(result.lrs, result.losses, color="C0", label="loss (smoothed)")
    shown = [result.losses]
    if result.val_losses is not None:
        ax.plot(result.lrs, result.val_losses, color="C1", label="validation loss (smoothed)")
        shown.append(result.val_losses)
    if len(result.lrs):
        _mark_suggestions(ax, result)
        ax.set_ylim(*_loss_limits(np.asarray(shown)))
    spread = "" if math.isnan(result.spread) else f", spread {result.spread:.2f} decades"
    ax.set(xscale="log", xlabel="learning rate", ylabel="loss",
           title=title or f"LR range test: confidence {result.confidence}{spread}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def _loss_limits(curves: np.ndarray) -> tuple[float, float]:
    """y-limits that show the fall in detail: from the lowest smoothed loss to a bit
    above the highest one before it. The diverging tail leaves through the top
    instead of squashing the informative part (raw spikes are not counted at all)."""
    low = float(curves.min())
    before = [c[:int(np.argmin(c)) + 1].max() for c in curves]
    high = min(float(curves.max()), max(before) + 0.5 * (max(before) - low))
    pad = max(high - low, 1e-6 * max(abs(high), 1.0))
    return low - 0.05 * pad, high + 0.1 * pad


def _mark_suggestions(ax, result: LRRangeResult) -> None:
    """A vertical line and a marker on the monitored curve per suggestion; the chosen one bold."""
    log_lrs = np.log(result.lrs)
    for name, (color, marker) in _MARKERS.items():
        lr = result.suggestions.get(name)
        if lr is None:
            continue
        chosen = name == result.method
        at = int(np.argmin(np.abs(log_lrs - math.log(lr))))
        ax.axvline(lr, color=color, ls="-" if chosen else "--", lw=1.5 if chosen else 0.8)
        ax.plot([lr], [result.curve[at]], marker=marker, color=color, ls="none", ms=9 if chosen else 6,
                label=f"{name}: {lr:.3g}" + (" (suggestion)" if chosen else ""))


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
        self.ema, self.val_ema = _EMA(config.smooth), _EMA(config.smooth)
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
    """One run: steps the optimizer at growing rates and fills a ``_Curve``."""

    def __init__(self, model: netcore.MLP, train: TrainConfig, config: RangeTestConfig):
        self.model, self.config = model, config
        self.optimizer = train.build_optimizer()
        self.transforms, self.constraints = train.gradient_transforms(), train.constraints()
        self.weights = [layer.W for layer in model.dense_layers]

    def run(self, data) -> _Curve:
        batch_seed, val_seed = np.random.SeedSequence(self.config.seed).spawn(2)
        arrays = _prepare(self.model, data, self.config, np.random.default_rng(val_seed))
        curve = _Curve(self.config)
        lrs = lr_sequence(self.config.lr_min, self.config.lr_max, self.config.num_iter, self.config.mode)
        batches = _batches(len(arrays.X), self.config.batch_size, self.config.num_iter,
                           np.random.default_rng(batch_seed))
        # Overflow is expected once the rate is too high; it is detected and recorded instead.
        with restored(self.model, self.optimizer), \
                np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for lr, idx in zip(lrs, batches, strict=True):
                loss = self._step(arrays.X[idx], arrays.T[idx], float(lr))
                val = self._val_loss(arrays) if math.isfinite(loss) and self.config.use_val else None
                if curve.add(float(lr), loss, val):
                    break
        return curve

    def _step(self, xb: np.ndarray, tb: np.ndarray, lr: float) -> float:
        """One optimizer step at ``lr``; returns the batch's mean loss before it."""
        model = self.model
        z = model.forward(xb, training=True)
        loss, _ = model.loss.loss_and_delta(z, tb, scale=1.0 / len(xb))
        if not math.isfinite(loss):
            return loss
        model.backward(z)
        for transform in self.transforms:
            transform(model.params, model.grads, model.n_weights)
        self.optimizer.step(model.params, model.grads, lr)
        for constraint in self.constraints:
            constraint(self.weights)
        return loss / len(xb)

    def _val_loss(self, arrays: _Arrays) -> float:
        return self.model.evaluate_prepared(arrays.X_val, arrays.T_val)["loss"]


def _train_config(optimizer, batch_size: int, train_options: dict) -> TrainConfig:
    unknown = sorted(set(train_options) - set(TRAIN_OPTIONS))
    if unknown:
        raise TypeError(f"lr_range_test() got unknown options {unknown}; allowed: "
                        f"{sorted([*TRAIN_OPTIONS, *(f.name for f in dataclasses.fields(RangeTestConfig))])}")
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


# The lr-range strategy's trials (called by hpsearch.objective).

def trial_range_test(model_config: dict, data, fit_options: Mapping, *, seed: int,
                     options: Mapping) -> LRRangeResult:
    """The range test of one trial: its model, optimizer settings and batch size.

    ``fit_options`` are the trial's fit settings (the optimizer and its options,
    ``batch_size``, gradient transforms; the rest is ignored); ``options`` the
    study's range-test options (``ObjectiveConfig.range_test``).

    Raises:
        ValueError: when the test finds no learning rate (the trial then fails).
    """
    train = {k: v for k, v in fit_options.items() if k in TRAIN_OPTIONS}
    kwargs = {"batch_size": fit_options.get("batch_size", TrainConfig.batch_size), "seed": seed,
              **dict(options)}
    result = lr_range_test(model_config, data, optimizer=fit_options.get("optimizer", TrainConfig.optimizer),
                           **kwargs, **train)
    if result.suggestion is None:
        raise ValueError(f"the learning-rate range test found no learning rate (stopped: "
                         f"{result.stop_reason} after {len(result.lrs)} steps); {' '.join(result.notes)}")
    return result


def add_to_record(record: dict, result: LRRangeResult) -> dict:
    """Put the range test into a trial's record: ``lr`` (the rate trained with), the
    suggestions and confidence as metrics, the curve as ``range_test_lr``/``_loss`` curves."""
    record.update({"lr": result.suggestion, **result.summary()})
    curves = record.setdefault("curves", {})
    curves.update(range_test_lr=result.lrs.tolist(), range_test_loss=result.curve.tolist())
    return record
