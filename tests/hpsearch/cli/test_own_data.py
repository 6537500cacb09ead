"""The command line on a CSV file: a spec's [data] table, --data, export and predict."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers.cli import run_hpsearch
from sklearn.datasets import load_iris

from hpsearch.study import Study

SPEC = """
[study]
name = "flowers"
strategy = "tpe"
trials = 4
jobs = 2
epochs = 5
patience = 2
storage = "sqlite:///runs.db"

[data]
path = "data/iris.csv"
target = "species"

[fixed]
hidden = [16]

[space.lr]
type = "log_float"
low = 1e-3
high = 3e-2
"""




@pytest.fixture(scope="module")
def flowers(tmp_path_factory) -> Path:
    """A finished spec study on a CSV with string labels."""
    folder = tmp_path_factory.mktemp("flowers")
    iris = load_iris(as_frame=True)
    frame = iris.frame.rename(columns={"target": "species"})
    frame["species"] = frame["species"].map(dict(enumerate(iris.target_names)))
    (folder / "data").mkdir()
    frame.to_csv(folder / "data" / "iris.csv", index=False)
    (folder / "spec.toml").write_text(SPEC)
    result = run_hpsearch("run", "spec.toml", "--no-progress", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_spec_study_on_a_csv_gives_back_its_best_model(flowers):
    study = Study.load("flowers", f"sqlite:///{flowers / 'runs.db'}")
    data = study.dataset()
    assert data.preprocessing.classes == ("setosa", "versicolor", "virginica")
    model = study.best_model()
    test = {f"test_{k}": v for k, v in model.evaluate(data.X_test, data.y_test).items()}
    row = study.results().set_index("trial").loc[study.best_trial["trial"]]
    assert test == {"test_loss": row["test_loss"], "test_accuracy": row["test_accuracy"]}


def test_export_and_predict_give_the_users_labels(flowers):
    result = run_hpsearch("export", "sqlite:///runs.db", "--out", "model.npz", cwd=flowers)
    assert result.returncode == 0, result.stderr
    assert (flowers / "model.npz").exists()
    result = run_hpsearch("predict", "model.npz", "data/iris.csv", "--out", "pred.csv", cwd=flowers)
    assert result.returncode == 0, result.stderr
    predicted = pd.read_csv(flowers / "pred.csv")
    truth = pd.read_csv(flowers / "data" / "iris.csv")["species"]
    assert set(predicted["prediction"]) <= {"setosa", "versicolor", "virginica"}
    assert (predicted["prediction"] == truth).mean() > 0.8
    proba = run_hpsearch("predict", "model.npz", "data/iris.csv", "--proba", cwd=flowers)
    header = proba.stdout.splitlines()[0].split(",")
    assert header == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]


def test_resuming_a_spec_on_changed_data_is_a_clear_error(flowers, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(flowers, folder)
    frame = pd.read_csv(folder / "data" / "iris.csv")
    frame.iloc[:-1].to_csv(folder / "data" / "iris.csv", index=False)
    result = run_hpsearch("run", "spec.toml", "--no-progress", cwd=folder)
    assert result.returncode == 2
    assert "created on other data" in result.stderr and "Traceback" not in result.stderr


def test_data_and_target_on_the_command_line(flowers, tmp_path):
    spec = SPEC.replace('[data]\npath = "data/iris.csv"\ntarget = "species"\n', "")
    spec = spec.replace('name = "flowers"', 'name = "flowers"\ndataset = "digits"')
    (tmp_path / "spec.toml").write_text(spec.replace("trials = 4", "trials = 1"))
    csv = flowers / "data" / "iris.csv"
    result = run_hpsearch("run", "spec.toml", "--data", csv, "--target", "species", "--no-progress",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # the spec's study on other data is its own study, named after the file
    study = Study.load("flowers-iris", f"sqlite:///{tmp_path / 'runs.db'}")
    assert study.dataset().n_features == 4
    bad = run_hpsearch("run", "spec.toml", "--data", csv, "--target", "colour", cwd=tmp_path)
    assert bad.returncode == 2 and "colour" in bad.stderr


def test_predict_with_a_missing_column_is_a_clear_error(flowers, tmp_path):
    frame = pd.read_csv(flowers / "data" / "iris.csv").drop(columns=["petal width (cm)"])
    frame.to_csv(tmp_path / "rows.csv", index=False)
    run_hpsearch("export", "sqlite:///runs.db", "--out", "model.npz", cwd=flowers)
    result = run_hpsearch("predict", flowers / "model.npz", tmp_path / "rows.csv", cwd=tmp_path)
    assert result.returncode == 2 and "petal width (cm)" in result.stderr
