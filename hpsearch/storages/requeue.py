"""The re-queue list of a study, kept idempotent by slot.

A slot is the unit of the budget: it must complete exactly once. The list of
re-queued entries (``{"trial_id": ..., "slot": ...}``, kept as a study system
attribute) and the trials themselves are written in separate steps, so a driver
killed between two writes can leave an entry whose slot already has a trial,
or a slot with neither. These functions read both and restore one rule: a slot
below the counter is either held by a trial (running, or finished for good) or
queued exactly once. They never write; the run loop does, under its lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from optuna.trial import FrozenTrial

from hpsearch.storages import records


def entry(trial: FrozenTrial) -> dict:
    """The queue entry that re-runs ``trial``'s slot with its parameters and seed."""
    return {"trial_id": records.trial_id_of(trial), "slot": records.slot_of(trial)}


def entry_slot(item: dict, by_id: dict[int, FrozenTrial]) -> int | None:
    """The slot of a queue entry (older entries name only their trial)."""
    if "slot" in item:
        return item["slot"]
    trial = by_id.get(item["trial_id"])
    return None if trial is None else records.slot_of(trial)


def held_slots(trials: Iterable[FrozenTrial]) -> set[int]:
    return {records.slot_of(t) for t in trials if records.holds_slot(t)}


def split(queue: list[dict], trials: list[FrozenTrial], n: int,
          busy: Iterable[int] = ()) -> tuple[list[dict], list[dict]]:
    """Up to ``n`` entries to claim now and the queue to keep.

    Entries whose slot is held by a trial, is ``busy`` in this driver, repeats an
    earlier entry's slot, or names no known trial are dropped: claiming them would
    run a slot twice.
    """
    by_id = {records.trial_id_of(t): t for t in trials}
    skip = held_slots(trials) | set(busy)
    take, keep = [], []
    for item in queue:
        slot = entry_slot(item, by_id)
        if slot is None or slot in skip:
            continue
        skip.add(slot)
        (take if len(take) < n else keep).append({**item, "slot": slot})
    return take, keep


def merge(queue: list[dict], trials: list[FrozenTrial], new: Iterable[dict]) -> list[dict]:
    """``queue`` with the ``new`` entries whose slot it does not hold yet."""
    by_id = {records.trial_id_of(t): t for t in trials}
    queued = {entry_slot(item, by_id) for item in queue}
    merged = list(queue)
    for item in new:
        if item["slot"] not in queued:
            queued.add(item["slot"])
            merged.append(item)
    return merged


def lost(queue: list[dict], trials: list[FrozenTrial], next_slot: int,
         busy: Iterable[int] = ()) -> list[FrozenTrial]:
    """The latest trial of each slot below ``next_slot`` that is neither held nor
    queued (a driver died between failing a trial and queueing it)."""
    by_id = {records.trial_id_of(t): t for t in trials}
    covered = held_slots(trials) | {entry_slot(i, by_id) for i in queue} | set(busy)
    latest: dict[int, FrozenTrial] = {}
    for trial in trials:
        slot = records.slot_of(trial)
        if slot < next_slot and slot not in covered:
            latest[slot] = trial
    return [latest[slot] for slot in sorted(latest)]
