"""Reading and writing trials in an Optuna storage: hpsearch's bookkeeping.

Each trial carries system attributes ``hpsearch:slot`` (its place in the
study's sequence), ``hpsearch:seed``, ``hpsearch:owner`` (host and pid of the
driver running it) and, for a trial abandoned by a dead driver,
``hpsearch:requeued``. A confirmation repeat (``Study.confirm``) also carries
``hpsearch:confirms`` (the slot of the configuration it re-trains) and
``hpsearch:repeat``; it is no part of the search and readers of the search's
trials skip it. A job of a multi-fidelity strategy (asha, bohb) carries
``hpsearch:fidelity`` (``Fidelity.to_dict()``: its configuration, rung, last
epoch and the slot it resumes from), kept when it is re-queued. Results are
user attributes: ``metrics`` (scalars), ``curves`` (per-epoch lists) and ``error``.
"""

from __future__ import annotations

import math
import os
import socket
import time

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from hpsearch.space.searchspace import SearchSpace
from hpsearch.storages.curves import write_steps
from hpsearch.trial import COMPLETE, FAIL, PRUNED, Fidelity, TrialResult

SLOT, SEED, OWNER, REQUEUED = "hpsearch:slot", "hpsearch:seed", "hpsearch:owner", "hpsearch:requeued"
HEARTBEAT = "hpsearch:heartbeat"
# A RUNNING trial whose driver has not written a heartbeat for this long is stale.
# HPSEARCH_HEARTBEAT_INTERVAL and HPSEARCH_STALE_AFTER (seconds) override them.
HEARTBEAT_INTERVAL, STALE_AFTER = 30.0, 300.0
NEXT_SLOT, REQUEUE, CONFIG = "hpsearch:next_slot", "hpsearch:requeue", "hpsearch:config"
CONFIRMS, REPEAT = "hpsearch:confirms", "hpsearch:repeat"
FIDELITY = "hpsearch:fidelity"
# A study attribute: the name of the study's own folder of data, models and checkpoints.
ARTIFACTS = "hpsearch:artifacts"
# A study attribute: the n_trials of its latest run (what its view counts finished trials against).
BUDGET = "hpsearch:n_trials"
_STATES = {COMPLETE: TrialState.COMPLETE, PRUNED: TrialState.PRUNED, FAIL: TrialState.FAIL}


def owner_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_gone(tag: str | None) -> bool:
    """True when ``tag`` names a process on this host that no longer exists."""
    if not tag or ":" not in tag:
        return False
    host, pid = tag.rsplit(":", 1)
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _seconds(variable: str, default: float) -> float:
    """A positive number of seconds from the environment, read when needed so that
    a test or a cluster job can shorten it without touching code."""
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{variable} must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"{variable} must be a positive number of seconds, got {text!r}")
    return value


def heartbeat_interval() -> float:
    """Seconds between two heartbeats of a running driver (HPSEARCH_HEARTBEAT_INTERVAL)."""
    return _seconds("HPSEARCH_HEARTBEAT_INTERVAL", HEARTBEAT_INTERVAL)


def stale_after() -> float:
    """Seconds of heartbeat silence after which a RUNNING trial is stale
    (HPSEARCH_STALE_AFTER)."""
    return _seconds("HPSEARCH_STALE_AFTER", STALE_AFTER)


def is_stale(trial: FrozenTrial, me: str, now: float, *, mine: bool = True) -> bool:
    """A RUNNING trial left by this process (unless ``mine`` is False: a running
    loop knows its own), by a dead process on this host, or by a driver anywhere
    whose heartbeat stopped more than ``stale_after()`` seconds ago."""
    owner = trial.system_attrs.get(OWNER)
    beat = trial.system_attrs.get(HEARTBEAT)
    silent = beat is not None and now - beat > stale_after()
    return (mine and owner == me) or owner_is_gone(owner) or silent


