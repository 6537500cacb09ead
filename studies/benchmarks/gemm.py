"""The matrix products one MLP training step needs, and their flop count.

For each dense layer ``n_in -> n_out`` at batch ``b`` a step needs three GEMMs:
forward ``Z = X @ W``, backward ``dW = X.T @ dZ`` and ``dX = dZ @ W.T``; the
first layer's ``dX`` is not needed (the input takes no gradient). A GEMM of
an ``m x k`` by a ``k x n`` matrix counts ``2 m k n`` flops. Bias adds,
activations, the loss and the optimizer are not counted: this is the work
every framework must do, whatever else it does, so achieved GFLOP/s compare
frameworks on the same footing and against the BLAS's peak for these shapes.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass


@dataclass(frozen=True)
class Gemm:
    """``A (m x k) @ B (k x n)``; a transposed operand is a ``.T`` view of a C-contiguous array."""

    name: str
    m: int
    k: int
    n: int
    a_transposed: bool = False
    b_transposed: bool = False

    @property
    def flops(self) -> int:
        return 2 * self.m * self.k * self.n


def parse_widths(text: str) -> tuple[int, ...]:
    """``"784-256-128-10"`` -> ``(784, 256, 128, 10)``; at least two positive widths.

    Raises:
        ValueError: when ``text`` is not such a list.
    """
    try:
        sizes = tuple(int(part) for part in text.split("-"))
    except ValueError:
        sizes = ()
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"widths are positive integers joined by '-' (e.g. 784-100-10), got {text!r}")
    return sizes


def widths_argument(text: str) -> tuple[int, ...]:
    """``parse_widths`` as an argparse type."""
    try:
        return parse_widths(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def format_widths(sizes: tuple[int, ...]) -> str:
    """``(784, 256, 128, 10)`` -> ``"784-256-128-10"``, the inverse of ``parse_widths``."""
    return "-".join(map(str, sizes))


def step_gemms(sizes: tuple[int, ...], batch: int) -> list[Gemm]:
    """The GEMMs of one training step of an MLP with layer widths ``sizes`` on ``batch`` samples."""
    gemms = []
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes), 1):
        gemms.append(Gemm(f"L{layer} forward X @ W", batch, n_in, n_out))
        gemms.append(Gemm(f"L{layer} dW = X.T @ dZ", n_in, batch, n_out, a_transposed=True))
        if layer > 1:  # the input needs no gradient
            gemms.append(Gemm(f"L{layer} dX = dZ @ W.T", batch, n_out, n_in, b_transposed=True))
    return gemms


def step_flops(sizes: tuple[int, ...], batch: int) -> int:
    """Flops of the GEMMs one training step on ``batch`` samples needs."""
    return sum(g.flops for g in step_gemms(sizes, batch))


def epoch_batches(n_train: int, batch: int) -> list[int]:
    """The batch sizes of one epoch: ``n_train // batch`` full ones, then the remainder if any."""
    full, rest = divmod(n_train, batch)
    return [batch] * full + ([rest] if rest else [])


def epoch_flops(sizes: tuple[int, ...], n_train: int, batch: int) -> int:
    """Flops of the GEMMs one epoch over ``n_train`` samples in batches of ``batch`` needs."""
    return sum(step_flops(sizes, b) for b in epoch_batches(n_train, batch))
