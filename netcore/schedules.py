"""Learning-rate schedules: the learning rate as a function of the optimizer step.

A schedule is built from the base ``lr`` and the length of training, then
called with the 0-based optimizer step; ``fit`` asks it before every step and
hands the result to the optimizer, so every schedule works with every
optimizer. The unit of ``t`` in the formulas below differs:

- per epoch (``t`` = epoch index from 0; the rate holds for a whole epoch):
  ``constant`` (lr), ``step`` (lr * gamma ** (t // step_size)),
  ``exponential`` (lr * gamma ** t), ``inverse_time`` (lr / (1 + decay_rate * t),
  i.e. eta_t proportional to 1 / t);
- per batch (``t`` = optimizer step from 0, over a horizon of ``T`` steps,
  all steps of training unless ``schedule_steps`` says otherwise):
  ``cosine`` (from lr down to min_lr), ``one_cycle`` (Smith's 1cycle: up from
  lr / div_factor to lr, then down to lr / (div_factor * final_div_factor)),
  ``warmup`` (linear warm-up, then constant), ``exp_range`` (lr growing
  exponentially to max_lr: the LR range test) and ``linear_range`` (lr growing
  linearly to max_lr: the range test's linear mode).

Every schedule also takes ``warmup_steps``: the rate of step ``s <
warmup_steps`` is multiplied by ``(s + 1) / warmup_steps``, so ``cosine`` with
``warmup_steps=500`` warms up linearly, then follows the cosine.

>>> sched = get_schedule("step", 0.1, epochs=4, steps_per_epoch=10, step_size=2)
>>> [sched(10 * epoch) for epoch in range(4)]
[0.1, 0.1, 0.05, 0.05]
"""

from __future__ import annotations

import inspect
import math
import numbers

from netcore.validation import (
    check_choice,
    check_non_negative,
    check_options,
    check_positive,
    check_positive_int,
)


