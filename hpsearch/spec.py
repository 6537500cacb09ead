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

Instead of ``study.dataset`` a spec may name the user's own data::

    [data]
    path = "houses.csv"       # .csv, .tsv, .parquet or .npz, relative to the spec
    target = "price"
    task = "regression"       # optional: inferred from the target's type
    val = 0.2
    test = 0.2
    standardize = true

Every unknown key and every wrong type is an error naming the file, the key
and what is allowed. A spec and the same study built in Python are equal
``StudyConfig`` objects.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsearch import space as sp
from hpsearch.errors import SpecError
from hpsearch.metrics import frozen_metric
from hpsearch.objective import ObjectiveConfig
from hpsearch.options import field_default, option_fields, option_types
from hpsearch.run_options import spec_options
from hpsearch.storages.handle import check_study_name
from hpsearch.study import Study
from hpsearch.study_config import StudyConfig
from netcore.validation import check_choice, check_options

_NUMBER = (numbers.Real,)
TABLES = ("study", "fixed", "strategy_options", "space", "data")
# How a spec's study is run: the run options a spec sets, and where it is stored.
RUN_KEYS = (*spec_options(), "storage")


def _study_keys() -> dict[str, tuple[tuple, str, Any]]:
    """key: (accepted types, description, default) of the [study] table, read from the
    option fields of ObjectiveConfig and StudyConfig and from the run options."""
    keys: dict[str, tuple[tuple, str, Any]] = {"name": ((str,), "a string", None)}
    for f in [*option_fields(ObjectiveConfig).values(), *option_fields(StudyConfig).values()]:
        if f.name not in TABLES:
            keys[f.name] = (*option_types(f), None if f.name == "dataset" else field_default(f))
    for key, option in spec_options().items():
        keys[key] = (option.types, option.what, option.spec_default)
    keys["storage"] = ((str,), "a storage URL string",
                       inspect.signature(Study.from_config).parameters["storage"].default)
    return keys


# key: (accepted types, description, default)
STUDY_KEYS: dict[str, tuple[tuple, str, Any]] = _study_keys()
# key: (accepted types, description)
DATA_KEYS: dict[str, tuple[tuple, str]] = {
    "path": ((str,), "a file path (relative to the spec)"),
    "target": ((str,), "a column name"),
    "task": ((str,), "'classification' or 'regression'"),
    "val": (_NUMBER, "a fraction in (0, 1)"),
    "test": (_NUMBER, "a fraction in (0, 1)"),
    "standardize": ((bool,), "true or false"),
    "standardize_target": ((bool,), "true or false"),
    "stratify": ((bool,), "true or false"),
    "seed": ((int,), "an integer"),
    "features": ((list,), "a list of column names"),
}
SPACE_KEYS = {
    "float": {"low", "high", "log"}, "log_float": {"low", "high"},
    "int": {"low", "high", "log", "step"}, "log_int": {"low", "high"},
    "normal": {"mu", "sigma", "low", "high"}, "choice": {"values"}, "fixed": {"value"},
}
_CONSTRUCTORS = {"float": sp.float, "log_float": sp.log_float, "int": sp.int,
                 "log_int": sp.log_int, "normal": sp.normal, "choice": sp.choice,
                 "fixed": sp.fixed}


@dataclass(frozen=True)
class Spec:
    """A study spec: the study's name and configuration, and how to run it."""

    name: str
    config: StudyConfig
    run: dict = field(default_factory=dict)  # trials, jobs, timeout, storage, backend, ...
    data: Any = None  # the netcore.Dataset of a [data] table, read when the spec is loaded

    @property
    def storage(self) -> str | None:
        return self.run.get("storage")


def _check_type(path: Path, key: str, value, types: tuple, what: str) -> None:
    bad_bool = isinstance(value, bool) and bool not in types
    if bad_bool or not isinstance(value, types):
        raise SpecError(f"{path}: {key} must be {what}, got {value!r}")


def _study_table(path: Path, table: dict, has_data: bool = False) -> dict:
    check_options(table, STUDY_KEYS, what=f"{path}: unknown key(s)", prefix="study.",
                  allows="[study] allows", error=SpecError)
    values = {}
    for key, (types, what, default) in STUDY_KEYS.items():
        if key in table:
            _check_type(path, f"study.{key}", table[key], types, what)
            values[key] = table[key]
        elif default is None and key == "name":
            raise SpecError(f"{path}: study.name is required")
        elif key == "dataset" and not has_data:
            raise SpecError(f"{path}: study.dataset is required (or a [data] table with the "
                            "path of your own data)")
        else:
            values[key] = default
    return values


def _dimension(path: Path, name: str, table) -> sp.Dimension:
    where = f"space.{name}"
    if not isinstance(table, dict):
        return sp.fixed(table)
    kind = table.get("type")
    check_choice(kind, sorted(SPACE_KEYS), f"{path}: {where}.type", error=SpecError)
    options = {k: v for k, v in table.items() if k not in ("type", "when")}
    check_options(options, SPACE_KEYS[kind] | {"type", "when"}, what=f"{path}: unknown key(s)",
                  prefix=f"{where}.", allows=f"a {kind} parameter allows", error=SpecError)
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


