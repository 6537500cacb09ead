"""Where a training step's time goes besides the GEMMs, part by part, on one thread.

``python -m studies.benchmarks.step_profile`` trains a net (784-256-128-10 by
default) with Adam at batch 128 in float32 and times, with ``time.perf_counter``
around each part of many steps, what one step does: the minibatch gather, the
dense layers' forward and backward passes, the activations, the loss and its
gradient, and the Adam update. The GEMMs are then timed alone on the same
operands, and the rest of each dense layer's time is its bias add (forward) or
bias gradient (backward). "Other" is a whole step (gather plus
``TrainStep.step``, timed on its own) less the parts: the Python loops and
calls between them. Each figure is a median over repetitions, so a shared
machine's bursts move it little. With ``--kernels numpy numba`` the table has
one column pair per ``NETCORE_KERNELS`` backend (same data, same seed).

Writes ``results/step_profile.md`` (``--out`` chooses the folder). Inputs are
standard-normal and labels random: the time of each part does not depend on
the values.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from studies.benchmarks.gemm import format_widths, parse_widths
from studies.common import positive_int

RESULTS = Path(__file__).resolve().parent / "results"
LR = 1e-3
# Parts of a step, in the order of the table.
PARTS = ("batch gather", "forward GEMMs", "bias add + activation (forward)",
         "softmax + loss + gradient", "backward GEMMs",
         "activation derivative + bias gradients (backward)", "Adam update", "other (Python, calls)")
GEMM_PARTS = ("forward GEMMs", "backward GEMMs")


class _Timer:
    """Per-part lists of seconds, one entry per step (the sum of that step's calls of the part)."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = {}
        self.current: dict[str, float] = {}

    def add(self, part: str, seconds: float) -> None:
        self.current[part] = self.current.get(part, 0.0) + seconds

    def time(self, part: str, call: Callable):
        start = time.perf_counter()
        result = call()
        self.add(part, time.perf_counter() - start)
        return result

    def end_step(self) -> None:
        for part, seconds in self.current.items():
            self.seconds.setdefault(part, []).append(seconds)
        self.current = {}

    def medians(self) -> dict[str, float]:
        return {part: statistics.median(values) for part, values in self.seconds.items()}


class _Run:
    """A model, its step and data under one kernel backend, ready to be timed step by step."""

    def __init__(self, backend: str, sizes: tuple[int, ...], batch_size: int, n_train: int):
        import netcore
        from netcore import kernels
        from netcore.optim import Adam
        from netcore.step import TrainStep

        os.environ[kernels.ENV_VAR] = backend  # read when the model and the optimizer are built
        self.model = netcore.MLP(list(sizes), activation="relu", init="he", seed=0)
        self.train_step = TrainStep(Adam())
        rng = np.random.default_rng(0)
        self.X = rng.standard_normal((n_train, sizes[0]), dtype=np.float32)
        self.T = rng.integers(0, sizes[-1], size=n_train)
        self.order = rng.permutation(n_train)
        self.x_buf = np.empty((batch_size, sizes[0]), np.float32)
        self.t_buf = np.empty(batch_size, self.T.dtype)
        self.batch_size, self.batch = batch_size, 0

    def gather(self) -> tuple[np.ndarray, np.ndarray]:
        """The next minibatch, gathered as ``fit`` does (sorted indices, ``np.take`` into buffers)."""
        n_batches = len(self.X) // self.batch_size
        start = (self.batch % n_batches) * self.batch_size
        self.batch += 1
        idx = np.sort(self.order[start:start + self.batch_size])
        xb = np.take(self.X, idx, axis=0, out=self.x_buf, mode="clip")
        return xb, np.take(self.T, idx, axis=0, out=self.t_buf, mode="clip")

    def whole_step(self, timer: _Timer) -> None:
        start = time.perf_counter()
        xb, tb = self.gather()
        self.train_step.step(self.model, xb, tb, LR)
        timer.add("step", time.perf_counter() - start)

    def step_in_parts(self, timer: _Timer) -> None:
        """``TrainStep.step`` (no transforms or constraints) with each part timed."""
        xb, tb = timer.time("batch gather", self.gather)
        z = xb
        for layer in self.model.layers:
            z = timer.time(_kind(layer, "forward"), lambda layer=layer, z=z: layer.forward(z, True))
        timer.time("softmax + loss + gradient",
                   lambda: self.model.loss.loss_and_delta(z, tb, scale=1.0 / len(xb)))
        first = self.model._first_param_layer
        for i in range(len(self.model.layers) - 1, first - 1, -1):
            layer = self.model.layers[i]
            z = timer.time(_kind(layer, "backward"),
                           lambda layer=layer, z=z, i=i: layer.backward(z, need_input_grad=i > first))
        timer.time("Adam update", lambda: self.train_step.optimizer.step(
            self.model.params, self.model.grads, LR))
        self._time_gemms(timer)

    def _time_gemms(self, timer: _Timer) -> None:
        """The step's GEMMs alone, on the operands the layers kept, into scratch buffers."""
        dense = self.model.dense_layers
        forward = backward = 0.0
        for i, layer in enumerate(dense):
            out = np.empty((len(layer.x), layer.n_out), np.float32)
            delta = np.ones_like(out)
            forward += _seconds(lambda layer=layer, out=out: np.matmul(layer.x, layer.W, out=out))
            dW = np.empty_like(layer.dW)
            backward += _seconds(lambda layer=layer, d=delta, dW=dW: np.matmul(layer.x.T, d, out=dW))
            if i > 0:
                dx = np.empty_like(layer.x)
                backward += _seconds(lambda layer=layer, d=delta, dx=dx: np.matmul(d, layer.W.T, out=dx))
        timer.add("forward GEMMs", forward)
        timer.add("backward GEMMs", backward)


def _kind(layer, direction: str) -> str:
    from netcore.layers import Dense

    return f"dense {direction}" if isinstance(layer, Dense) else f"activation {direction}"


def _seconds(call: Callable) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def profile(backend: str, sizes: tuple[int, ...], batch_size: int, n_train: int,
            repeats: int) -> dict[str, float]:
    """Median seconds per step of each part of ``PARTS`` and of the whole ``"step"``."""
    run = _Run(backend, sizes, batch_size, n_train)
    timer = _Timer()
    for _ in range(20):  # warm-up: workspaces, the kernels' first call
        run.whole_step(_Timer())
    for _ in range(repeats):
        run.whole_step(timer)
        run.step_in_parts(timer)
        timer.end_step()
    return split(timer.medians())


def split(medians: dict[str, float]) -> dict[str, float]:
    """The table's parts from the timed ones: each dense layer's time beyond its GEMMs goes
    to the bias add (forward) or bias gradient (backward), and "other" is the rest of a step."""
    parts = {part: medians.get(part, 0.0) for part in PARTS[:-1]}
    parts["bias add + activation (forward)"] = (
        medians.get("dense forward", 0.0) - parts["forward GEMMs"] + medians.get("activation forward", 0.0))
    parts["activation derivative + bias gradients (backward)"] = (
        medians.get("dense backward", 0.0) - parts["backward GEMMs"]
        + medians.get("activation backward", 0.0))
    parts["other (Python, calls)"] = medians["step"] - sum(parts.values())
    parts["step"] = medians["step"]
    return parts


def render(results: dict[str, dict[str, float]]) -> str:
    """A Markdown table: µs per step and % of the step for each part, one pair per backend,
    then the GEMM-only share of each backend's step."""
    backends = list(results)
    header = ["part", *(f"{b} {unit}" for b in backends for unit in ("µs", "%"))]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for part in (*PARTS, "step"):
        cells = [part]
        for backend in backends:
            row = results[backend]
            cells += [f"{row[part] * 1e6:.1f}", f"{100 * row[part] / row['step']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    shares = [f"{b} {100 * sum(results[b][p] for p in GEMM_PARTS) / results[b]['step']:.1f}%"
              for b in backends]
    return "\n".join(lines) + "\n\nGEMM-only share of the step: " + ", ".join(shares) + "\n"


def default_backends() -> list[str]:
    return ["numpy", "numba"] if importlib.util.find_spec("numba") else ["numpy"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.benchmarks.step_profile",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--arch", type=parse_widths, default=(784, 256, 128, 10))
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--n-train", type=positive_int, default=10_000, help="rows to gather from")
    parser.add_argument("--repeats", type=positive_int, default=500, help="steps timed per backend")
    parser.add_argument("--kernels", nargs="+", choices=["numpy", "numba", "auto"],
                        help="NETCORE_KERNELS backends; default: numpy, and numba when installed")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where step_profile.md goes")
    args = parser.parse_args(argv)
    if args.n_train < args.batch_size:
        parser.error("--n-train must be at least --batch-size")
    with threadpool_limits(limits=1):
        results = {b: profile(b, args.arch, args.batch_size, args.n_train, args.repeats)
                   for b in args.kernels or default_backends()}
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = (f"# One training step, part by part ({when})\n\n{format_widths(args.arch)}, batch "
              f"{args.batch_size}, float32, ReLU, Adam, one BLAS thread; median over "
              f"{args.repeats} steps of each part (see the module's docstring for what each "
              "covers).\n\n" + render(results))
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "step_profile.md").write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
