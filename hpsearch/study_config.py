"""A study's configuration: everything that defines it, stored with it.

``StudyConfig`` (the space, the objective's settings, the strategy, seed, pruner
and round size), how two stored configurations differ, and how ``Study.create``'s
keyword arguments become one.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import netcore
from hpsearch.checks import check_study_settings
from hpsearch.metrics import frozen_metric
from hpsearch.objective import ObjectiveConfig, parameter_names, plugin_names
from hpsearch.options import option, option_fields
from hpsearch.pruners import check_pruner
from hpsearch.space.searchspace import SearchSpace
from hpsearch.strategies import STRATEGIES, get_strategy
from netcore.validation import check_choice, check_int, check_positive_int


@dataclass
class StudyConfig:
    """Everything that defines a study; stored with it so that it can be reloaded.

    Building one checks its values alone (a mapping ``space`` is made a
    ``SearchSpace``) and runs no code: that is how a stored study is read.
    A new study is made by ``create`` (or ``checked``), which also makes the
    checks that import plugins, build the strategy and try stand-in nets.
    """

    space: SearchSpace
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    strategy: str = option("random", types=(str,), what="a string")
    strategy_options: Mapping = option(factory=dict, types=(dict,), what="a table")
    seed: int = option(0, types=(int,), what="an integer")
    pruner: str | None = option(None, types=(str,), what="a string")
    round_size: int = option(4, types=(int,), what="an integer")

    def __post_init__(self):
        self.space = SearchSpace(self.space)
        self.space.check_names(parameter_names(), "the netcore objective")
        check_pruner(self.pruner)
        if self.pruner is not None and self.objective.multi_objective:
            raise ValueError(f"pruner {self.pruner!r} cannot judge a multi-objective study "
                             f"({list(self.objective.metrics)}): Optuna's pruners watch one "
                             "objective; use pruner=None")
        check_int(self.seed, "seed", minimum=0)
        check_positive_int(self.round_size, "round_size")
        if not isinstance(self.strategy, str):
            raise TypeError(f"strategy must be a strategy name, got {self.strategy!r}")

    @classmethod
    def create(cls, space, objective: ObjectiveConfig | None = None, **settings) -> StudyConfig:
        """The configuration of a new study, checked once (see ``checked``)."""
        return cls(space, objective or ObjectiveConfig(), **settings).checked()

    def checked(self) -> StudyConfig:
        """This configuration as a new study stores it, after the checks that need
        code: the plugins imported, the dataset and strategy names looked up, the
        strategy built and the fixed settings tried on stand-in nets. A strategy
        may reshape the space and objective (lr-range moves "lr" into a range test
        per trial); applied to its own output it gives the same configuration.

        Raises:
            ValueError: on a name, option or setting that fails, before any trial.
        """
        self.objective.check_names()
        check_choice(self.strategy, sorted(STRATEGIES), "strategy")
        if self.pruner is not None and STRATEGIES[self.strategy].multi_fidelity:
            raise ValueError(f"strategy {self.strategy!r} stops and resumes trials at its own "
                             f"rungs; pruner {self.pruner!r} cannot be combined with it "
                             "(use pruner=None)")
        space, objective = self._new_strategy().configure(self.objective)
        config = dataclasses.replace(self, space=space, objective=objective)
        check_study_settings(config.objective.fixed, config.space)
        return config

    def build_strategy(self):
        """The strategy, configured for the objective (a multi-fidelity strategy learns
        its epochs there; configuring the stored, configured objective changes nothing)."""
        strategy = self._new_strategy()
        strategy.configure(self.objective)
        return strategy

    def _new_strategy(self):
        return get_strategy(self.strategy, self.space, seed=self.seed,
                            direction=self.objective.directions, **dict(self.strategy_options))

    def to_dict(self) -> dict:
        return {"space": self.space.to_dict(), "objective": self.objective.to_dict(),
                "strategy": self.strategy, "strategy_options": dict(self.strategy_options),
                "seed": self.seed, "pruner": self.pruner, "round_size": self.round_size}

    @classmethod
    def from_dict(cls, data: Mapping, *, checked: bool = False) -> StudyConfig:
        """Rebuild a stored configuration (``to_dict``'s output).

        By default only its structure is checked and nothing is imported: a
        study read from a database is data, not code, so its plugins do not
        run. ``checked=True`` checks it as at creation, importing its plugins.
        """
        data = dict(data)
        objective = dict(data.pop("objective"))
        if "plugins" in objective:
            objective["plugins"] = plugin_names(objective["plugins"])
        if "metric" in objective:
            objective["metric"] = frozen_metric(objective["metric"])
        config = cls(space=SearchSpace.from_dict(data.pop("space")),
                     objective=ObjectiveConfig(**objective), **data)
        return config.checked() if checked else config


def _flatten(data, prefix: str = "") -> dict:
    """Nested mappings as one level of dotted keys: {"space.lr.high": 0.1, ...}."""
    if not isinstance(data, Mapping) or (prefix and not data):
        return {prefix: data}
    flat: dict = {}
    for key, value in data.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


class _Missing:
    """A key one configuration lacks; shown as ``missing``."""

    def __repr__(self) -> str:
        return "missing"


_MISSING = _Missing()


def plugin_key(plugin: str) -> str:
    """A plugin name to compare: a file by its absolute path, a module by its name."""
    return os.path.abspath(plugin) if plugin.endswith(".py") else plugin


def config_differences(stored: Mapping, requested: Mapping) -> str:
    """The settings in which two configurations differ, as
    ``"objective.epochs: stored 20, requested 30; ..."`` (``missing`` where absent)."""
    old, new = _flatten(stored), _flatten(requested)
    missing = _MISSING
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k, missing) != new.get(k, missing))
    return "; ".join(f"{k}: stored {old.get(k, missing)!r}, requested {new.get(k, missing)!r}"
                     for k in keys)


OBJECTIVE_OPTIONS = option_fields(ObjectiveConfig)
STUDY_OPTIONS = option_fields(StudyConfig)
_CREATE_ARGUMENTS = ("name", "space", "data", "storage", "load_if_exists")


def create_arguments() -> list[str]:
    """The keyword arguments of ``Study.create``: its options and its own arguments."""
    return [*_CREATE_ARGUMENTS, *OBJECTIVE_OPTIONS, *STUDY_OPTIONS]


def check_data_given(data, settings: Mapping) -> None:
    """Refuse a study without data (it would train on a dataset nobody chose) or with two."""
    dataset = settings.get("dataset")  # None, the signature's default, is not given
    if data is None and dataset is None:
        raise TypeError("Study.create() needs the data to search on: data=(X, y) or a "
                        "netcore.Dataset, or dataset=NAME for one of "
                        f"{sorted(netcore.DATASETS)}")
    if data is not None and dataset is not None:
        raise TypeError(f"Study.create() got both data= and dataset={dataset!r}; give one")


def plain_settings(settings: dict) -> dict:
    """Study.create's keywords as config values: ``None`` for a mapping option means
    none (for ``dataset``: not given), any mapping becomes a dict and any iterable of plugins a tuple (a lone
    string is left for the config to refuse)."""
    plain = {}
    for key, value in settings.items():
        if key in ("fixed", "strategy_options", "dataset") and value is None:
            continue
        if isinstance(value, Mapping):
            value = dict(value)
        elif key == "plugins" and not isinstance(value, str):
            value = tuple(value)
        elif key == "metric":
            value = frozen_metric(value)
        plain[key] = value
    return plain


def create_signature() -> inspect.Signature:
    """``Study.create``'s signature for ``help()`` and editors, its options' names and
    defaults read from the config dataclasses."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("cls", inspect.Parameter.POSITIONAL_OR_KEYWORD),
              inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str"),
              inspect.Parameter("space", keyword)]
    for f in [*OBJECTIVE_OPTIONS.values(), *STUDY_OPTIONS.values()]:
        # dataset has no default here: a study names its data (dataset= or data=)
        value = None if f.default is dataclasses.MISSING or f.name == "dataset" else f.default
        params.append(inspect.Parameter(f.name, keyword, default=value, annotation=f.type))
    params += [inspect.Parameter("data", keyword, default=None),
               inspect.Parameter("storage", keyword, default=None, annotation="str | None"),
               inspect.Parameter("load_if_exists", keyword, default=False, annotation="bool")]
    return inspect.Signature(params, return_annotation="Study")