def _data_source(path: Path, table: dict) -> dict:
    """A [data] table checked, with its path made absolute (relative to the spec)."""
    check_options(table, DATA_KEYS, what=f"{path}: unknown key(s)", prefix="data.",
                  allows="[data] allows", error=SpecError)
    if "path" not in table:
        raise SpecError(f"{path}: data.path is required: the file of your data")
    for key, value in table.items():
        _check_type(path, f"data.{key}", value, *DATA_KEYS[key])
    return {**table, "path": str((path.parent / table["path"]).resolve())}


def _read_data(path: Path | None, source: dict):
    """The Dataset of ``source``; its errors name the spec (``path``) unless the file
    came from the command line (``path`` None), whose errors are about that file alone."""
    from hpsearch.models.store import read_data_source

    try:
        return read_data_source(source)
    except (TypeError, ValueError, ImportError, OSError) as exc:
        if path is None:
            raise
        raise SpecError(f"{path}: [data]: {exc}") from None


def _data_fields(source: dict, dataset) -> dict:
    """The objective fields that describe the user's data read from ``source``."""
    return {"dataset": dataset.name, "task": dataset.task, "data_source": source,
            "data_fingerprint": dataset.fingerprint()}


def _objective_data(path: Path, data: dict, study: dict, command_line: bool = False):
    """The objective fields and the Dataset of the spec's [data] table (or none)."""
    if "data" not in data:
        return {"dataset": study["dataset"]}, None
    if study["dataset"] is not None:
        raise SpecError(f"{path}: give study.dataset or a [data] table, not both")
    source = _data_source(path, data["data"])
    dataset = _read_data(None if command_line else path, source)
    return _data_fields(source, dataset), dataset


def parse_spec(data: dict, path: Path, *, command_line_data: bool = False) -> Spec:
    """Build a Spec from parsed TOML (``path`` is named in every error, but those of
    reading a data file given on the command line: ``command_line_data``)."""
    check_options(data, TABLES, what=f"{path}: unknown table(s)", allows="a spec has",
                  error=SpecError)
    for table in TABLES:
        if table in data and not isinstance(data[table], dict):
            raise SpecError(f"{path}: {table} must be a table ([{table}])")
    study = _study_table(path, data.get("study", {}), has_data="data" in data)
    try:
        check_study_name(study["name"])
    except ValueError as exc:
        raise SpecError(f"{path}: study.name: {exc}") from None
    if not data.get("space"):
        raise SpecError(f"{path}: the spec needs a [space] with at least one parameter")
    dims = {name: _dimension(path, name, t) for name, t in data["space"].items()}
    data_fields, dataset = _objective_data(path, data, study, command_line_data)
    tables = {"fixed": data.get("fixed", {}), "strategy_options": data.get("strategy_options", {})}
    settings = {**study, **tables, "plugins": _plugins(path, study["plugins"]),
                "metric": frozen_metric(study["metric"])}
    try:
        objective = ObjectiveConfig(**{k: settings[k] for k in option_fields(ObjectiveConfig)
                                       if k != "dataset"}, **data_fields)
        config = StudyConfig.create(dims, objective, **{k: settings[k]
                                                        for k in option_fields(StudyConfig)})
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    run = {k: study[k] for k in RUN_KEYS}
    return Spec(study["name"], config, run, dataset)


def load_spec(path: str | Path, *, data: dict | None = None) -> Spec:
    """Read and validate a TOML study spec.

    ``data`` replaces or completes the spec's ``[data]`` table (the command
    line's ``--data FILE --target COLUMN``; its path is taken as given). The
    study is then named ``<spec name>-<file stem>`` (``quickstart-wine``): the
    spec's own study, on its own data, stays apart.

    Raises:
        SpecError: naming the file and the offending key.
        FileNotFoundError: if the file does not exist.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            parsed = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    if data:
        table = parsed.get("data", {}) if isinstance(parsed.get("data"), dict) else {}
        given = {k: str(Path(v).resolve()) if k == "path" else v for k, v in data.items()}
        parsed["data"] = {**table, **given}
        if "study" in parsed and isinstance(parsed["study"], dict):
            parsed["study"].pop("dataset", None)
    spec = parse_spec(parsed, path, command_line_data=bool(data))
    if data and "path" in data:
        spec = dataclasses.replace(spec, name=f"{spec.name}-{Path(data['path']).stem}")
    return spec


def data_spec(data: dict) -> Spec:
    """The study that ``hpsearch run --data FILE --target COLUMN`` runs without a spec:
    the search of ``hpsearch.tune`` (its default space fitted to the file's data, strategy,
    metric, epochs, patience, seed and number of trials) on that file, named after the
    file (``wine.csv``: ``wine``).

    Raises:
        ValueError, TypeError, OSError: about the file, naming it.
    """
    from hpsearch import tuning

    source = {k: str(Path(v).resolve()) if k == "path" else v for k, v in data.items()}
    dataset = _read_data(None, source)
    tune = {k: p.default for k, p in inspect.signature(tuning.tune).parameters.items()}
    objective = ObjectiveConfig(metric=frozen_metric(tune["metric"]), epochs=tune["epochs"],
                                patience=tune["patience"], **_data_fields(source, dataset))
    config = StudyConfig.create(tuning.default_space(dataset), objective, strategy=tune["strategy"],
                                seed=tune["seed"])
    run = {k: STUDY_KEYS[k][2] for k in RUN_KEYS}
    run.update(trials=tune["n_trials"], jobs=tune["n_jobs"])
    return Spec(check_study_name(Path(data["path"]).stem), config, run, dataset)
