"""fit(pause_after=..., resume=...): a paused and resumed training is bit-identical."""

from __future__ import annotations

import numpy as np
import pytest

import netcore


@pytest.fixture(scope="module")
def digits():
    data = netcore.load_dataset("digits")
    return data.subset(n_train=400)


def _net(dtype, seed=0):
    return netcore.MLP([64, 24, 16, 10], dropout=0.2, batch_norm=True, dtype=dtype, seed=seed)


def _options(optimizer, **extra):
    opt = {"adam": {"optimizer": "adam"}, "momentum": {"optimizer": "momentum", "momentum": 0.9}}
    return {"epochs": 8, "batch_size": 48, "seed": 3, "lr": 0.02, "l2": 1e-4,
            "schedule": "cosine", **opt[optimizer], **extra}


def _fit(model, data, early_stopping=None, **options):
    return netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val,
                       early_stopping=early_stopping, **options)


def _stopper():
    return netcore.EarlyStopping("val_loss", patience=3, restore_best=True)


def _without_time(history):
    return {k: v for k, v in history.metrics.items() if k != "time"}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_pause_save_load_resume_is_bit_identical(digits, tmp_path, dtype, optimizer):
    options = _options(optimizer)
    whole = _net(dtype)
    expected = _fit(whole, digits, _stopper(), **options)

    first = _net(dtype)
    paused = _fit(first, digits, _stopper(), pause_after=3, **options)
    assert paused.stop_reason == "paused" and paused.epochs_run == 3
    path = paused.state.save(tmp_path / "state")
    # Twice through a file, pausing again in the middle.
    second = _net(dtype, seed=99)  # other initial weights: the state overwrites them
    again = _fit(second, digits, _stopper(), pause_after=5, resume=path, **options)
    assert again.stop_reason == "paused" and again.epochs_run == 5
    again.state.save(tmp_path / "state2.npz")
    final = _net(dtype)
    resumed = _fit(final, digits, _stopper(),
                   resume=netcore.TrainingState.load(tmp_path / "state2.npz"), **options)

    assert np.array_equal(final.params, whole.params)
    for key, value in whole.get_buffers().items():
        assert np.array_equal(final.get_buffers()[key], value)
    assert _without_time(resumed) == _without_time(expected)
    assert (resumed.stop_reason, resumed.best_epoch, resumed.restored_epoch) == \
        (expected.stop_reason, expected.best_epoch, expected.restored_epoch)


def test_optimizer_moments_and_rngs_match_an_uninterrupted_run(digits, tmp_path):
    options = _options("adam", epochs=6)
    reference = _fit(_net("float32"), digits, _stopper(), pause_after=5, **options)
    paused = _fit(_net("float32"), digits, _stopper(), pause_after=2, **options)
    paused.state.save(tmp_path / "s.npz")
    state = netcore.TrainingState.load(tmp_path / "s.npz")
    resumed = _fit(_net("float32"), digits, _stopper(), pause_after=5, resume=state, **options)
    ref, got = reference.state, resumed.state
    assert ref.optimizer_state.keys() == got.optimizer_state.keys() == {"t", "m_sum", "v_sum"}
    for key in ("m_sum", "v_sum"):
        assert np.array_equal(ref.optimizer_state[key], got.optimizer_state[key])
        assert got.optimizer_state[key].dtype == np.float32
    assert ref.optimizer_state["t"] == got.optimizer_state["t"]
    assert ref.step_count == got.step_count
    assert (ref.shuffle_rng, ref.dropout_rng) == (got.shuffle_rng, got.dropout_rng)
    assert ref.callback_states[0]["wait"] == got.callback_states[0]["wait"]
    assert np.array_equal(ref.callback_states[0]["best_params"], got.callback_states[0]["best_params"])


def test_early_stopping_during_resume_ends_the_run(digits):
    options = {"epochs": 40, "batch_size": 64, "seed": 0, "lr": 0.5, "optimizer": "sgd"}
    stopper = netcore.EarlyStopping("val_loss", patience=1)
    whole = _fit(netcore.MLP([64, 16, 10], seed=1), digits, stopper, **options)
    assert whole.stop_reason == "early_stopping"
    paused = _fit(netcore.MLP([64, 16, 10], seed=1), digits,
                  netcore.EarlyStopping("val_loss", patience=1), pause_after=1, **options)
    model = netcore.MLP([64, 16, 10], seed=1)
    resumed = _fit(model, digits, netcore.EarlyStopping("val_loss", patience=1),
                   resume=paused.state, **options)
    assert resumed.stop_reason == "early_stopping"
    assert _without_time(resumed) == _without_time(whole)
    assert resumed.restored_epoch == whole.restored_epoch


def test_pause_at_last_epoch_completes_without_state(digits):
    hist = _fit(netcore.MLP([64, 8, 10], seed=0), digits, epochs=2, pause_after=2, seed=0)
    assert hist.stop_reason == "completed" and hist.state is None
    assert "state" not in hist.as_dict()


def test_resume_refuses_another_net_options_or_data(digits):
    paused = _fit(netcore.MLP([64, 8, 10], seed=0), digits, epochs=4, pause_after=2, seed=0)
    with pytest.raises(ValueError, match=r"different net \(\['sizes'\]"):
        _fit(netcore.MLP([64, 9, 10], seed=0), digits, epochs=4, resume=paused.state, seed=0)
    with pytest.raises(ValueError, match=r"training options \['optimizer'\]"):
        _fit(netcore.MLP([64, 8, 10]), digits, epochs=4, optimizer="sgd", resume=paused.state,
             seed=0)
    with pytest.raises(ValueError, match=r"training options \['epochs'\]"):
        _fit(netcore.MLP([64, 8, 10]), digits, epochs=5, resume=paused.state, seed=0)
    with pytest.raises(ValueError, match="trained on 400 samples, this one on 300"):
        netcore.fit(netcore.MLP([64, 8, 10]), digits.X_train[:300], digits.y_train[:300],
                    epochs=4, resume=paused.state, seed=0)


@pytest.mark.parametrize("pause_after", [0, 5, 1.5, True])
def test_pause_after_must_be_an_epoch_of_the_run(digits, pause_after):
    with pytest.raises(ValueError, match="pause_after"):
        _fit(netcore.MLP([64, 8, 10]), digits, epochs=4, pause_after=pause_after)


def test_pause_after_must_follow_the_resumed_epochs(digits):
    paused = _fit(netcore.MLP([64, 8, 10], seed=0), digits, epochs=4, pause_after=2, seed=0)
    with pytest.raises(ValueError, match="pause_after=2 must be after the 2 epochs"):
        _fit(netcore.MLP([64, 8, 10]), digits, epochs=4, pause_after=2, resume=paused.state, seed=0)
    with pytest.raises(TypeError, match="resume must be"):
        _fit(netcore.MLP([64, 8, 10]), digits, epochs=4, resume={"epochs_done": 2})


def test_a_file_that_is_not_a_state_is_refused(tmp_path, digits):
    model_file = netcore.save(netcore.MLP([64, 8, 10]), tmp_path / "model.npz")
    with pytest.raises(ValueError, match="not a netcore training state"):
        netcore.TrainingState.load(model_file)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable netcore training state"):
        netcore.TrainingState.load(tmp_path / "junk.npz")