def _check_steps(value, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{argument} must be an integer >= 0, got {value!r}")
    return int(value)


def _cosine(start: float, end: float, fraction: float) -> float:
    """Half a cosine from ``start`` (fraction 0) to ``end`` (fraction 1)."""
    return end + (start - end) * (1.0 + math.cos(math.pi * fraction)) / 2.0


class Schedule:
    """Base class: ``schedule(step)`` is the learning rate of the 0-based ``step``.

    Args:
        lr: the base learning rate (fit's ``lr``).
        steps_per_epoch: optimizer steps in one epoch.
        epochs: epochs of training (sets the horizon of batch schedules).
        warmup_steps: length of the linear warm-up multiplied into the rate.
        schedule_steps: horizon ``T`` of batch schedules (default: every step).
    """

    name = "schedule"
    unit = "epoch"
    # True for schedules defined over a horizon of T steps (they take ``schedule_steps``).
    uses_horizon = False

    def __init__(self, lr: float, *, steps_per_epoch: int = 1, epochs: int = 1,
                 warmup_steps: int | None = None, schedule_steps: int | None = None):
        self.lr = check_positive(lr, "lr")
        self.steps_per_epoch = check_positive_int(steps_per_epoch, "steps_per_epoch")
        self.epochs = check_positive_int(epochs, "epochs")
        self.warmup_steps = _check_steps(0 if warmup_steps is None else warmup_steps, "warmup_steps")
        total = self.epochs if self.unit == "epoch" else self.epochs * self.steps_per_epoch
        self.horizon = total if schedule_steps is None else check_positive_int(
            schedule_steps, "schedule_steps")

    def __call__(self, step: int) -> float:
        t = step // self.steps_per_epoch if self.unit == "epoch" else step
        lr = self.rate(t)
        if step < self.warmup_steps:
            lr *= (step + 1) / self.warmup_steps
        return lr

    def rate(self, t: int) -> float:
        """The learning rate at ``t`` (an epoch or a step, by ``unit``), before warm-up."""
        return self.lr

    def _fraction(self, t: int) -> float:
        """Progress in [0, 1] through the horizon: 0 at the first step, 1 at the last."""
        last = self.horizon - 1
        return min(t, last) / last if last > 0 else 0.0

    def sequence(self, n_steps: int) -> list[float]:
        """The learning rates of the first ``n_steps`` optimizer steps."""
        return [self(step) for step in range(n_steps)]


class Constant(Schedule):
    """The base rate throughout (per epoch)."""

    name = "constant"


class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    name = "step"

    def __init__(self, lr: float, *, step_size: int = 10, gamma: float = 0.5, **common):
        super().__init__(lr, **common)
        self.step_size = check_positive_int(step_size, "step_size")
        self.gamma = check_positive(gamma, "gamma")

    def rate(self, t):
        return self.lr * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """Multiply the rate by ``gamma`` every epoch."""

    name = "exponential"

    def __init__(self, lr: float, *, gamma: float = 0.95, **common):
        super().__init__(lr, **common)
        self.gamma = check_positive(gamma, "gamma")

    def rate(self, t):
        return self.lr * self.gamma ** t


class InverseTimeDecay(Schedule):
    """``lr / (1 + decay_rate * epoch)``: the 1/t decay of stochastic approximation."""

    name = "inverse_time"

    def __init__(self, lr: float, *, decay_rate: float = 1.0, **common):
        super().__init__(lr, **common)
        self.decay_rate = check_non_negative(decay_rate, "decay_rate")

    def rate(self, t):
        return self.lr / (1.0 + self.decay_rate * t)


class Cosine(Schedule):
    """Half a cosine per step from ``lr`` (first step) to ``min_lr`` (step T - 1, then held)."""

    name = "cosine"
    unit = "batch"
    uses_horizon = True

    def __init__(self, lr: float, *, min_lr: float = 0.0, **common):
        super().__init__(lr, **common)
        self.min_lr = check_non_negative(min_lr, "min_lr")

    def rate(self, t):
        return _cosine(self.lr, self.min_lr, self._fraction(t))


class OneCycle(Schedule):
    """Smith's one-cycle policy with cosine phases, per step.

    Rises from ``lr / div_factor`` to the peak ``lr`` at step
    ``p = round(pct_start * (T - 1))``, then falls to
    ``lr / (div_factor * final_div_factor)`` at step ``T - 1``.
    """

    name = "one_cycle"
    unit = "batch"
    uses_horizon = True

    def __init__(self, lr: float, *, pct_start: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, **common):
        super().__init__(lr, **common)
        self.pct_start = check_non_negative(pct_start, "pct_start")
        if self.pct_start > 1.0:
            raise ValueError(f"pct_start must satisfy 0 <= pct_start <= 1, got {pct_start!r}")
        self.div_factor = check_positive(div_factor, "div_factor")
        self.final_div_factor = check_positive(final_div_factor, "final_div_factor")

    def rate(self, t):
        last = self.horizon - 1
        peak = round(self.pct_start * last)
        start = self.lr / self.div_factor
        t = min(t, last)
        if t <= peak:
            return _cosine(start, self.lr, t / peak if peak else 1.0)
        return _cosine(self.lr, start / self.final_div_factor, (t - peak) / (last - peak))


class Warmup(Schedule):
    """Linear warm-up over ``warmup_steps`` (default: one epoch), then the base rate."""

    name = "warmup"
    unit = "batch"

    def __init__(self, lr: float, *, warmup_steps: int | None = None, **common):
        steps = common.get("steps_per_epoch", 1) if warmup_steps is None else warmup_steps
        super().__init__(lr, warmup_steps=steps, **common)


class ExponentialRange(Schedule):
    """The LR range test: ``lr * (max_lr / lr) ** (t / (T - 1))``, from lr to max_lr, then held."""

    name = "exp_range"
    unit = "batch"
    uses_horizon = True

    def __init__(self, lr: float, *, max_lr: float = 10.0, **common):
        super().__init__(lr, **common)
        self.max_lr = check_positive(max_lr, "max_lr")

    def rate(self, t):
        return self.lr * (self.max_lr / self.lr) ** self._fraction(t)


class LinearRange(ExponentialRange):
    """The linear LR range test: ``lr + (max_lr - lr) * t / (T - 1)``, then held."""

    name = "linear_range"

    def rate(self, t):
        return self.lr + (self.max_lr - self.lr) * self._fraction(t)


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "inverse_time": InverseTimeDecay,
    "cosine": Cosine,
    "one_cycle": OneCycle,
    "warmup": Warmup,
    "exp_range": ExponentialRange,
    "linear_range": LinearRange,
}


def schedule_options(name: str) -> list[str]:
    """The option names the schedule ``name`` accepts (``warmup_steps`` always;
    ``schedule_steps`` for those defined over a horizon: cosine, one_cycle, exp_range)."""
    cls = _lookup(name)
    base = inspect.signature(Schedule.__init__).parameters
    own = [p for p in inspect.signature(cls.__init__).parameters if p not in (*base, "common")]
    horizon = ["schedule_steps"] if cls.uses_horizon else []
    return sorted({*own, "warmup_steps", *horizon})


def _lookup(name: str) -> type[Schedule]:
    return SCHEDULES[check_choice(name, sorted(SCHEDULES), "schedule")]


def get_schedule(name: str, lr: float, *, steps_per_epoch: int = 1, epochs: int = 1,
                 **options) -> Schedule:
    """Build the schedule registered as ``name`` for a training of ``epochs`` epochs.

    Raises:
        ValueError: for an unknown name, an option the schedule does not take,
            or an out-of-range value.
    """
    cls = _lookup(name)
    check_options(options, schedule_options(name), what=f"schedule {name!r} does not take",
                  allows="it takes")
    return cls(lr, steps_per_epoch=steps_per_epoch, epochs=epochs, **options)
