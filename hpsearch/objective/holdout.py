"""A holdout trial: one net trained on the training split, scored on the validation split.

A multi-fidelity job trains part of it, continuing a checkpoint or leaving one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import netcore
from hpsearch.objective.config import ObjectiveConfig
from hpsearch.objective.data import TrialFiles
from hpsearch.objective.saving import save_atomically, save_model
from hpsearch.objective.scores import best_score, cost_metrics
from hpsearch.objective.training import train_once
from hpsearch.trial import Deadline, Fidelity


def holdout(config: ObjectiveConfig, settings: dict, seed: int, data: netcore.Dataset,
            reporter: Callable[[int, dict], None] | None, files: TrialFiles | None,
            deadline: Deadline | None, fidelity: Fidelity | None = None) -> dict:
    """Train one net on ``data``'s training split and return the trial's record: every
    validation metric at the monitor's best epoch, the test metrics, the curves."""
    pause_after, resume = _job_training(config, fidelity, files)
    model, hist = train_once(config, settings, seed, data, data.X_train, data.y_train,
                             data.X_val, data.y_val, reporter, deadline,
                             pause_after=pause_after, resume=resume)
    value, best_epoch = best_score(hist, config.monitor)
    test = model.evaluate(data.X_test, data.y_test)
    # Every validation metric at the monitor's best epoch: the model kept.
    val = {key: hist[key][best_epoch - 1] for key in hist.metrics
           if key.startswith("val_")}
    record = {"value": value, **val, **cost_metrics(config, model, [hist]),
              **{f"test_{k}": v for k, v in test.items()},
              "epochs_run": hist.epochs_run, "best_epoch": best_epoch,
              "stop_reason": hist.stop_reason,
              "curves": {k: list(v) for k, v in hist.metrics.items() if k != "time"}}
    if fidelity is not None:
        record["epochs_trained"] = hist.epochs_run - (0 if resume is None else resume.epochs_done)
        # The metric at the job's last epoch: what population-based training ranks by.
        record["last_value"] = float(hist[config.monitor][-1])
    if hist.state is not None:  # paused: a later job may continue it
        save_atomically(hist.state.save, Path(files.checkpoint_path))
    if files is not None and files.model_path and config.keep_models:
        record["model_file"] = save_model(model, Path(files.model_path)).name
    return record


def _job_training(config: ObjectiveConfig, fidelity: Fidelity | None,
                  files: TrialFiles | None) -> tuple[int | None, netcore.TrainingState | None]:
    """A multi-fidelity job's ``pause_after`` (None at the last epoch) and the state it resumes.

    Raises:
        ValueError: when the job lacks its checkpoint files or the one it resumes is missing.
    """
    if fidelity is None:
        return None, None
    if files is None or files.checkpoint_path is None:
        raise ValueError("a multi-fidelity job needs its checkpoint path (TrialFiles)")
    pause_after = fidelity.until_epoch if fidelity.until_epoch < config.epochs else None
    if fidelity.resume_from is None:
        return pause_after, None
    if not files.resume_path or not Path(files.resume_path).exists():
        raise ValueError(f"the checkpoint of slot {fidelity.resume_from} this job resumes is "
                         f"missing: {files.resume_path}")
    return pause_after, netcore.TrainingState.load(files.resume_path)
