"""Recovering what dead or silent drivers left: stale trials, lost slots, a lagging counter.

Called under the storage's lock (``StudyStorage.lock``) by a run when it starts,
when it runs out of slots to claim, and by its heartbeat thread, so that a
driver dying mid-study is noticed by the others.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Mapping

from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from hpsearch.storages import records, requeue
from hpsearch.storages.handle import StudyStorage

log = logging.getLogger(__name__)


def recover_stale(handle: StudyStorage, storage, trials: list[FrozenTrial], busy: Mapping,
                  *, starting: bool = False) -> None:
    """Fail and re-queue RUNNING trials whose driver is gone (killed, crashed, silent
    for ``records.stale_after()`` seconds), and re-queue slots that a dead driver left
    neither running, finished nor queued.

    ``storage`` is the handle's storage as the run calls it (with retries), ``trials``
    the search's trials and ``busy`` this run's tasks by slot; with ``starting`` this
    process's RUNNING trials are leftovers too.
    """
    me, now = records.owner_tag(), time.time()
    mine = {task.trial_id for task in busy.values()}
    stale = [t for t in trials if t.state == TrialState.RUNNING
             and records.trial_id_of(t) not in mine
             and records.is_stale(t, me, now, mine=starting)]
    attrs = storage.get_study_system_attrs(handle.study_id)
    queue = list(attrs.get(records.REQUEUE, []))
    next_slot = repair_counter(handle, storage, trials, attrs.get(records.NEXT_SLOT, 0))
    lost = requeue.lost(queue, trials, next_slot, busy)
    # Queue first, fail second: a driver killed in between leaves a queued
    # slot whose stale trial the next recovery fails without queueing it twice.
    merged = requeue.merge(queue, trials, map(requeue.entry, stale + lost))
    if merged != queue:
        storage.set_study_system_attr(handle.study_id, records.REQUEUE, merged)
    for trial in stale:
        owner = trial.system_attrs.get(records.OWNER)
        log.warning("trial %d of %s is stale; re-queued", records.slot_of(trial), owner)
        abandon(storage, records.trial_id_of(trial),
                f"stale: the driver running it ({owner}) is gone; re-queued")


def repair_counter(handle: StudyStorage, storage, trials: list[FrozenTrial],
                   next_slot: int) -> int:
    """A driver killed between creating a trial and advancing the slot counter
    leaves the counter behind its trials; move it past every recorded slot so
    that no slot is handed out twice. Returns the counter."""
    needed = max((t.system_attrs.get(records.SLOT, -1) for t in trials), default=-1) + 1
    if needed > next_slot:
        storage.set_study_system_attr(handle.study_id, records.NEXT_SLOT, needed)
    return max(needed, next_slot)


def requeue_tasks(handle: StudyStorage, storage, trials: list[FrozenTrial],
                  tasks: Iterable) -> None:
    """Put ``tasks`` (of this run) on the study's re-run queue in one write."""
    queue = list(storage.get_study_system_attrs(handle.study_id).get(records.REQUEUE, []))
    merged = requeue.merge(queue, trials, ({"trial_id": t.trial_id, "slot": t.slot}
                                           for t in tasks))
    if merged != queue:
        storage.set_study_system_attr(handle.study_id, records.REQUEUE, merged)


def abandon(storage, trial_id: int, reason: str) -> None:
    """Fail ``trial_id`` as re-queued; a trial recorded meanwhile keeps its result
    (its queue entry is then skipped)."""
    with contextlib.suppress(UpdateFinishedTrialError):
        records.abandon(storage, trial_id, reason)
