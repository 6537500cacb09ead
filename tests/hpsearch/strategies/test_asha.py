"""ASHA and BOHB: rungs, the promotion rule, and studies whose promoted jobs resume training."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

import hpsearch
import netcore
from hpsearch import objective, space
from hpsearch.execution.loop import RunLoop
from hpsearch.objective import ObjectiveConfig
from hpsearch.spec import load_spec
from hpsearch.storages import artifacts, records
from hpsearch.strategies import get_strategy
from hpsearch.strategies.asha import rung_epochs
from hpsearch.trial import COMPLETE, FAIL, Fidelity, TrialResult

SPACE = {"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[8], [16]]),
         "optimizer": space.choice(["sgd", "adam"])}


def test_rungs_grow_by_eta_and_end_at_the_epochs():
    assert rung_epochs(1, 3, 27) == [1, 3, 9, 27]
    assert rung_epochs(1, 3, 20) == [1, 3, 9, 20]
    assert rung_epochs(2, 2, 8) == [2, 4, 8]
    assert rung_epochs(3, 3, 3) == [3]
    assert rung_epochs(1, 4, 2) == [1, 2]


@pytest.mark.parametrize(("options", "name"), [({"eta": 1}, "eta"), ({"eta": 2.5}, "eta"),
                                               ({"min_epochs": 0}, "min_epochs"),
                                               ({"min_epochs": True}, "min_epochs")])
@pytest.mark.parametrize("strategy", ["asha", "bohb"])
def test_bad_options_name_the_option(strategy, options, name):
    with pytest.raises(ValueError, match=f"^{name} must be an integer"):
        get_strategy(strategy, SPACE, **options)


def test_min_epochs_above_the_epochs_is_refused_at_creation():
    with pytest.raises(ValueError, match=r"min_epochs must be <= the study's epochs \(3\), got 4"):
        hpsearch.Study.create("bad", space=SPACE, strategy="asha", storage="memory", epochs=3,
                              dataset="digits", strategy_options={"min_epochs": 4})
    with pytest.raises(ValueError, match="needs a holdout metric"):
        hpsearch.Study.create("cv", space=SPACE, strategy="asha", storage="memory", epochs=3,
                              dataset="digits", metric="cv_loss")
    with pytest.raises(ValueError, match="sets each job's epochs"):
        hpsearch.Study.create("ep", space={**SPACE, "epochs": space.int(2, 4)}, strategy="bohb",
                              dataset="digits", storage="memory", epochs=3)


@pytest.mark.parametrize("strategy", ["asha", "bohb"])
def test_a_pruner_is_refused_with_the_rungs(strategy):
    with pytest.raises(ValueError, match=f"strategy '{strategy}' stops and resumes .* pruner 'median'"):
        hpsearch.Study.create("pr", space=SPACE, strategy=strategy, storage="memory", epochs=3,
                              dataset="digits", pruner="median")
    with pytest.raises(ValueError, match="cannot optimise several objectives"):
        hpsearch.Study.create("mo", space=SPACE, strategy=strategy, storage="memory", epochs=3,
                              dataset="digits", metric=["val_loss", "n_params"])


def _configured(direction="minimize", epochs=9):
    strategy = get_strategy("asha", SPACE, seed=0, direction=direction, eta=3)
    strategy.configure(ObjectiveConfig(epochs=epochs))
    return strategy


def _result(strategy, slot, value, stop_reason="paused", state=COMPLETE):
    return TrialResult(slot, strategy.configs[strategy.jobs[slot].config_id].params, 0, state,
                       value=value, record={"stop_reason": stop_reason},
                       fidelity=strategy.fidelity(slot))


def test_promotion_takes_the_best_unpromoted_of_the_top_third():
    s = _configured()
    s.ask(3)
    assert [s.fidelity(k) for k in range(3)] == [Fidelity(k, 1, 0, None) for k in range(3)]
    s.tell([_result(s, 0, 0.5), _result(s, 1, 0.2), _result(s, 2, 0.9)])
    s.ask(1)  # config 1 is the top third of rung 0: it resumes from its job's checkpoint
    assert s.fidelity(3) == Fidelity(1, 3, 1, 1)
    s.ask(1)  # nothing else in the top third: a new configuration
    assert s.fidelity(4) == Fidelity(4, 1, 0, None)
    s.tell([_result(s, 4, 0.1)])
    s.ask(1)  # 4 results at rung 0: the top one (config 4) was not promoted yet
    assert s.fidelity(5) == Fidelity(4, 3, 1, 4)
    s.tell([_result(s, 3, 0.15), _result(s, 5, 0.12)])
    s.ask(1)  # rung 1 has 2 results (no top third); rung 0's top one is promoted already
    assert s.fidelity(6) == Fidelity(6, 1, 0, None)
    s.tell([_result(s, 6, 0.05, stop_reason="early_stopping")])
    s.ask(1)  # config 6 leads rung 0 but stopped early: final, not promoted
    assert s.fidelity(7) == Fidelity(7, 1, 0, None)


def test_asha_draws_the_configurations_of_random_search_in_order():
    s = _configured()
    s.ask(3)
    s.tell([_result(s, 0, 0.5), _result(s, 1, 0.2), _result(s, 2, 0.9)])
    s.ask(3)  # a promotion takes slot 3; the 4th and 5th configurations slots 4 and 5
    assert s.jobs[3].rung == 1
    started = [s.configs[k].params for k in sorted(s.configs)]
    assert started == get_strategy("random", SPACE, seed=0).ask(5)


def test_serial_asha_keeps_the_rung_invariant_and_reaches_the_top():
    s = _configured(epochs=9)
    quality = {}
    for slot in range(40):
        s.ask(1)
        job = s.jobs[slot]
        if job.rung > 0:  # the promoted configuration was in the top third of the rung below
            below = s.results[job.rung - 1]
            ranked = sorted(below)[:len(below) // 3]
            assert job.config_id in [c for _, c in ranked]
        quality.setdefault(job.config_id, (slot * 7919 % 97) / 97)
        value = quality[job.config_id] / (job.rung + 1)
        reason = "paused" if job.rung < 2 else "completed"
        s.tell([_result(s, slot, value, stop_reason=reason)])
    counts = [len(s.results.get(rung, [])) for rung in range(3)]
    assert counts[0] > counts[1] > counts[2] >= 1
    assert sum(counts) == 40


def test_promotion_follows_the_direction_and_skips_failures():
    s = _configured(direction="maximize")
    s.ask(3)
    s.tell([_result(s, 0, 0.5), _result(s, 1, None, state=FAIL), _result(s, 2, 0.9)])
    s.ask(1)  # 2 results: none in a top third
    assert s.fidelity(3).rung == 0
    s.tell([_result(s, 3, 0.7)])
    s.ask(1)  # 3 results: the highest value (config 2) is promoted
    assert s.fidelity(4) == Fidelity(2, 3, 1, 2)


def test_results_of_an_earlier_run_rebuild_the_rungs():
    first = _configured()
    first.ask(3)
    results = [_result(first, 0, 0.5), _result(first, 1, 0.2), _result(first, 2, 0.9)]
    first.tell(results)
    first.ask(1)
    promoted = TrialResult(3, results[1].params, 0, FAIL, error="boom", fidelity=first.fidelity(3))
    again = _configured()
    again.tell([*results, promoted])  # config 1 was promoted (its job failed): not twice
    again.ask(1)
    assert again.fidelity(4) == Fidelity(4, 1, 0, None)


def _study(tmp_path, strategy="asha", **options):
    return hpsearch.Study.create(
        f"mf-{strategy}", dataset="digits", strategy=strategy, space=SPACE, epochs=9,
        patience=None, metric="val_accuracy", max_train=300, seed=1,
        storage=f"sqlite:///{tmp_path}/s.db",
        strategy_options={"min_epochs": 1, "eta": 3, **options})


def test_a_promoted_job_resumes_exactly_where_its_configuration_paused(tmp_path):
    study = _study(tmp_path)
    study.run(n_trials=10, n_jobs=1, progress=False)
    trials = study.trials()
    assert len(trials) == 10 and all(t.state.name == "COMPLETE" for t in trials)
    jobs = {records.slot_of(t): (t, records.fidelity_of(t)) for t in trials}
    promoted = [(t, f) for t, f in jobs.values() if f.resume_from is not None]
    assert promoted, "no configuration was promoted"
    rungs = rung_epochs(1, 3, 9)
    for trial, fidelity in promoted:
        metrics = records.metrics_of(trial)
        previous = jobs[fidelity.resume_from][1]
        assert previous.config_id == fidelity.config_id and previous.rung == fidelity.rung - 1
        assert metrics["epochs_trained"] == rungs[fidelity.rung] - rungs[fidelity.rung - 1]
        assert metrics["epochs_run"] == fidelity.until_epoch
        # Its checkpoint was used: it is gone.
        assert not artifacts.checkpoint_path(study.folder,
                                             fidelity.resume_from).exists()
    # The deepest promotion equals a fresh, uninterrupted training to its rung.
    trial, fidelity = max(promoted, key=lambda p: p[1].rung)
    fresh_config = dataclasses.replace(study.config.objective, epochs=fidelity.until_epoch)
    fresh = objective.evaluate(fresh_config, study.config.space.decode(trial.params),
                               records.seed_of(trial))
    assert trial.value == fresh["value"]
    assert records.curves_of(trial)["val_loss"] == fresh["curves"]["val_loss"]
    spent = sum(records.metrics_of(t)["epochs_trained"] for t in trials)
    assert spent < 10 * 9
    top = [t for t, f in jobs.values() if f.until_epoch == 9]
    for t in top:  # a top-rung job is final and keeps no checkpoint
        assert records.metrics_of(t)["stop_reason"] != "paused"
        assert not artifacts.checkpoint_path(study.folder,
                                             records.slot_of(t)).exists()


def test_a_requeued_job_keeps_its_resume_information(tmp_path):
    study = _study(tmp_path)
    study.run(n_trials=3, n_jobs=1, progress=False)  # three configurations paused at rung 0
    best = max(study.trials(), key=lambda t: t.value)
    loop = RunLoop(study.handle, study.config, n_trials=4, n_jobs=1, timeout=None, backend="loky",
                   blas_threads=1, catch=True, max_consecutive_failures=None, progress=False)
    loop.strategy = study.config.build_strategy()
    loop._sync()
    [task] = loop._claim(1)  # the best one is promoted: slot 3 resumes its checkpoint
    expected = Fidelity(records.slot_of(best), 3, 1, records.slot_of(best))
    assert task.fidelity == expected
    loop._abandon_in_flight("the driver died")  # as when its driver is killed: re-queued
    loop.runner.shutdown(kill=True)
    checkpoint = artifacts.checkpoint_path(study.folder, records.slot_of(best))
    assert checkpoint.exists()
    study.run(n_trials=4, n_jobs=1, progress=False)
    redone = [t for t in study.trials() if records.slot_of(t) == 3]
    assert [t.state.name for t in redone] == ["FAIL", "COMPLETE"]
    assert records.fidelity_of(redone[1]) == expected
    assert records.metrics_of(redone[1])["epochs_trained"] == 2
    assert records.curves_of(redone[1])["val_loss"][:1] == records.curves_of(best)["val_loss"]
    assert not checkpoint.exists()


def test_max_configs_ends_the_search_when_nothing_is_left_to_promote(tmp_path):
    study = hpsearch.Study.create(
        "bounded", dataset="digits", strategy="asha", space=SPACE, epochs=3, patience=None,
        metric="val_accuracy", max_train=200, seed=2, storage=f"sqlite:///{tmp_path}/s.db",
        strategy_options={"eta": 3, "max_configs": 3})
    study.run(n_trials=20, n_jobs=1, progress=False)
    jobs = [records.fidelity_of(t) for t in study.trials()]
    assert sorted((f.rung, f.config_id) for f in jobs)[:3] == [(0, 0), (0, 1), (0, 2)]
    assert len(jobs) == 4 and jobs[-1].rung == 1
    # The paused job the promotion continued no longer stands for its configuration:
    # the best trial, the leaderboard and the kept model are its continuation's.
    (continued,) = records.superseded(study.trials())
    assert continued == jobs[-1].resume_from
    assert continued not in study.leaderboard()["trial"].tolist()
    assert len(study.leaderboard()) == 3
    final = [t for t in study.trials() if records.slot_of(t) != continued]
    expected = max(final, key=lambda t: (t.value, records.fidelity_of(t).until_epoch,
                                         -t.number))
    assert study.best_trial["trial"] == records.slot_of(expected)
    assert isinstance(study.model(records.slot_of(study.trials()[-1])), netcore.MLP)
    # A paused job keeps its best epoch's model too, the one its metrics describe.
    paused = next(t for t in final if records.metrics_of(t)["stop_reason"] == "paused")
    data = study.dataset()
    scores = study.model(records.slot_of(paused)).evaluate(data.X_val, data.y_val)
    assert scores["accuracy"] == pytest.approx(records.metrics_of(paused)["val_accuracy"])
    with pytest.raises(ValueError, match="max_configs must be an integer >= 1"):
        get_strategy("asha", SPACE, max_configs=0)


def test_bohb_runs_and_promotes(tmp_path):
    study = _study(tmp_path, strategy="bohb", n_startup_trials=3)
    df = study.run(n_trials=10, n_jobs=1, progress=False)
    assert (df["state"] == "COMPLETE").all()
    rungs = [records.fidelity_of(t).rung for t in study.trials()]
    assert max(rungs) >= 1 and rungs.count(0) >= 4


def test_a_spec_takes_asha_with_its_options(tmp_path):
    path = Path(tmp_path) / "spec.toml"
    path.write_text(textwrap.dedent("""
        [study]
        name = "mf"
        dataset = "digits"
        strategy = "asha"
        epochs = 9

        [strategy_options]
        min_epochs = 1
        eta = 3

        [space.lr]
        type = "log_float"
        low = 1e-3
        high = 1e-1
    """))
    spec = load_spec(path)
    assert spec.config.strategy == "asha"
    assert spec.config.build_strategy().rungs == [1, 3, 9]
    path.write_text(path.read_text().replace("eta = 3", "eta = 1"))
    with pytest.raises(ValueError, match="eta must be an integer >= 2"):
        load_spec(path)
