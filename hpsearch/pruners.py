"""Pruners: Optuna's, stopping unpromising trials from the epochs they report.

``pruner=`` names one of ``PRUNERS``; a trial's worker reports each epoch's
validation metric through ``make_reporter`` to the study's storage, where the
pruner compares it with the other trials' reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from netcore.validation import check_choice


# Optuna is imported by a worker only for a study with a pruner: it costs a fresh
# worker a few tenths of a second that a trial without one never uses.
def _median(epochs: int):
    from optuna.pruners import MedianPruner

    return MedianPruner(n_startup_trials=5, n_warmup_steps=1)


def _successive_halving(epochs: int):
    from optuna.pruners import SuccessiveHalvingPruner

    return SuccessiveHalvingPruner()


def _hyperband(epochs: int):
    from optuna.pruners import HyperbandPruner

    return HyperbandPruner(min_resource=1, max_resource=epochs)


PRUNERS = {"median": _median, "successive_halving": _successive_halving, "hyperband": _hyperband}


def check_pruner(name: str | None) -> str | None:
    return check_choice(name, sorted(PRUNERS), "pruner", optional=True)


@dataclass(frozen=True)
class PruningSpec:
    """Where a worker reports epochs so that an Optuna pruner can stop the trial."""

    storage: str
    study_name: str
    pruner: str
    epochs: int
    monitor: str = "val_loss"


def make_reporter(spec: PruningSpec, trial_id: int):
    import optuna

    from hpsearch.storages.database import open_storage

    study = optuna.load_study(study_name=spec.study_name, storage=open_storage(spec.storage),
                              pruner=PRUNERS[spec.pruner](spec.epochs))
    trial = optuna.trial.Trial(study, trial_id)
    last: dict = {}

    def report(epoch: int, logs: dict) -> None:
        value = logs.get(spec.monitor)
        last["value"], last["epoch"] = value, epoch
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")

    report.last = last
    return report
