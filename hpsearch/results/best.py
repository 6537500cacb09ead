"""What a study found best: its best trial, its Pareto set and its leaderboard."""

from __future__ import annotations

import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from hpsearch.errors import AllTrialsFailedError
from hpsearch.lr_finder import lr_by_range_test
from hpsearch.metrics import reported, sign
from hpsearch.results.lineage import schedule
from hpsearch.results.pareto import pareto_mask
from hpsearch.results.report import leaderboard, results_frame
from hpsearch.storages import records
from hpsearch.storages.handle import StudyStorage
from hpsearch.study_config import StudyConfig


def best_trial(handle: StudyStorage, config: StudyConfig) -> dict:
    """The best complete trial: its slot, value, parameters, metrics and curves (and for
    a pbt study its ``schedule``, ``hpsearch.results.lineage.schedule``).

    Raises:
        ValueError: when no trial has completed, or for a multi-objective study.
    """
    objective = config.objective
    if objective.multi_objective:
        raise ValueError(f"study {handle.name!r} optimises several objectives "
                         f"{list(objective.metrics)} and has no single best trial; "
                         "use best_trials (the Pareto-optimal trials)")
    done = handle.final(curves=False)  # the best one's curves are read alone
    if not done:
        raise ValueError(f"study {handle.name!r} has no completed trial yet")
    better = sign(objective.direction)
    # Ties go to the job trained furthest (asha/bohb: it kept its model), then the first.
    best = min(done, key=lambda t: (better * t.value, -_epochs_reached(t), t.number))
    whole = handle.trial(records.trial_id_of(best)) or best
    found = {"trial": records.slot_of(best), "value": best.value,
             "params": trained_params(config, best), "metrics": records.metrics_of(best),
             "curves": records.curves_of(whole)}
    if config.strategy == "pbt":  # the hyperparameters it trained with, epoch range by range
        found["schedule"] = schedule(handle.trials(curves=False), config, found["trial"])
    return found


def pareto_trials(handle: StudyStorage, config: StudyConfig) -> pd.DataFrame:
    """The Pareto-optimal complete trials, one row each by slot (see ``Study.best_trials``)."""
    objective = config.objective
    columns = ["trial", *objective.metrics, *config.space]
    done = [t for t in handle.completed()
            if t.values is not None and len(t.values) == len(objective.metrics)]
    if not done:
        return pd.DataFrame(columns=columns)
    front = [t for t, keep in zip(done, pareto_mask([t.values for t in done],
                                                    objective.directions), strict=True) if keep]
    rows = [{"trial": records.slot_of(t),
             **{m: reported(m, v) for m, v in zip(objective.metrics, t.values, strict=True)},
             **trained_params(config, t)} for t in front]
    frame = pd.DataFrame(rows)
    extra = [c for c in frame.columns if c not in columns]  # lr chosen by a range test
    return frame[[c for c in columns if c in frame] + extra].sort_values(
        "trial", kind="stable").reset_index(drop=True)


def trained_params(config: StudyConfig, trial: FrozenTrial) -> dict:
    """A trial's parameters, with the learning rate it trained with when a range
    test chose it (lr-range studies, whose space has no ``lr``)."""
    params = config.space.decode(trial.params)
    metrics = records.metrics_of(trial)
    if lr_by_range_test(config.objective.fixed) and "lr" in metrics:
        params["lr"] = metrics["lr"]
    return params


def results(handle: StudyStorage, config: StudyConfig, *,
            confirmations: bool = False) -> pd.DataFrame:
    """One row per trial (see ``Study.results``)."""
    return _frame(handle.trials(confirmations=confirmations, curves=False), config)


def _frame(trials: list[FrozenTrial], config: StudyConfig) -> pd.DataFrame:
    objective = config.objective
    return results_frame(trials, config.space, objective.task,
                         objective.metrics if objective.multi_objective else ())


def board(handle: StudyStorage, config: StudyConfig, top: int, rank_by: str,
          confirmed: pd.DataFrame | None) -> pd.DataFrame:
    """The leaderboard (see ``Study.leaderboard``): a configuration's row is its furthest job."""
    trials = handle.trials(curves=False)
    frame = _frame(trials, config)
    continued = records.superseded([t for t in trials if t.state == TrialState.COMPLETE])
    if continued:
        frame = frame[~frame["trial"].isin(continued)]
    return leaderboard(frame, config.space, config.objective.directions[0], top,
                       rank_by=rank_by, confirmed=confirmed)


def raise_if_all_failed(handle: StudyStorage) -> None:
    """Raises ``AllTrialsFailedError`` when every finished trial of the study failed."""
    finished = [t for t in handle.trials() if records.is_finished(t)]
    if finished and all(t.state == TrialState.FAIL for t in finished):
        last = finished[-1].user_attrs.get("error", "unknown error")
        raise AllTrialsFailedError(f"all {len(finished)} trials of study {handle.name!r} "
                                   f"failed; the last error was: {last}")


def _epochs_reached(trial: FrozenTrial) -> int:
    """How far a multi-fidelity job trained (0 for a trial trained to the end: no tie-break)."""
    fidelity = records.fidelity_of(trial)
    return 0 if fidelity is None else fidelity.until_epoch
