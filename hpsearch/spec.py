"""Study specs in TOML: one file describes a study completely.

::

    [study]
    name = "quickstart"
    dataset = "digits"
    strategy = "tpe"
    trials = 30
    jobs = 2

    [fixed]
    epochs = 40
    optimizer = "adam"

    [space.lr]
    type = "log_float"
    low = 1e-4
    high = 3e-2

    [space.momentum]
    type = "float"
    low = 0.5
    high = 0.99
    when = { optimizer = ["momentum", "nesterov"] }

Every unknown key and every wrong type is an error naming the file, the key
and what is allowed. A spec and the same study built in Python are equal
``StudyConfig`` objects.
"""

from __future__ import annotations

import numbers
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsearch import space as sp
from hpsearch.objective import ObjectiveConfig
from hpsearch.study import StudyConfig

_NUMBER = (numbers.Real,)
# key: (accepted types, description, default)
STUDY_KEYS: dict[str, tuple[tuple, str, Any]] = {
    "name": ((str,), "a string", None),
    "dataset": ((str,), "a string", None),
    "strategy": ((str,), "a string", "random"),
    "seed": ((int,), "an integer", 0),
    "metric": ((str,), "a string", "val_loss"),
    "storage": ((str,), "a storage URL string", None),
    "trials": ((int,), "an integer", 20),
    "jobs": ((int,), "an integer", 1),
    "timeout": (_NUMBER, "a number of seconds", None),
    "backend": ((str,), "a string", "loky"),
    "pruner": ((str,), "a string", None),
    "round_size": ((int,), "an integer", 4),
    "epochs": ((int,), "an integer", 20),
    "patience": ((int,), "an integer", 5),
    "cv_folds": ((int,), "an integer", 5),
    "max_train": ((int,), "an integer", None),
    "plugins": ((list,), "a list of module names or .py paths", []),
    "max_consecutive_failures": ((int,), "an integer", None),
    "trial_timeout": (_NUMBER, "a number of seconds", None),
}
TABLES = ("study", "fixed", "strategy_options", "space")
SPACE_KEYS = {
    "float": {"low", "high", "log"}, "log_float": {"low", "high"},
    "int": {"low", "high", "log", "step"}, "log_int": {"low", "high"},
    "normal": {"mu", "sigma", "low", "high"}, "choice": {"values"}, "fixed": {"value"},
}
_CONSTRUCTORS = {"float": sp.float, "log_float": sp.log_float, "int": sp.int,
                 "log_int": sp.log_int, "normal": sp.normal, "choice": sp.choice,
                 "fixed": sp.fixed}


class SpecError(ValueError):
    """A spec file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Spec:
    """A study spec: the study's name and configuration, and how to run it."""

    name: str
    config: StudyConfig
    run: dict = field(default_factory=dict)  # trials, jobs, timeout, storage, backend, ...

    @property
    def storage(self) -> str | None:
        return self.run.get("storage")


def _check_type(path: Path, key: str, value, types: tuple, what: str) -> None:
    bad_bool = isinstance(value, bool) and bool not in types
    if bad_bool or not isinstance(value, types):
        raise SpecError(f"{path}: {key} must be {what}, got {value!r}")


def _study_table(path: Path, table: dict) -> dict:
    unknown = sorted(set(table) - set(STUDY_KEYS))
    if unknown:
        raise SpecError(f"{path}: unknown key(s) {['study.' + k for k in unknown]}; "
                        f"[study] allows {sorted(STUDY_KEYS)}")
    values = {}
    for key, (types, what, default) in STUDY_KEYS.items():
        if key in table:
            _check_type(path, f"study.{key}", table[key], types, what)
            values[key] = table[key]
        elif default is None and key in ("name", "dataset"):
            raise SpecError(f"{path}: study.{key} is required")
        else:
            values[key] = default
    return values


def _dimension(path: Path, name: str, table) -> sp.Dimension:
    where = f"space.{name}"
    if not isinstance(table, dict):
        return sp.fixed(table)
    kind = table.get("type")
    if kind not in SPACE_KEYS:
        raise SpecError(f"{path}: {where}.type must be one of {sorted(SPACE_KEYS)}, got {kind!r}")
    options = {k: v for k, v in table.items() if k not in ("type", "when")}
    unknown = sorted(set(options) - SPACE_KEYS[kind])
    if unknown:
        raise SpecError(f"{path}: unknown key(s) {[f'{where}.{k}' for k in unknown]}; a {kind} "
                        f"parameter allows {sorted(SPACE_KEYS[kind] | {'type', 'when'})}")
    try:
        if kind in ("choice", "fixed"):
            (arg,) = options.values() if options else (None,)
            return _CONSTRUCTORS[kind](arg, when=table.get("when"))
        return _CONSTRUCTORS[kind](**options, when=table.get("when"))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{path}: {where}: {exc}") from None


def _plugins(path: Path, plugins: list) -> tuple[str, ...]:
    """Plugin files are named relative to the spec file."""
    return tuple(str((path.parent / p).resolve()) if str(p).endswith(".py") else str(p)
                 for p in plugins)


def parse_spec(data: dict, path: Path) -> Spec:
    """Build a Spec from parsed TOML (``path`` is named in every error)."""
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        raise SpecError(f"{path}: unknown table(s) {unknown}; a spec has {list(TABLES)}")
    for table in TABLES:
        if table in data and not isinstance(data[table], dict):
            raise SpecError(f"{path}: {table} must be a table ([{table}])")
    study = _study_table(path, data.get("study", {}))
    if not data.get("space"):
        raise SpecError(f"{path}: the spec needs a [space] with at least one parameter")
    dims = {name: _dimension(path, name, t) for name, t in data["space"].items()}
    try:
        objective = ObjectiveConfig(
            dataset=study["dataset"], metric=study["metric"], fixed=data.get("fixed", {}),
            epochs=study["epochs"], patience=study["patience"], cv_folds=study["cv_folds"],
            max_train=study["max_train"], plugins=_plugins(path, study["plugins"]),
            trial_timeout=study["trial_timeout"])
        config = StudyConfig(space=dims, objective=objective, strategy=study["strategy"],
                             strategy_options=data.get("strategy_options", {}),
                             seed=study["seed"], pruner=study["pruner"],
                             round_size=study["round_size"])
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    run = {k: study[k] for k in ("trials", "jobs", "timeout", "storage", "backend",
                                 "max_consecutive_failures")}
    return Spec(study["name"], config, run)


def load_spec(path: str | Path) -> Spec:
    """Read and validate a TOML study spec.

    Raises:
        SpecError: naming the file and the offending key.
        FileNotFoundError: if the file does not exist.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return parse_spec(data, path)
