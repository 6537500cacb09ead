"""The suggestion rules of the LR range test: pure functions of a curve (lrs, losses).

They read a smoothed loss curve and name a learning rate, so they can be
tested on synthetic curves: the steepest descent against log lr, fastai's
"minimum/10", and the middle of the longest valley.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_POINTS = 10
"""Curves shorter than this get untrimmed suggestions and a "low" confidence."""

PREFERENCE = ("steepest", "valley", "min_div_10")
"""The rule behind ``LRRangeResult.suggestion``: the first of these that exists."""

CONFIDENCE_DECADES = (("high", 0.5), ("medium", 1.0))
"""Spread of the suggestions (in decades of lr) up to which the confidence is high, medium."""


class EMA:
    """Exponential moving average with Adam's bias correction: unbiased from the first value."""

    def __init__(self, smooth: float):
        self.beta, self.avg, self.count = 1.0 - smooth, 0.0, 0

    def update(self, value: float) -> float:
        self.count += 1
        self.avg = self.beta * self.avg + (1.0 - self.beta) * value
        return self.avg / (1.0 - self.beta ** self.count)


def smooth_curve(values, smooth: float = 0.05) -> np.ndarray:
    """``values`` smoothed as the test smooths its losses (weight ``smooth`` on the newest)."""
    ema = EMA(smooth)
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
