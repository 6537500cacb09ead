"""The result of one LR range test: its curve, why it stopped, what it suggests, its plot."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from netcore.validation import check_finite

if TYPE_CHECKING:
    import pandas as pd

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

        low, high = check_finite(low_factor, "low_factor"), check_finite(high_factor, "high_factor")
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
        built without pyplot (``netcore.figures``): nothing is shown, no global
        figure is left open, any backend works, and a notebook shows it once.
        Returns the figure.
        """
        if ax is None:
            from netcore.figures import new_figure

            ax = new_figure(figsize=(7, 4.2), layout="constrained").add_subplot()
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
