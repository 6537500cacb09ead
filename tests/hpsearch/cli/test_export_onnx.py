"""`hpsearch export --format onnx`: the file answers raw CSV rows as `hpsearch predict` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.cli import run_hpsearch
from sklearn.datasets import load_wine

import netcore
from hpsearch import space
from hpsearch.study import Study

ort = pytest.importorskip("onnxruntime", reason="the onnx extra: pip install 'hpsearch[onnx]'")

@pytest.fixture(scope="module")
def wine(tmp_path_factory) -> Path:
    """A finished study on the rows of a CSV with string labels."""
    folder = tmp_path_factory.mktemp("wine")
    bunch = load_wine(as_frame=True)
    bunch.data.assign(cultivar=bunch.target_names[bunch.target]).to_csv(folder / "wine.csv",
                                                                        index=False)
    data = netcore.Dataset.from_csv(folder / "wine.csv", target="cultivar", seed=0)
    study = Study.create("wine", data=data, space={"lr": space.log_float(1e-2, 3e-2)},
                         fixed={"hidden": [16], "activation": "tanh"}, epochs=4,
                         strategy="random", storage=f"sqlite:///{folder / 'runs.db'}", seed=0)
    study.run(n_trials=2, progress=False)
    return folder


def test_export_onnx_answers_raw_rows_as_hpsearch_predict(wine):
    result = run_hpsearch("export", "sqlite:///runs.db", "--format", "onnx", "--out", "model",
                          cwd=wine)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("written to model.onnx")
    Study.load("wine", f"sqlite:///{wine / 'runs.db'}").export(wine / "model.npz")
    result = run_hpsearch("predict", "model.npz", "wine.csv", "--proba", "--out", "pred.csv",
                          cwd=wine)
    assert result.returncode == 0, result.stderr
    expected = pd.read_csv(wine / "pred.csv")
    rows = pd.read_csv(wine / "wine.csv").drop(columns="cultivar")
    session = ort.InferenceSession(str(wine / "model.onnx"), providers=["CPUExecutionProvider"])
    labels, proba = session.run(["prediction", "probabilities"],
                                {"X": rows.to_numpy(dtype=np.float32)})
    assert labels.tolist() == expected["prediction"].tolist()
    assert set(labels) == {"class_0", "class_1", "class_2"}
    np.testing.assert_allclose(proba, expected.filter(like="proba_").to_numpy(), rtol=1e-5, atol=0)


def test_export_to_an_unknown_format_is_one_line(wine):
    result = run_hpsearch("export", "sqlite:///runs.db", "--format", "pickle", "--out", "m",
                          cwd=wine)
    assert result.returncode == 2
    assert result.stderr == ("hpsearch: error: The 'format' parameter must be one of "
                             "['npz', 'onnx']. Got 'pickle'.\n")


def test_export_onnx_without_the_onnx_package_says_what_to_install(wine):
    blocked = ("import sys; sys.modules['onnx'] = None; "  # as when onnx is not installed
               "from hpsearch.cli.main import main; sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", blocked, "export", "sqlite:///runs.db",
                             "--format", "onnx", "--out", "none.onnx"],
                            capture_output=True, text=True, cwd=wine, timeout=300)
    assert result.returncode == 2
    assert result.stderr == ("hpsearch: error: ONNX export needs the onnx package: "
                             "pip install 'hpsearch[onnx]' (or: pip install onnx)\n")
    assert not (wine / "none.onnx").exists()


def test_a_refit_model_exports_to_onnx(wine):
    study = Study.load("wine", f"sqlite:///{wine / 'runs.db'}")
    final = study.refit(on="train+val")
    path = study.export(wine / "final", model=final, format="onnx")
    rows = pd.read_csv(wine / "wine.csv").drop(columns="cultivar")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {"X": rows.to_numpy(dtype=np.float32)})
    assert labels.tolist() == final.predict(rows).tolist()
    np.testing.assert_allclose(proba, final.predict_proba(rows), rtol=1e-5, atol=0)
