"""A pbt study's lineages: each member's history and the schedule behind each job.

Nothing beyond the jobs' own records is needed: each job of the ``pbt``
strategy stores its parameters and its fidelity (member, last epoch, the slot
of the checkpoint it continued). A job's *schedule* follows those links back to
a member's first job: one segment per job, ``{"trial", "member", "epochs":
[start, until], "params", "copied_from"}``, where ``copied_from`` names the
member whose checkpoint the job continued when it is another member's (an
exploit), else None.
"""

from __future__ import annotations

from optuna.trial import FrozenTrial, TrialState

from hpsearch.storages import records
from hpsearch.study_config import StudyConfig


def jobs(trials: list[FrozenTrial]) -> dict[int, FrozenTrial]:
    """The complete jobs by slot (a re-queued slot's complete re-run)."""
    return {records.slot_of(t): t for t in trials
            if t.state == TrialState.COMPLETE and records.fidelity_of(t) is not None}


def schedule(trials: list[FrozenTrial], config: StudyConfig, slot: int) -> list[dict]:
    """The segments that trained the job of ``slot``, from scratch to its last epoch.

    Raises:
        ValueError: when ``slot`` is not a complete job, or a job it continued is not.
    """
    done, chain, current = jobs(trials), [], slot
    while current is not None:
        if current not in done:
            raise ValueError(f"trial {current} is not a complete job of a pbt study; complete "
                             f"jobs: {sorted(done)[:20]}")
        chain.append(current)
        current = records.fidelity_of(done[current]).resume_from
    segments, start, previous = [], 0, None
    for current in reversed(chain):
        fidelity = records.fidelity_of(done[current])
        copied = previous if previous is not None and previous != fidelity.config_id else None
        segments.append({"trial": current, "member": fidelity.config_id,
                         "epochs": [start, fidelity.until_epoch],
                         "params": config.space.decode(done[current].params),
                         "copied_from": copied})
        start, previous = fidelity.until_epoch, fidelity.config_id
    return segments


def root_seed(trials: list[FrozenTrial], segments: list[dict]) -> int:
    """The training seed of a schedule: its first job's (a resumed job draws from the state)."""
    return int(jobs(trials)[segments[0]["trial"]].system_attrs[records.SEED])


def lineages(trials: list[FrozenTrial], config: StudyConfig) -> dict[int, list[dict]]:
    """Each member's jobs, in order: the member's history of (epochs, parameters, copied-from)."""
    out: dict[int, list[dict]] = {}
    for slot in sorted(jobs(trials)):
        segment = schedule(trials, config, slot)[-1]
        out.setdefault(segment["member"], []).append(segment)
    return out
