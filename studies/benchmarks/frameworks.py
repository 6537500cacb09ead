"""The trainers under test: the same ReLU MLP, Adam and minibatch epoch in each framework.

Every trainer takes the MNIST arrays (float32 pixels, int64 labels) once, in
``prepare`` (outside the timing), then ``epoch(X, y)`` trains one shuffled
pass of minibatches with softmax cross-entropy and Adam (lr 1e-3) and returns
the epoch's mean training loss, a sanity check that every framework trained.
A framework is imported only inside its own trainer, so a worker loads one.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

LR = 1e-3


@dataclass(frozen=True)
class Task:
    """What every trainer builds and how: layer widths, batch size, seed, threads."""

    sizes: tuple[int, ...]
    batch_size: int
    seed: int
    threads: int


class Trainer:
    """Base class: one framework's model, optimizer and epoch loop."""

    name = "trainer"
    module = "numpy"  # what the worker imports: a missing one skips the framework
    distribution = "numpy"  # whose version the results name

    def __init__(self, task: Task):
        self.task = task

    def prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        """The framework's own view of the data (no copy where it can be avoided)."""
        return X, y

    def epoch(self, X: Any, y: Any) -> float:
        """Train one epoch over ``X, y``; return the mean training loss."""
        raise NotImplementedError

    def info(self) -> dict:
        """Facts to check after the run: the parameters' dtype, the framework's own threads."""
        raise NotImplementedError

    @classmethod
    def version(cls) -> str:
        return importlib.metadata.version(cls.distribution)


class NetcoreTrainer(Trainer):
    """``netcore.fit(..., epochs=1)``: its public API, validation of the inputs included."""

    name = "netcore"
    module, distribution = "netcore", "hpsearch"

    def __init__(self, task: Task):
        super().__init__(task)
        import netcore

        self._fit = netcore.fit
        self.model = netcore.MLP(list(task.sizes), activation="relu", init="he", seed=task.seed)
        self.calls = 0

    def epoch(self, X, y):
        self.calls += 1
        hist = self._fit(self.model, X, y, optimizer="adam", lr=LR, batch_size=self.task.batch_size,
                         epochs=1, seed=self.task.seed + self.calls)
        return float(hist["loss"][0])

    def info(self):
        from netcore import kernels

        compiled = kernels.kernel_for("adam", kernels.backend(), self.model.params) is not None
        step = "numba " + importlib.metadata.version("numba") if compiled else "numpy"
        return {"param_dtype": str(self.model.params.dtype), "adam_step": step}


class NumpyNetcoreTrainer(NetcoreTrainer):
    """netcore with its numpy optimizer step only: what an install without numba runs."""

    name = "netcore-numpy"

    def __init__(self, task: Task):
        from netcore import kernels

        os.environ[kernels.ENV_VAR] = "numpy"  # this worker process only
        super().__init__(task)


class TorchTrainer(Trainer):
    """A hand-written PyTorch loop: randperm from a Generator, index_select per batch."""

    name = "torch"
    module = distribution = "torch"
    fused: bool | None = None  # None: torch's default Adam implementation

    def __init__(self, task: Task):
        super().__init__(task)
        import torch

        torch.set_num_threads(task.threads)
        torch.manual_seed(task.seed)
        self.torch = torch
        self.model = _torch_mlp(torch.nn, task.sizes)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR, fused=self.fused)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.generator = torch.Generator().manual_seed(task.seed)

    def prepare(self, X, y):
        return self.torch.from_numpy(X), self.torch.from_numpy(y.astype(np.int64, copy=False))

    def epoch(self, X, y):
        n, bs = len(X), self.task.batch_size
        order = self.torch.randperm(n, generator=self.generator)
        total = 0.0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            xb, yb = X.index_select(0, idx), y.index_select(0, idx)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(idx)
        return total / n

    def info(self):
        dtype = str(next(self.model.parameters()).dtype).removeprefix("torch.")
        return {"param_dtype": dtype, "torch_threads": self.torch.get_num_threads(),
                "torch_mkl": self.torch.backends.mkl.is_available()}


class FusedTorchTrainer(TorchTrainer):
    """The same loop with ``torch.optim.Adam(..., fused=True)``."""

    name = "torch-fused"
    fused = True


def _torch_mlp(nn, sizes: tuple[int, ...]):
    """``nn.Sequential`` of Linear layers with ReLU between them (logits out)."""
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SklearnTrainer(Trainer):
    """``MLPClassifier.partial_fit``: one shuffled epoch per call, float32 kept as float32.

    ``alpha=0`` matches the other trainers (no L2 penalty); scikit-learn
    computes the penalty terms either way, so this does not change its work.
    """

    name = "sklearn"
    module, distribution = "sklearn", "scikit-learn"

    def __init__(self, task: Task):
        super().__init__(task)
        from sklearn.neural_network import MLPClassifier

        self.model = MLPClassifier(
            hidden_layer_sizes=task.sizes[1:-1], activation="relu", solver="adam", alpha=0.0,
            batch_size=task.batch_size, learning_rate_init=LR, shuffle=True, random_state=task.seed,
        )
        self.classes: np.ndarray | None = np.arange(task.sizes[-1])

    def epoch(self, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.partial_fit(X, y, classes=self.classes)
        self.classes = None  # only the first call takes them
        return float(self.model.loss_)

    def info(self):
        return {"param_dtype": str(self.model.coefs_[0].dtype)}


FRAMEWORKS: dict[str, type[Trainer]] = {
    cls.name: cls for cls in (NetcoreTrainer, NumpyNetcoreTrainer, TorchTrainer, FusedTorchTrainer,
                              SklearnTrainer)
}
