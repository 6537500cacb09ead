"""Checks made before a study exists or a run starts, so that mistakes surface
as one clear message instead of as a storage full of failed trials."""

from __future__ import annotations

import numbers
from collections.abc import Mapping


def grid_coverage(size: int | None, n_trials: int) -> str | None:
    """A note when a budget of ``n_trials`` visits only part of a finite grid of
    ``size`` points (None when the whole grid is covered or there is no grid)."""
    if size is None or n_trials >= size:
        return None
    return (f"grid: {n_trials} of {size} grid points will be visited (a seeded random "
            f"sample); raise --trials to {size} to cover the grid")


# Widths of the stand-in network built to check settings: small, so that checking
# a study with wide layers costs no memory; the real widths are checked first.
_CHECK_IN, _CHECK_OUT, _CHECK_WIDTH = 4, 3, 4


def _check_hidden(settings: Mapping) -> list:
    """The hidden widths a trial would build, checked, then narrowed for the stand-in."""
    from hpsearch.objective import hidden_sizes

    n_layers = settings.get("n_layers", 1)
    if isinstance(n_layers, int | float) and n_layers < 0:
        raise ValueError(f"n_layers must be an integer >= 0, got {n_layers!r}")
    hidden = hidden_sizes(settings)
    if any(not isinstance(w, numbers.Integral) or isinstance(w, bool) or w < 1 for w in hidden):
        raise ValueError(f"hidden layer widths must be positive integers, got {hidden!r}")
    return [min(int(w), _CHECK_WIDTH) for w in hidden]


def check_settings(settings: Mapping, *, optimizer: bool = True) -> None:
    """Build, without training, what a trial with ``settings`` would build: the
    network (on stand-in widths) and the training configuration; with
    ``optimizer`` also the optimizer with its options.

    Raises:
        ValueError, TypeError: what netcore raises for a bad setting.
    """
    import netcore
    from hpsearch.objective import split_settings
    from netcore.train import TrainConfig

    model_kw, fit_kw = split_settings(settings)
    netcore.MLP([_CHECK_IN, *_check_hidden(settings), _CHECK_OUT], **model_kw)
    config = TrainConfig(**fit_kw)
    if optimizer:
        config.build_optimizer()
    if settings.get("patience") is not None:
        netcore.EarlyStopping(patience=settings["patience"])


# Settings that others depend on come first when a failure is traced to one key:
# optimizer options need their optimizer, per-layer lists need the architecture.
_FIRST = ("optimizer", "schedule", "hidden", "n_layers", "units", "activation")


def _values(dim) -> list:
    """A few values of a dimension worth checking: every choice, both ends of a range."""
    return dim.grid(2)


def _point(space, forced: Mapping) -> dict:
    """A point of ``space`` taking ``forced`` values where given, first values elsewhere."""
    point: dict = {}
    for name, dim in space.dimensions.items():
        if space.is_active(name, point):
            point[name] = forced[name] if name in forced else _values(dim)[0]
    return point


def _forcing(space, name: str, value) -> dict:
    """``{name: value}`` with the parent values that make ``name`` active."""
    from hpsearch.space.dimensions import thaw

    forced = {name: value}
    pending = [name]
    while pending:
        for parent, allowed in space[pending.pop()].when.items():
            if parent not in forced:
                forced[parent] = thaw(allowed[0])
                pending.append(parent)
    return forced


def representative_points(space) -> list[dict]:
    """Points of ``space`` in which every checked value of every parameter occurs."""
    points = [_point(space, {})]
    for name, dim in space.dimensions.items():
        points += [_point(space, _forcing(space, name, v)) for v in _values(dim)]
    unique = {repr(sorted(p.items(), key=lambda kv: kv[0])): p for p in points}
    return list(unique.values())


def _blame(settings: Mapping, point: Mapping) -> tuple[str, Exception]:
    """The first setting whose addition makes ``settings`` fail, named as
    ``fixed.<key>`` or ``space.<key>``, and the error it causes."""
    order = [k for k in _FIRST if k in settings] + [k for k in settings if k not in _FIRST]
    partial: dict = {}
    for key in order:
        partial[key] = settings[key]
        try:
            check_settings(partial)
        except (ValueError, TypeError) as exc:
            where = f"space.{key}" if key in point else f"fixed.{key}"
            return where, exc
    raise AssertionError("unreachable: the full settings failed")


def _check_overridden(fixed: Mapping, space, point: Mapping) -> None:
    """Fixed values that the space replaces in every trial are still checked (they
    are mistakes all the same), alone on the architecture of ``point``."""
    from hpsearch.objective import ARCHITECTURE_KEYS

    context = {k: v for k, v in {**fixed, **point}.items() if k in ARCHITECTURE_KEYS}
    for key in [k for k in fixed if k in space.dimensions]:
        try:
            check_settings({**context, key: fixed[key]}, optimizer=key == "optimizer")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"fixed.{key}: {exc}") from None


def check_study_settings(fixed: Mapping, space) -> None:
    """Check the fixed settings and the values of ``space`` by building, without
    training, what trials would build, so that a bad value is refused before a
    study exists rather than failing every trial.

    Raises:
        ValueError: naming the setting (``fixed.<key>`` or ``space.<key>``) and
            what is wrong with it.
    """
    from hpsearch.lr_finder import lr_by_range_test

    if lr_by_range_test(fixed):
        fixed = {k: v for k, v in fixed.items() if k != "lr"}
    points = representative_points(space)
    _check_overridden(fixed, space, points[0])
    for point in points:
        settings = {**fixed, **point}
        if lr_by_range_test(settings):
            del settings["lr"]
        try:
            check_settings(settings)
        except (ValueError, TypeError):
            where, exc = _blame(settings, point)
            raise ValueError(f"{where}: {exc}") from None
