"""Noise-aware winners: train a study's best configurations again with fresh seeds.

A search ranks configurations by one training run each, so its winner may owe
its place to a lucky seed. ``confirm`` re-trains the ``top`` best complete
configurations ``repeats`` times each, with seeds drawn from the study seed,
the configuration's slot and the repeat index, and reports the mean, a 95 %
t-interval and Welch's t-test of each configuration against the next-ranked
one. The repeats are stored as trials marked ``hpsearch:confirms`` (the slot)
and ``hpsearch:repeat``: the search never sees them (``records.is_confirmation``)
and a second call with the same arguments reuses them instead of training again.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from hpsearch.execution.runner import TrialTask, make_runner
from hpsearch.results.report import _hashable
from hpsearch.storages import records
from netcore.validation import check_int, check_positive_int

log = logging.getLogger(__name__)

# Kept in the seed's spawn key so that repeat seeds never follow the stream of
# trial_seed (no spawn key) or slot_rng (a third entropy word).
_CONFIRM_KEY = 0x636F6E66  # "conf"
LEVEL, ALPHA = 0.95, 0.05
COLUMNS = ("trial", "search_value", "mean", "std", "ci_low", "ci_high", "n", "failed", "rank",
           "p_vs_next", "beats_next")


def repeat_seed(study_seed: int, slot: int, repeat: int) -> int:
    """The training seed of repeat ``repeat`` of slot ``slot``'s configuration."""
    sequence = np.random.SeedSequence([study_seed, slot], spawn_key=(_CONFIRM_KEY, repeat))
    return int(sequence.generate_state(1)[0])


@dataclass(frozen=True)
class Repeat:
    """One training run that a confirmation asks for."""

    slot: int
    repeat: int
    seed: int
    params: dict


def best_trials(study, top: int) -> list[FrozenTrial]:
    """The ``top`` best complete search trials (fewer when fewer completed), best first."""
    done = [t for t in study._final() if t.value is not None and math.isfinite(t.value)]
    sign = 1 if study.config.objective.direction == "minimize" else -1
    latest = {records.slot_of(t): t for t in sorted(done, key=lambda t: t.number)}
    ranked = sorted(latest.values(), key=lambda t: (sign * t.value, t.number))
    return ranked[:top]


def _key(trial: FrozenTrial) -> tuple:
    attrs = trial.system_attrs
    return attrs.get(records.CONFIRMS), attrs.get(records.REPEAT), records.seed_of(trial)


def stored_repeats(study) -> dict[tuple, FrozenTrial]:
    """The finished confirmation trials by (slot, repeat, seed); the latest wins."""
    stored = {}
    for trial in study.trials(confirmations=True):
        if records.is_confirmation(trial) and trial.state.is_finished() \
                and not records.is_requeued(trial):
            stored[_key(trial)] = trial
    return stored


def _running(study) -> dict[tuple, FrozenTrial]:
    """Confirmation trials still RUNNING; those left by a dead or silent driver (or
    by this process, interrupted) are failed and re-queued so they are trained again."""
    me, now, running = records.owner_tag(), time.time(), {}
    for trial in study.trials(confirmations=True):
        if records.is_confirmation(trial) and trial.state == TrialState.RUNNING:
            if records.is_stale(trial, me, now):
                records.abandon(study.storage, trial._trial_id, "confirmation interrupted")
            else:
                running[_key(trial)] = trial
    return running


def plan(study, originals: list[FrozenTrial], repeats: int,
         seed: int) -> tuple[dict[int, list[FrozenTrial]], list[Repeat]]:
    """The stored repeats of each original's slot, and the repeats still to train."""
    stored, running = stored_repeats(study), _running(study)
    found: dict[int, list[FrozenTrial]] = {}
    missing = []
    for trial in originals:
        slot = records.slot_of(trial)
        found[slot] = []
        for index in range(repeats):
            key = (slot, index, repeat_seed(seed, slot, index))
            if key in stored:
                found[slot].append(stored[key])
            elif key in running:
                log.warning("repeat %d of trial %d runs in another process; left to it",
                            index, slot)
            else:
                params = study.config.space.decode(trial.params)
                missing.append(Repeat(slot, index, key[2], params))
    return found, missing


def _task(study, job: Repeat, blas_threads: int | None) -> TrialTask:
    """Record the repeat as a RUNNING confirmation trial and build its task: no
    pruning (a repeat trains in full) and no kept model (the search's models stay)."""
    trial_id = records.create_running(study.storage, study.study_id, study.config.space,
                                      job.slot, job.seed, job.params,
                                      extra={records.CONFIRMS: job.slot,
                                             records.REPEAT: job.repeat})
    task = study.make_task(trial_id, job.slot, job.seed, job.params, blas_threads)
    files = task.files and dataclasses.replace(task.files, model_path=None)
    # The runner keys its results by slot; a trial id is unique where slots repeat.
    return dataclasses.replace(task, slot=trial_id, pruning=None, files=files)


