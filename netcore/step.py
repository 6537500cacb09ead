"""One training step: the only place where netcore changes a model's parameters.

``TrainStep`` composes what ``fit`` configures: the forward pass and the
fused loss gradient, backprop into the flat gradient buffer, the gradient
transforms (L2/L1 penalties, clipping), the optimizer's update at the given
learning rate and the constraints (max-norm) on the weights. ``fit`` calls it
once per minibatch; the learning-rate range test calls the same object at
growing rates, so the two can never drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from netcore.model import MLP
from netcore.optim import Optimizer


class TrainStep:
    """``step(model, xb, tb, lr)``: one optimizer step on a prepared minibatch.

    Args:
        optimizer: the ``Optimizer`` whose state persists across steps.
        transforms: gradient transforms, each ``t(params, grads, n_weights)``.
        constraints: weight projections, each ``c(weights)`` after the update.
    """

    def __init__(self, optimizer: Optimizer, transforms: Sequence = (),
                 constraints: Sequence = ()):
        self.optimizer = optimizer
        self.transforms, self.constraints = list(transforms), list(constraints)
        self._weights: tuple[MLP | None, list] = (None, [])

    @classmethod
    def from_config(cls, config) -> TrainStep:
        """The step a ``TrainConfig`` describes (its optimizer, transforms, constraints)."""
        return cls(config.build_optimizer(), config.gradient_transforms(), config.constraints())

    def step(self, model: MLP, xb: np.ndarray, tb: np.ndarray, lr: float) -> tuple[float, int]:
        """Train on ``xb, tb`` (checked and prepared, as ``model.prepare_data`` gives them).

        Returns the batch's summed loss before the update and its number of
        correct predictions. A non-finite loss is returned without any update,
        so the caller can stop with the parameters intact.
        """
        z = model.forward(xb, training=True)
        loss, hits = model.loss.loss_and_delta(z, tb, scale=1.0 / len(xb))
        if not math.isfinite(loss):
            return loss, hits
        model.backward(z)
        for transform in self.transforms:
            transform(model.params, model.grads, model.n_weights)
        self.optimizer.step(model.params, model.grads, lr)
        for constraint in self.constraints:
            constraint(self._weights_of(model))
        return loss, hits

    def _weights_of(self, model: MLP) -> list:
        if self._weights[0] is not model:
            self._weights = (model, [layer.W for layer in model.dense_layers])
        return self._weights[1]
