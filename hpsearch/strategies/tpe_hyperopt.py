"""TPE through Hyperopt's ``tpe.suggest``, driven one slot at a time in batches.

Hyperopt is used as a suggestion algorithm only: no ``fmin``, no MongoDB, no
Spark. Parameters come back as values (never choice indices), and the runner
evaluates them in parallel like every other strategy's.

Hyperopt is imported where it is used: it pulls in scipy.stats (0.9 s), which
a trial's worker process and the other strategies never need.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from hpsearch.metrics import sign
from hpsearch.space.dimensions import Choice, Fixed, Float, Int, freeze, thaw
from hpsearch.space.searchspace import SearchSpace
from hpsearch.strategies.base import Strategy
from hpsearch.trial import COMPLETE, TrialResult, trial_seed


def _label(name: str, parent: tuple[str, int] | None) -> str:
    return name if parent is None else f"{name}|{parent[0]}={parent[1]}"


class HyperoptSpace:
    """A SearchSpace as a Hyperopt expression, and the mapping back to values.

    A parameter conditioned on a choice lives inside that choice's branches
    (one label per branch), so Hyperopt knows when it is active.
    """

    def __init__(self, space: SearchSpace):
        self.space = space
        self.labels: dict[str, str] = {}  # hyperopt label -> parameter name
        for name, dim in space.dimensions.items():
            if len(dim.when) > 1:
                raise ValueError(f"tpe-hyperopt supports one condition per parameter; {name!r} "
                                 f"has {sorted(dim.when)}")
        self.expression = {name: self._node(name, None) for name, dim in space.dimensions.items()
                           if not dim.when and not isinstance(dim, Fixed)}

    def _children(self, name: str) -> list[str]:
        return [c for c, dim in self.space.dimensions.items() if name in dim.when]

    def _node(self, name: str, parent: tuple[str, int] | None):
        from hyperopt import hp

        label, dim = _label(name, parent), self.space[name]
        self.labels[label] = name
        if isinstance(dim, Float):
            if dim.log:
                return hp.loguniform(label, math.log(dim.low), math.log(dim.high))
            if dim.prior == "normal":
                return hp.normal(label, dim.mu, dim.sigma)
            return hp.uniform(label, dim.low, dim.high)
        if isinstance(dim, Int):
            if dim.log:
                return hp.qloguniform(label, math.log(dim.low), math.log(dim.high + 0.5), 1)
            count = (dim.high - dim.low) // dim.step + 1
            return hp.quniform(label, -0.5, count - 0.5, 1)
        return hp.choice(label, [self._branch(name, i, value) for i, value in enumerate(dim.values)])

    def _branch(self, name: str, index: int, value) -> dict:
        return {child: self._node(child, (name, index)) for child in self._children(name)
                if value in self.space[child].when[name]
                and not isinstance(self.space[child], Fixed)} | {"__index__": index}

    def decode(self, vals: dict) -> dict:
        """Hyperopt's ``misc["vals"]`` (label -> [raw] or []) as parameter values."""
        raw = {self.labels[label]: v[0] for label, v in vals.items() if v}
        params: dict = {}
        for name, dim in self.space.dimensions.items():
            if not self.space.is_active(name, params):
                continue
            if isinstance(dim, Fixed):
                params[name] = thaw(dim.value)
            elif isinstance(dim, Choice):
                params[name] = thaw(dim.values[int(raw[name])])
            elif isinstance(dim, Int):
                value = round(raw[name]) if dim.log else dim.low + round(raw[name]) * dim.step
                params[name] = int(np.clip(value, dim.low, dim.high))
            else:
                params[name] = float(np.clip(raw[name], dim.low, dim.high))
        return params

    def encode(self, params: dict) -> dict:
        """Parameter values as ``misc["vals"]``: the inverse of ``decode``."""
        vals = {label: [] for label in self.labels}
        for label, name in self.labels.items():
            if name not in params or not self._label_active(label, params):
                continue
            dim, value = self.space[name], params[name]
            if isinstance(dim, Choice):
                vals[label] = [dim.index(value)]
            elif isinstance(dim, Int) and not dim.log:
                vals[label] = [float((value - dim.low) // dim.step)]
            else:
                vals[label] = [float(value)]
        return vals

    def _label_active(self, label: str, params: dict) -> bool:
        if "|" not in label:
            return True
        parent, index = label.split("|", 1)[1].rsplit("=", 1)
        return self.space[parent].values[int(index)] == freeze(params.get(parent))


class HyperoptTPEStrategy(Strategy):
    """Hyperopt's TPE. Within a batch, proposals not yet evaluated count as bad
    (Hyperopt gives running trials an infinite loss), which spreads the batch.

    Args:
        n_startup_trials: random proposals before TPE takes over (Hyperopt's
            ``n_startup_jobs``).
    """

    name = "tpe-hyperopt"
    batched = True

    def __init__(self, space, *, seed=0, direction="minimize", n_startup_trials: int = 20):
        from hyperopt import Domain, Trials

        super().__init__(space, seed=seed, direction=direction)
        self.hspace = HyperoptSpace(self.space)
        self.domain = Domain(lambda params: 0.0, self.hspace.expression)
        self.trials = Trials()
        self.n_startup_trials = n_startup_trials
        logging.getLogger("hyperopt.tpe").setLevel(logging.WARNING)

    def _propose(self, slot: int) -> dict:
        from hyperopt import tpe

        docs = tpe.suggest([slot], self.domain, self.trials, trial_seed(self.seed, slot),
                           n_startup_jobs=self.n_startup_trials, verbose=False)
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        return self.hspace.decode(docs[0]["misc"]["vals"])

    def _observe(self, result: TrialResult) -> None:
        from hyperopt import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK

        doc = next((d for d in self.trials._dynamic_trials if d["tid"] == result.slot), None)
        if doc is None:
            doc = self._insert(result)
        if result.state == COMPLETE:
            loss = sign(self.direction) * result.value
            doc["result"] = {"loss": float(loss), "status": STATUS_OK}
        else:
            doc["result"] = {"status": STATUS_FAIL}
        doc["state"] = JOB_STATE_DONE
        self.trials.refresh()

    def _insert(self, result: TrialResult) -> dict:
        vals = self.hspace.encode(result.params)
        misc = {"tid": result.slot, "cmd": self.domain.cmd, "workdir": self.domain.workdir,
                "idxs": {k: [result.slot] if v else [] for k, v in vals.items()}, "vals": vals}
        doc = self.trials.new_trial_docs([result.slot], [None], [self.domain.new_result()],
                                         [misc])[0]
        self.trials.insert_trial_docs([doc])
        self.trials.refresh()
        return next(d for d in self.trials._dynamic_trials if d["tid"] == result.slot)