def as_dataset(data) -> netcore.Dataset | None:
    """``data`` as a ``netcore.Dataset``: a Dataset as it is, ``(X, y)`` through
    ``Dataset.from_arrays``.

    Raises:
        TypeError: for anything else.
    """
    if data is None or isinstance(data, netcore.Dataset):
        return data
    if isinstance(data, tuple | list) and len(data) == 2:
        return netcore.Dataset.from_arrays(*data)
    raise TypeError("data must be a netcore.Dataset (e.g. Dataset.from_csv(path, target=...)) "
                    f"or a tuple (X, y); got {type(data).__name__}")


def data_fields(data: netcore.Dataset | None) -> dict:
    """The objective's fields that describe the user's data (none for a named dataset)."""
    if data is None:
        return {}
    return {"dataset": data.name, "task": data.task, "data_fingerprint": data.fingerprint()}


def check_same_config(name: str, url: str, stored: Mapping, requested: Mapping) -> None:
    """Refuse to continue the stored study ``name`` with another configuration (both as
    stored: ``to_dict`` through JSON). The same data may be read from another place:
    ``data_source`` is not compared.

    Raises:
        ValueError: naming the settings that differ.
    """
    old, new = json.loads(json.dumps(stored)), json.loads(json.dumps(requested))
    for side in (old, new):
        side["objective"].pop("data_source", None)
    if old != new:
        raise ValueError(f"study {name!r} exists in {url} with a different configuration: "
                         f"{config_differences(old, new)}; run it under another name "
                         f"(--name) or delete the stored one (hpsearch delete {url} "
                         f"--study {name})")


