"""Hostile and damaged files through the command line: one line, exit code 2, no traceback.

Files crafted for real on disk: a data .npz whose ``X`` header claims 8 TB (``predict``
and ``run --data``), model files with metadata nested 200,000 levels deep, an unknown
format version or NaN weights.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from helpers.cli import run_hpsearch

import netcore

TERA = 10**12
SPEC = """
[study]
name = "hostile"
strategy = "random"
trials = 1
jobs = 1
epochs = 1
storage = "sqlite:///runs.db"

[fixed]
hidden = [4]

[space.lr]
type = "log_float"
low = 1e-3
high = 3e-2
"""


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _huge_x(path, *, zip_agrees: bool) -> None:
    """A data .npz of a few hundred bytes whose ``X`` header claims 10^12 float64 (8 TB);
    with ``zip_agrees`` the zip's directory claims the same size for it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (TERA,)})
    header = buffer.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("X.npy", header + bytes(64))
        archive.writestr("y.npy", _npy(np.arange(10) % 2))
        if zip_agrees:
            archive.getinfo("X.npy").file_size = len(header) + 8 * TERA
    assert path.stat().st_size < 4096


def _model_with_metadata(path, change) -> None:
    """A real model file whose metadata ``change`` edits (or replaces, returning text)."""
    netcore.save(netcore.MLP([3, 4, 2], seed=0), path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    metadata = json.loads(np.load(io.BytesIO(members["metadata.npy"])).tobytes())
    text = change(metadata) or json.dumps(metadata)
    members["metadata.npy"] = _npy(np.frombuffer(text.encode(), np.uint8))
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _with_nan_weights(path) -> None:
    model = netcore.MLP([3, 4, 2], seed=0)
    model.params[5] = np.nan
    netcore.save(model, path)


def _assert_one_line_refusal(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("zip_agrees, problem", [(False, "is damaged: its header describes"),
                                                 (True, "more than the")])
def test_predict_on_a_data_file_claiming_8_tb_is_one_line(tmp_path, zip_agrees, problem):
    _huge_x(tmp_path / "hugeX.npz", zip_agrees=zip_agrees)
    netcore.save(netcore.MLP([3, 4, 2], seed=0), tmp_path / "model.npz")
    result = run_hpsearch("predict", "model.npz", "hugeX.npz", cwd=tmp_path)
    _assert_one_line_refusal(result, "hugeX.npz", "'X'", "8.0 TB", problem)


@pytest.mark.parametrize("zip_agrees, problem", [(False, "is damaged: its header describes"),
                                                 (True, "more than the")])
def test_run_on_a_data_file_claiming_8_tb_is_one_line(tmp_path, zip_agrees, problem):
    _huge_x(tmp_path / "hugeX.npz", zip_agrees=zip_agrees)
    (tmp_path / "spec.toml").write_text(SPEC)
    result = run_hpsearch("run", "spec.toml", "--data", "hugeX.npz", "--no-progress", cwd=tmp_path)
    _assert_one_line_refusal(result, "hugeX.npz", "'X'", "8.0 TB", problem)


@pytest.mark.parametrize("damage, fragments", [
    (lambda m: "[" * 200_000 + "]" * 200_000, ["'metadata' nests deeper than 64 levels"]),
    (lambda m: m.update(version=99), ["'version' is 99"]),
    (lambda m: m["config"].update(sizes=[3, 4, 5]), ["parameters stored"]),
])
def test_predict_with_a_deep_or_damaged_model_file_is_one_line(tmp_path, damage, fragments):
    _model_with_metadata(tmp_path / "model.npz", damage)
    (tmp_path / "rows.csv").write_text("a,b,c\n1,2,3\n")
    result = run_hpsearch("predict", "model.npz", "rows.csv", cwd=tmp_path)
    _assert_one_line_refusal(result, "model.npz", *fragments)


def test_predict_with_nan_weights_is_one_line_naming_the_file(tmp_path):
    _with_nan_weights(tmp_path / "model.npz")
    (tmp_path / "rows.csv").write_text("a,b,c\n1,2,3\n")
    result = run_hpsearch("predict", "model.npz", "rows.csv", cwd=tmp_path)
    _assert_one_line_refusal(result, "model.npz", "'params' holds 1 NaN or infinite values")
