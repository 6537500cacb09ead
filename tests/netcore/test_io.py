"""Models save as .npz + JSON and load without ever unpickling."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

import netcore


def test_round_trip(tmp_path, rng):
    model = netcore.MLP([4, 6, 3], activation=["tanh"], init="xavier", dtype="float64", seed=1)
    path = netcore.save(model, tmp_path / "model")
    assert path.name == "model.npz"
    loaded = netcore.load(path)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.params, model.params)
    X = rng.standard_normal((5, 4))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


class _Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_crafted_pickle_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = pickle.dumps(np.array([_Exploit()], dtype=object))
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Exploit()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as archive:
        archive.writestr("params.npy", buffer.getvalue())
        archive.writestr("metadata.npy", buffer.getvalue())
    (tmp_path / "raw.npz").write_bytes(payload)
    for name in ("evil.npz", "raw.npz"):
        with pytest.raises(ValueError, match=name):
            netcore.load(tmp_path / name)
    assert not (tmp_path / "PWNED").exists()


def test_wrong_parameter_count(tmp_path):
    path = netcore.save(netcore.MLP([4, 6, 3]), tmp_path / "m.npz")
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["params"] = arrays["params"][:-1]
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="parameters stored"):
        netcore.load(path)


def _rewrite(path, metadata=None, **arrays):
    """Rewrite a saved model with other metadata (a dict) and/or arrays."""
    with np.load(path) as archive:
        stored = dict(archive)
    if metadata is not None:
        stored["metadata"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    np.savez(path, **{**stored, **arrays})


def _metadata(path) -> dict:
    with np.load(path) as archive:
        return json.loads(archive["metadata"].tobytes())


def test_preprocessing_is_saved_and_loaded(tmp_path):
    model = netcore.MLP([2, 4, 2], seed=0)
    model.preprocessing = netcore.Preprocessing(feature_names=("a", "b"), mean=[1.0, 2.0],
                                                scale=[3.0, 4.0], classes=("no", "yes"), target="t")
    assert model.copy().preprocessing == model.preprocessing
    assert model.astype("float64").preprocessing == model.preprocessing
    loaded = netcore.load(netcore.save(model, tmp_path / "m"))
    assert loaded.preprocessing == model.preprocessing
    assert netcore.load(netcore.save(netcore.MLP([2, 2]), tmp_path / "plain")).preprocessing is None


def test_files_without_preprocessing_still_load(tmp_path):
    path = netcore.save(netcore.MLP([2, 3, 2], batch_norm=True, activation="prelu"), tmp_path / "m")
    metadata = _metadata(path)
    assert "preprocessing" not in metadata
    metadata["preprocessing"] = None
    _rewrite(path, metadata)
    assert netcore.load(path).preprocessing is None


def test_a_tiny_file_claiming_a_huge_net_is_refused_before_allocating(tmp_path):
    path = netcore.save(netcore.MLP([2, 2]), tmp_path / "m")
    metadata = _metadata(path)
    metadata["config"]["sizes"] = [100000, 100000]
    _rewrite(path, metadata)
    assert path.stat().st_size < 4096
    with pytest.raises(ValueError, match="6 parameters stored, 10000100000 expected"):
        netcore.load(path)


@pytest.mark.parametrize("change, match", [
    (lambda m: m["config"].pop("sizes"), "'sizes' is missing"),
    (lambda m: m["config"].update(loss=None), "'loss' is missing or null"),
    (lambda m: m["config"].update(batch_norm=None), "'batch_norm' is null"),
    (lambda m: m["config"].update(sizes=[4, -3, 2]), "positive integers"),
    (lambda m: m["config"].update(sizes="4,3"), "positive integers"),
    (lambda m: m["config"].update(sizes=[4, True]), "positive integers"),
    (lambda m: m["config"].update(batch_norm=True), "parameters stored"),
    (lambda m: m["config"].update(activation="prelu"), "parameters stored"),
    (lambda m: m["config"].update(warp=9), "unknown MLP options"),
    (lambda m: m.update(config=None), "'config' must be a dict"),
    (lambda m: m.update(preprocessing={"task": "regression"}), "preprocessing needs the keys"),
    (lambda m: m.update(preprocessing=netcore.Preprocessing(feature_names=("a",)).to_dict()),
     "1 features"),
])
def test_bad_metadata_is_refused(tmp_path, change, match):
    path = netcore.save(netcore.MLP([4, 3, 2]), tmp_path / "m")
    metadata = _metadata(path)
    change(metadata)
    _rewrite(path, metadata)
    with pytest.raises(ValueError, match=f"m.npz.*{match}"):
        netcore.load(path)


def test_batch_norm_param_count_is_checked(tmp_path):
    path = netcore.save(netcore.MLP([4, 6, 5, 2], batch_norm=True), tmp_path / "m")
    model = netcore.load(path)
    assert model.n_params == netcore.model.param_count(model.get_config())
    with np.load(path) as archive:
        params = archive["params"]
    _rewrite(path, params=np.concatenate([params, params[:6]]))
    with pytest.raises(ValueError, match="parameters stored"):
        netcore.load(path)