def checked_for_run(config: StudyConfig, named_plugins: Sequence[str], name: str) -> StudyConfig:
    """A stored ``config`` checked as at creation, for running it.

    Raises:
        ValueError: when it lists plugins the caller did not name in ``named_plugins``
            (they are compared, never imported), or fails a check.
    """
    named = {plugin_key(p) for p in named_plugins}
    stored = config.objective.plugins
    if any(plugin_key(p) not in named for p in stored):
        raise ValueError(f"study {name!r} uses plugins {list(stored)}; name them to run it: "
                         "Study.load(..., plugins=[...]) or the spec's plugins")
    return StudyConfig.from_dict(json.loads(json.dumps(config.to_dict())), checked=True)


def config_from_settings(space, data: netcore.Dataset | None, settings: Mapping) -> StudyConfig:
    """The checked configuration ``Study.create(space=space, data=data, **settings)`` makes
    (``settings`` already plain: ``plain_settings``)."""
    objective = ObjectiveConfig(**{k: v for k, v in settings.items() if k in OBJECTIVE_OPTIONS},
                                **data_fields(data))
    return StudyConfig.create(space, objective,
                              **{k: v for k, v in settings.items() if k in STUDY_OPTIONS})


def with_data_fields(config: StudyConfig, data: netcore.Dataset | None) -> StudyConfig:
    """``config`` made for ``data`` when it does not name its data's fingerprint yet."""
    if data is None or config.objective.data_fingerprint is not None:
        return config
    return dataclasses.replace(config, objective=dataclasses.replace(config.objective,
                                                                     **data_fields(data)))
