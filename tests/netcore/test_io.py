"""Models save as .npz + JSON and load without ever unpickling."""

from __future__ import annotations

import io
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
