"""Model files crafted by hand, as an attacker would: sizes asking for gigabytes and
null metadata are refused before anything is allocated."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import netcore


def _crafted_file(path, metadata: dict, params: np.ndarray) -> None:
    """An .npz file written by hand, as an attacker would, without netcore.save."""
    buffer = io.BytesIO()
    np.savez(buffer, metadata=np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8),
             params=params)
    path.write_bytes(buffer.getvalue())


def _config(**changes) -> dict:
    config = netcore.MLP([2, 2]).get_config()
    config.update(changes)
    return config


# A model file whose sizes ask for gigabytes; null metadata.
def test_a_tiny_file_asking_for_gigabytes_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    _crafted_file(path, {"format": "netcore-mlp", "version": 1,
                         "config": _config(sizes=[100000, 100000])}, np.zeros(1, np.float32))
    assert path.stat().st_size < 2048
    assert zipfile.is_zipfile(path)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"huge\.npz.*1 parameters stored, 10000100000"):
            netcore.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # the net would take 40 GB; nothing near it was allocated


@pytest.mark.parametrize("where", ["sizes", "loss", "activation", "dtype", "init", "dropout",
                                   "batch_norm"])
def test_null_metadata_is_refused(tmp_path, where):
    path = tmp_path / "null.npz"
    config = _config(**{where: None})
    _crafted_file(path, {"format": "netcore-mlp", "version": 1, "config": config},
                  np.zeros(6, np.float32))
    with pytest.raises(ValueError, match=f"null.npz.*'{where}' is (missing or )?null"):
        netcore.load(path)


@pytest.mark.parametrize("metadata", [None, {"format": None}, {"format": "netcore-mlp",
                                                                "config": None}])
def test_null_at_the_top_of_the_metadata_is_refused(tmp_path, metadata):
    path = tmp_path / "null.npz"
    _crafted_file(path, metadata, np.zeros(6, np.float32))
    with pytest.raises(ValueError, match=r"null\.npz"):
        netcore.load(path)
