"""A trial whose loss becomes NaN or infinite fails with the epoch it diverged at,
and the study goes on to a finite best value."""

from __future__ import annotations

import math

from helpers.studies import fault_study

from hpsearch import space


def test_a_diverging_trial_fails_with_its_epoch(storage):
    study = fault_study(storage, {"lr": space.choice([0.01, 1e6]), "optimizer": "sgd",
                             "activation": "linear", "init": "standard"}, epochs=5)
    df = study.run(n_trials=8, progress=False)
    diverged = df[df["lr"] == 1e6]
    assert len(diverged) >= 1 and (diverged["state"] == "FAIL").all()
    assert diverged["error"].str.contains(r"diverged: the loss became NaN or infinite at epoch \d",
                                          regex=True).all()
    assert math.isfinite(study.best_value)
