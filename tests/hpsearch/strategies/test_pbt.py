"""Population-based training: options, exploit and explore, a study whose members copy each
other's checkpoints, its lineage, its exact replay, and the spec and CLI that name it."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from helpers.cli import run_hpsearch

import hpsearch
from hpsearch import space
from hpsearch.objective import ObjectiveConfig
from hpsearch.results.lineage import lineages, schedule
from hpsearch.results.pbt import plot_pbt
from hpsearch.spec import load_spec
from hpsearch.storages import records
from hpsearch.strategies import get_strategy
from hpsearch.strategies.pbt_explore import perturb
from hpsearch.trial import COMPLETE, FAIL, Fidelity, TrialResult

SPACE = {"lr": space.log_float(1e-3, 3e-1), "momentum": space.float(0.5, 0.95),
         "hidden": space.choice([[8], [16]]), "optimizer": space.fixed("momentum")}


@pytest.mark.parametrize(("options", "message"), [
    ({"population": 1}, "population must be an integer >= 2"),
    ({"interval": 0}, "interval must be an integer >= 1"),
    ({"quantile": 0.7}, r"quantile must be a number in \(0, 0.5\]"),
    ({"perturb": []}, "perturb must be a list of positive factors"),
    ({"perturb": [0.8, -1.2]}, "perturb must be a list of positive factors"),
    ({"resample_probability": 1.5}, r"resample_probability must be a number in \[0, 1\]"),
    ({"mutable": ["hidden"]}, r"'mutable' parameter must be one of \[.*'batch_size'"),
    ({"mutable": ["l2"]}, "mutable hyperparameter 'l2' must be searched in the space"),
    ({"mutable": "lr"}, "mutable must be a list of hyperparameter names"),
])
def test_bad_options_name_the_option(options, message):
    with pytest.raises(ValueError, match=message):
        get_strategy("pbt", SPACE, **options)


def test_a_dropout_that_may_be_zero_cannot_be_mutable():
    with pytest.raises(ValueError, match="mutable 'dropout' must be above 0"):
        get_strategy("pbt", {**SPACE, "dropout": space.float(0.0, 0.5)})
    assert get_strategy("pbt", {**SPACE, "dropout": space.float(0.1, 0.5)}).mutable == \
        ["lr", "momentum", "dropout"]


def test_a_study_pbt_cannot_serve_is_refused_at_creation():
    common = {"strategy": "pbt", "storage": "memory", "epochs": 3, "dataset": "digits"}
    with pytest.raises(ValueError, match="needs a mutable hyperparameter searched in the space"):
        hpsearch.Study.create("none", space={"hidden": space.choice([[8], [16]])}, **common)
    with pytest.raises(ValueError, match=r"interval must be <= the study's epochs \(3\), got 4"):
        hpsearch.Study.create("long", space=SPACE, strategy_options={"interval": 4},
                              **{**common, "strategy": "pbt"})
    with pytest.raises(ValueError, match="needs a holdout metric"):
        hpsearch.Study.create("cv", space=SPACE, metric="cv_loss", **common)


def test_perturb_keeps_each_kind_of_value_in_its_dimension():
    lr, batch = space.log_float(1e-3, 0.1), space.choice([32, 64, 128])
    units = space.int(10, 50, step=5)
    assert perturb(lr, 0.05, 1.2) == pytest.approx(0.06)
    assert perturb(lr, 0.09, 1.2) == 0.1  # clipped to the range
    assert (perturb(batch, 64, 1.2), perturb(batch, 64, 0.8), perturb(batch, 128, 1.2)) == \
        (128, 32, 128)
    assert (perturb(units, 20, 1.2), perturb(units, 10, 0.8), perturb(units, 50, 1.2)) == \
        (25, 10, 50)


def _configured(population=4, epochs=6, **options):
    strategy = get_strategy("pbt", SPACE, seed=0, population=population, interval=2, **options)
    strategy.configure(ObjectiveConfig(epochs=epochs))
    return strategy


def _result(strategy, slot, score, state=COMPLETE, stop_reason="paused"):
    job = strategy.jobs[slot]
    return TrialResult(slot, dict(job.params), 0, state, value=score,
                       record={"stop_reason": stop_reason, "last_value": score},
                       fidelity=strategy.fidelity(slot))


def test_the_bottom_member_exploits_a_top_one_and_explores_only_the_mutable():
    s = _configured()
    first = s.ask(4)
    assert first == get_strategy("random", SPACE, seed=0).ask(4)  # random search's draws
    assert [s.fidelity(k) for k in range(4)] == [Fidelity(k, 2, 0, None) for k in range(4)]
    s.tell([_result(s, k, score) for k, score in enumerate([0.3, 0.1, 0.5, 0.9])])
    s.ask(4)
    # Members 0-2 continue their own checkpoints; member 3 (worst) copies member 1 (best).
    assert [s.fidelity(k) for k in range(4, 7)] == [Fidelity(k, 4, 1, k) for k in range(3)]
    assert s.fidelity(7) == Fidelity(3, 4, 1, 1)
    copied, donor = s.jobs[7].params, first[1]
    assert copied["hidden"] == donor["hidden"] and copied["optimizer"] == "momentum"
    assert copied["lr"] != donor["lr"] and copied["momentum"] != donor["momentum"]
    assert s.exhausted  # every member is busy until a job finishes


def test_a_failed_member_copies_a_top_one_and_a_done_member_stops():
    s = _configured(population=4, epochs=4)
    s.ask(4)
    s.tell([_result(s, 0, 0.2), _result(s, 1, None, state=FAIL), _result(s, 2, 0.4),
            _result(s, 3, 0.3, stop_reason="early_stopping")])
    s.ask(3)
    assert s.fidelity(4) == Fidelity(0, 4, 1, 0)
    assert s.fidelity(5) == Fidelity(1, 4, 1, 0)  # failed: copies the best member's checkpoint
    # Member 2 is the worst of the 3 scored (member 3 stopped early, with its score): it
    # copies the best.
    assert s.fidelity(6) == Fidelity(2, 4, 1, 0)
    assert s.exhausted  # member 3 stopped early: it is done
    s.tell([_result(s, k, 0.1, stop_reason="completed") for k in (4, 5, 6)])
    assert s.ask(2) == [] and s.exhausted


def test_claims_of_other_drivers_keep_their_members_busy():
    s = _configured()
    s.ask(4)
    s.tell([_result(s, k, 0.1 * (k + 1)) for k in range(4)])
    fresh = _configured()
    fresh.tell([_result(s, k, 0.1 * (k + 1)) for k in range(4)])
    fresh.hold([(Fidelity(0, 4, 1, 0), s.jobs[0].params), (Fidelity(1, 4, 1, 1), s.jobs[1].params)])
    fresh.next_slot = 4
    fresh.ask(4)
    assert sorted(job.member for slot, job in fresh.jobs.items() if slot >= 4) == [2, 3]


@pytest.fixture(scope="module")
def pbt_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pbt")
    study = hpsearch.Study.create(
        "pbt", dataset="digits", strategy="pbt", storage=f"sqlite:///{folder / 's.db'}", seed=0,
        max_train=300, epochs=4, keep_models=100, strategy_options={"population": 4, "interval": 1},
        space={**SPACE, "batch_size": space.choice([16, 32, 64])})
    study.run(n_trials=40, progress=False)
    return study


def test_a_pbt_study_trains_every_member_to_the_end_copying_checkpoints(pbt_study):
    trials = pbt_study.trials()
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert len(trials) <= 4 * 4  # jobs: at most population x epochs / interval
    # Each job trained its interval; each member's last job reached the study's epochs.
    assert {records.metrics_of(t)["epochs_trained"] for t in trials} == {1}
    members = lineages(trials, pbt_study.config)
    assert sorted(members) == [0, 1, 2, 3]
    assert all(segments[-1]["epochs"][1] == 4 for segments in members.values())
    exploits = [s for segments in members.values() for s in segments if s["copied_from"] is not None]
    assert exploits, "no member copied another"
    for segment in exploits:  # the copy takes the donor's net; it explores only the mutable
        donor = schedule(trials, pbt_study.config, segment["trial"])[-2]
        assert donor["member"] == segment["copied_from"]
        assert donor["params"]["hidden"] == segment["params"]["hidden"]
    assert list((pbt_study.checkpoint_path(0).parent).glob("*.npz")) == []  # none left behind


def test_the_best_trial_shows_its_schedule_and_replay_reproduces_its_weights(pbt_study):
    best = pbt_study.best_trial
    segments = best["schedule"]
    assert [s["epochs"] for s in segments] == [[0, 1], [1, 2], [2, 3], [3, 4]][:len(segments)]
    assert segments[-1]["trial"] == best["trial"] and segments[-1]["params"] == best["params"]
    replayed = pbt_study.replay()
    assert replayed.schedule == segments
    assert np.array_equal(replayed.model.params, pbt_study.best_model().params)
    assert replayed.history.metrics["val_loss"] == best["curves"]["val_loss"]


def test_plot_pbt_draws_one_panel_per_mutable_hyperparameter(pbt_study):
    figure = plot_pbt(pbt_study)
    assert [ax.get_ylabel() for ax in figure.axes] == ["lr", "momentum", "batch_size"]
    assert figure.axes[0].get_yscale() == "log"


def test_replay_of_another_strategy_is_refused(tmp_path):
    study = hpsearch.Study.create("rnd", dataset="digits", strategy="random", storage="memory",
                                  max_train=100, epochs=1, space=SPACE)
    with pytest.raises(ValueError, match=r"replay retrains a pbt schedule; .* strategy 'random'"):
        study.replay()


def test_a_spec_and_the_command_line_take_pbt(tmp_path):
    path = tmp_path / "spec.toml"
    text = textwrap.dedent("""
        [study]
        name = "pop"
        dataset = "digits"
        strategy = "pbt"
        epochs = 2
        max_train = 150

        [strategy_options]
        population = 2
        interval = 1
        perturb = [0.5, 2.0]

        [space.lr]
        type = "log_float"
        low = 1e-3
        high = 1e-1
    """)
    path.write_text(text)
    strategy = load_spec(path).config.build_strategy()
    assert (strategy.population, strategy.perturb, strategy.mutable) == (2, (0.5, 2.0), ["lr"])
    # A spec of another strategy, switched to pbt on the command line (pbt's defaults).
    path.write_text(text.replace('strategy = "pbt"', 'strategy = "random"')
                    .split("[strategy_options]")[0] + text.split("perturb = [0.5, 2.0]")[1])
    url = f"sqlite:///{tmp_path / 's.db'}"
    done = run_hpsearch("run", path, "--strategy", "pbt", "--trials", 2, "--storage", url,
                        cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    study = hpsearch.Study.load("pop", url)
    assert study.config.strategy == "pbt"
    assert [records.fidelity_of(t) for t in study.trials()] == [Fidelity(0, 2, 0, None),
                                                                Fidelity(1, 2, 0, None)]
