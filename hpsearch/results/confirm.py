"""Noise-aware winners: train a study's best configurations again with fresh seeds.

A search ranks configurations by one training run each, so its winner may owe
its place to a lucky seed. ``confirm`` re-trains the ``top`` best complete
configurations ``repeats`` times each, with seeds drawn from the study seed,
the configuration's slot and the repeat index, and reports the mean, a 95 %
t-interval and Welch's t-test of each configuration against the next-ranked
one. The repeats are stored as trials marked ``hpsearch:confirms`` (the slot)
and ``hpsearch:repeat``: the search never sees them (``records.is_confirmation``)
and a second call with the same arguments reuses them instead of training again.

This module reads and tabulates: which repeats a confirmation needs, which are
stored, and their statistics. ``execution.repeats`` trains the missing ones.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from hpsearch.metrics import minimizes, sign
from hpsearch.results.report import hashable
from hpsearch.storages import records
from hpsearch.storages.handle import StudyStorage
from hpsearch.study_config import StudyConfig

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


def best_trials(handle: StudyStorage, config: StudyConfig, top: int) -> list[FrozenTrial]:
    """The ``top`` best complete search trials (fewer when fewer completed), best first."""
    done = [t for t in handle.final() if t.value is not None and math.isfinite(t.value)]
    better = sign(config.objective.direction)
    latest = {records.slot_of(t): t for t in sorted(done, key=lambda t: t.number)}
    ranked = sorted(latest.values(), key=lambda t: (better * t.value, t.number))
    return ranked[:top]


def _key(trial: FrozenTrial) -> tuple:
    attrs = trial.system_attrs
    return attrs.get(records.CONFIRMS), attrs.get(records.REPEAT), records.seed_of(trial)


def stored_repeats(handle: StudyStorage) -> dict[tuple, FrozenTrial]:
    """The finished confirmation trials by (slot, repeat, seed); the latest wins."""
    stored = {}
    for trial in handle.trials(confirmations=True):
        if records.is_confirmation(trial) and trial.state.is_finished() \
                and not records.is_requeued(trial):
            stored[repeat_key(trial)] = trial
    return stored


def running_repeats(handle: StudyStorage) -> list[FrozenTrial]:
    """The confirmation trials still RUNNING (here or in another process)."""
    return [t for t in handle.trials(confirmations=True)
            if records.is_confirmation(t) and t.state == TrialState.RUNNING]


def repeat_key(trial: FrozenTrial) -> tuple:
    """A confirmation trial's (slot, repeat, seed)."""
    attrs = trial.system_attrs
    return attrs.get(records.CONFIRMS), attrs.get(records.REPEAT), records.seed_of(trial)


def plan(handle: StudyStorage, config: StudyConfig, originals: list[FrozenTrial], repeats: int,
         seed: int) -> tuple[dict[int, list[FrozenTrial]], list[Repeat]]:
    """The stored repeats of each original's slot, and the repeats still to train (those
    running elsewhere are left to their process)."""
    stored = stored_repeats(handle)
    running = {repeat_key(t) for t in running_repeats(handle)}
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
                params = config.space.decode(trial.params)
                missing.append(Repeat(slot, index, key[2], params))
    return found, missing


def confirmations(handle: StudyStorage, config: StudyConfig) -> pd.DataFrame:
    """The table of every stored repeat, pooled by configuration (all calls, all seeds)."""
    groups: dict[int, list[FrozenTrial]] = {}
    for (slot, _, _), trial in sorted(stored_repeats(handle).items(),
                                      key=lambda kv: kv[1].number):
        groups.setdefault(slot, []).append(trial)
    return table(handle, config, groups)


def _stats(values: list[float]) -> dict:
    """Mean, sample std and the 95 % t-interval of the mean (NaN where undefined)."""
    from scipy import stats

    n = len(values)
    mean = float(np.mean(values)) if n else math.nan
    std = float(np.std(values, ddof=1)) if n > 1 else math.nan
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * std / math.sqrt(n) if n > 1 else math.nan
    return {"mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def _row(config: StudyConfig, slot: int, trials: list[FrozenTrial], originals: dict) -> dict:
    values = [t.value for t in trials if t.state == TrialState.COMPLETE
              and t.value is not None and math.isfinite(t.value)]
    original = originals.get(slot)
    # The original may be gone (a deleted trial); the repeats hold the same parameters.
    params = config.space.decode((original if original is not None else trials[0]).params)
    return {"trial": slot, **{k: hashable(params.get(k)) for k in config.space},
            "search_value": original.value if original is not None else math.nan,
            **_stats(values), "failed": len(trials) - len(values), "_values": values}


def table(handle: StudyStorage, config: StudyConfig,
          groups: dict[int, list[FrozenTrial]]) -> pd.DataFrame:
    """One row per confirmed configuration, ranked by the mean of its repeats."""
    originals = {records.slot_of(t): t for t in handle.completed()}
    rows = [_row(config, slot, trials, originals) for slot, trials in groups.items()]
    columns = ["trial", *config.space, *COLUMNS[1:]]
    if not rows:
        return pd.DataFrame(columns=columns)
    minimize = minimizes(config.objective.direction)
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