def train(study, jobs: list[Repeat], *, n_jobs: int, blas_threads: int | None = 1,
          progress: bool = True) -> None:
    """Train ``jobs`` through the study's runner and record each result."""
    if not jobs:
        return
    runner = make_runner(n_jobs, "loky", blas_threads)
    pending, in_flight = list(jobs), {}
    bar = tqdm(total=len(jobs), desc=f"{study.name} confirm", disable=not progress, leave=False)
    try:
        while pending or in_flight:
            for _ in range(min(runner.free_slots(), len(pending))):
                task = _task(study, pending.pop(0), blas_threads)
                in_flight[task.slot] = task
                runner.submit(task)
            result = runner.next_result()
            records.finish(study.storage, in_flight.pop(result.slot).trial_id, result)
            bar.update(1)
    except BaseException:
        runner.shutdown(kill=True)
        for task in in_flight.values():  # trained again by the next call
            records.abandon(study.storage, task.trial_id, "confirmation interrupted")
        raise
    finally:
        bar.close()


def confirm(study, top: int = 5, repeats: int = 5, *, n_jobs: int = 1, seed: int | None = None,
            progress: bool = True, blas_threads: int | None = 1) -> pd.DataFrame:
    """Re-train the ``top`` best configurations ``repeats`` times; see ``Study.confirm``."""
    top, repeats = check_positive_int(top, "top"), check_positive_int(repeats, "repeats")
    check_positive_int(n_jobs, "n_jobs")
    seed = study.config.seed if check_int(seed, "seed", minimum=0, optional=True) is None else seed
    originals = best_trials(study, top)
    found, missing = plan(study, originals, repeats, seed)
    train(study, missing, n_jobs=n_jobs, blas_threads=blas_threads, progress=progress)
    found, _ = plan(study, originals, repeats, seed)
    return table(study, found)


def confirmations(study) -> pd.DataFrame:
    """The table of every stored repeat, pooled by configuration (all calls, all seeds)."""
    groups: dict[int, list[FrozenTrial]] = {}
    for (slot, _, _), trial in sorted(stored_repeats(study).items(), key=lambda kv: kv[1].number):
        groups.setdefault(slot, []).append(trial)
    return table(study, groups)


def _stats(values: list[float]) -> dict:
    """Mean, sample std and the 95 % t-interval of the mean (NaN where undefined)."""
    from scipy import stats

    n = len(values)
    mean = float(np.mean(values)) if n else math.nan
    std = float(np.std(values, ddof=1)) if n > 1 else math.nan
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * std / math.sqrt(n) if n > 1 else math.nan
    return {"mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def _row(study, slot: int, trials: list[FrozenTrial], originals: dict) -> dict:
    values = [t.value for t in trials if t.state == TrialState.COMPLETE
              and t.value is not None and math.isfinite(t.value)]
    original = originals.get(slot)
    # The original may be gone (a deleted trial); the repeats hold the same parameters.
    params = study.config.space.decode((original if original is not None else trials[0]).params)
    return {"trial": slot, **{k: _hashable(params.get(k)) for k in study.config.space},
            "search_value": original.value if original is not None else math.nan,
            **_stats(values), "failed": len(trials) - len(values), "_values": values}


def table(study, groups: dict[int, list[FrozenTrial]]) -> pd.DataFrame:
    """One row per confirmed configuration, ranked by the mean of its repeats."""
    originals = {records.slot_of(t): t for t in study._completed()}
    rows = [_row(study, slot, trials, originals) for slot, trials in groups.items()]
    columns = ["trial", *study.config.space, *COLUMNS[1:]]
    if not rows:
        return pd.DataFrame(columns=columns)
    minimize = study.config.objective.direction == "minimize"
    rows.sort(key=lambda r: (math.isnan(r["mean"]), r["mean"] if minimize else -r["mean"],
                             r["trial"]))
    for rank, (row, after) in enumerate(zip(rows, [*rows[1:], None], strict=True), start=1):
        row["rank"] = rank
        row["p_vs_next"] = math.nan if after is None else welch(row["_values"], after["_values"])
        better = after is not None and (row["mean"] < after["mean"] if minimize
                                        else row["mean"] > after["mean"])
        row["beats_next"] = bool(better and row["p_vs_next"] < ALPHA)
    return pd.DataFrame(rows)[columns]


def welch(a: list[float], b: list[float]) -> float:
    """Welch's two-sided t-test p-value (NaN with fewer than two values on a side)."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return math.nan
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def verdict(frame: pd.DataFrame) -> str:
    """One line: whether the winner by confirmed mean beats the runner-up."""
    if frame.empty:
        return "no configuration was confirmed"
    best = frame.iloc[0]
    if len(frame) < 2:
        return f"winner trial {best['trial']}: mean {best['mean']:.4g}; no runner-up to compare"
    second = frame.iloc[1]
    how = "beats" if best["beats_next"] else "does not clearly beat"
    return (f"winner trial {best['trial']} {how} trial {second['trial']}: mean "
            f"{best['mean']:.4g} vs {second['mean']:.4g}, Welch p = {best['p_vs_next']:.3g}")