def jsonable(value):
    """Plain Python values for JSON attributes (numpy scalars, tuples, NaN)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def create_running(storage, study_id: int, space: SearchSpace, slot: int, seed: int,
                   params: dict, extra: dict | None = None,
                   user_attrs: dict | None = None) -> int:
    """Record a RUNNING trial with its parameters; returns its trial id.

    ``extra`` adds system attributes (a confirmation repeat's ``CONFIRMS`` and ``REPEAT``),
    ``user_attrs`` user attributes (what Optuna's tools show, e.g. that a trial is a repeat).
    """
    template = optuna.trial.create_trial(
        state=TrialState.RUNNING, params=space.encode(params),
        distributions=space.distributions(params), user_attrs=user_attrs,
        system_attrs={SLOT: slot, SEED: seed, OWNER: owner_tag(), HEARTBEAT: time.time(),
                      **(extra or {})})
    return storage.create_new_trial(study_id, template_trial=template)


def finish(storage, trial_id: int, result: TrialResult) -> tuple[str, list[float] | None]:
    """Write a result's metrics, curves, error and final state; returns the state's
    name and the values written, as a finished trial read back gives them."""
    record = dict(result.record)
    curves = record.pop("curves", None)
    traceback_text = record.pop("traceback", None)
    metrics = jsonable({**record, "duration": result.duration})
    storage.set_trial_user_attr(trial_id, "metrics", metrics)
    if curves:
        storage.set_trial_user_attr(trial_id, "curves", jsonable(curves))
    if result.error:
        storage.set_trial_user_attr(trial_id, "error", result.error)
        if traceback_text:
            storage.set_trial_system_attr(trial_id, "hpsearch:traceback", traceback_text)
    if result.curve_steps:
        write_steps(storage, trial_id, result.curve_steps)
    values = result.objective_values
    finite = values is not None and all(v is not None and math.isfinite(v) for v in values)
    values = [float(v) for v in values] if finite and result.state != FAIL else None
    storage.set_trial_state_values(trial_id, _STATES[result.state], values)
    return _STATES[result.state].name, values


def abandon(storage, trial_id: int, reason: str) -> None:
    """Mark a trial FAIL and flag it for re-queueing with the same parameters."""
    storage.set_trial_system_attr(trial_id, REQUEUED, True)
    storage.set_trial_user_attr(trial_id, "error", reason)
    storage.set_trial_state_values(trial_id, TrialState.FAIL, None)


# Readers of a trial's attributes. A storage file may have been edited or damaged,
# so each checks the type it expects and falls back to what a trial without the
# attribute gives: reading a study shows what can be shown instead of failing.
def trial_id_of(trial: FrozenTrial) -> int:
    """The storage's id of ``trial`` (Optuna keeps it in ``_trial_id``: read here alone)."""
    return trial._trial_id


def slot_of(trial: FrozenTrial) -> int:
    """The trial's slot (its Optuna number when the stored slot is missing or not an int)."""
    slot = trial.system_attrs.get(SLOT)
    return slot if isinstance(slot, int) and not isinstance(slot, bool) else trial.number


def seed_of(trial: FrozenTrial) -> int | None:
    seed = trial.system_attrs.get(SEED)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def metrics_of(trial: FrozenTrial) -> dict:
    """The trial's scalar results (``{}`` when missing or not a mapping)."""
    metrics = trial.user_attrs.get("metrics")
    return metrics if isinstance(metrics, dict) else {}


def curves_of(trial: FrozenTrial) -> dict:
    """The trial's per-epoch lists by metric name (only the entries that are lists)."""
    curves = trial.user_attrs.get("curves")
    if not isinstance(curves, dict):
        return {}
    return {k: v for k, v in curves.items() if isinstance(v, list)}


def error_of(trial: FrozenTrial) -> str | None:
    error = trial.user_attrs.get("error")
    return None if error is None else str(error)


def fidelity_of(trial: FrozenTrial) -> Fidelity | None:
    """The job's fidelity (None for a trial trained to the end, or a damaged record)."""
    data = trial.system_attrs.get(FIDELITY)
    return Fidelity.from_dict(data) if isinstance(data, dict) else None


def superseded(trials) -> set[int]:
    """The slots of paused multi-fidelity jobs that a recorded job continued: the
    configuration's result is its continuation, which trained further from the
    same state (its value counts every epoch before the pause too)."""
    continued = set()
    for trial in trials:
        fidelity = fidelity_of(trial) if trial.state == TrialState.COMPLETE else None
        if fidelity is not None and fidelity.resume_from is not None:
            continued.add(fidelity.resume_from)
    return continued


def pending_jobs(trials) -> list[FrozenTrial]:
    """The multi-fidelity jobs claimed but not finished for good: running (in any
    driver) or re-queued. A job's trial is its claim of a (configuration, rung): it
    is created under the storage lock before the job trains and a re-queued re-run
    keeps it, so a strategy told the finished jobs and held to these claims none twice.
    A re-queued job whose re-run has finished is no longer pending."""
    trials = list(trials)
    done = {slot_of(t) for t in trials if is_finished(t)}  # a re-queued job's re-run finished
    return [t for t in trials if not is_confirmation(t) and not is_finished(t)
            and fidelity_of(t) is not None and slot_of(t) not in done]


def used_checkpoints(trials) -> set[int]:
    """The slots whose paused training no job needs any more: every job that continues
    it has finished for good (none runs, none waits to be re-run), and its configuration
    has a later job finished for good (a strategy that may still continue it, or copy it
    as pbt does, reads that configuration's latest job instead)."""
    done = {slot_of(t) for t in trials if is_finished(t)}
    jobs = {slot_of(t): fidelity_of(t) for t in trials if not is_confirmation(t)}
    jobs = {slot: f for slot, f in jobs.items() if f is not None}
    needed = {f.resume_from for slot, f in jobs.items()
              if f.resume_from is not None and slot not in done}
    latest: dict[int, int] = {}
    for slot, f in jobs.items():
        if slot in done:
            latest[f.config_id] = max(slot, latest.get(f.config_id, -1))
    return {slot for slot, f in jobs.items()
            if slot < latest.get(f.config_id, -1) and slot not in needed}


def is_requeued(trial: FrozenTrial) -> bool:
    return trial.system_attrs.get(REQUEUED) is True


def values_of(trial: FrozenTrial) -> list[float] | None:
    """The trial's objective values (one per metric of the study), or None.

    ``FrozenTrial.value`` raises for a multi-objective trial; this does not.
    """
    return None if trial.values is None else list(trial.values)


def value_of(trial: FrozenTrial) -> float | None:
    """The trial's value: its first objective's in a multi-objective study."""
    values = trial.values
    return values[0] if values else None


def to_result(trial: FrozenTrial, space: SearchSpace) -> TrialResult:
    """A finished stored trial as the TrialResult a strategy is told."""
    state = {TrialState.COMPLETE: COMPLETE, TrialState.PRUNED: PRUNED}.get(trial.state, FAIL)
    seed = seed_of(trial)
    values = values_of(trial)
    return TrialResult(slot=slot_of(trial), params=space.decode(trial.params),
                       seed=0 if seed is None else seed, state=state, value=value_of(trial),
                       record=metrics_of(trial), error=error_of(trial),
                       values=values if values is not None and len(values) > 1 else None,
                       fidelity=fidelity_of(trial))


def is_confirmation(trial: FrozenTrial) -> bool:
    """True for a repeat of ``Study.confirm``: stored beside the search's trials but
    no part of the search (budget, strategy, slots, best trial, results)."""
    return CONFIRMS in trial.system_attrs


def is_finished(trial: FrozenTrial) -> bool:
    """True for a search trial finished for good (not re-queued, not a confirmation)."""
    return trial.state.is_finished() and not is_requeued(trial) and not is_confirmation(trial)


def holds_slot(trial: FrozenTrial) -> bool:
    """True for a search trial that settles its slot: running, or finished for good."""
    if is_confirmation(trial):
        return False
    return trial.state == TrialState.RUNNING or is_finished(trial)
