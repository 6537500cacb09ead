"""``hpsearch predict`` never answers the wrong rows silently.

Real model files and real CSV files on disk, the real command in a subprocess:
a CSV without a header, a table of another width, reordered columns, a model
trained on ``pandas.DataFrame(X)`` (integer column names) and a header without
rows each give the right answers or one line and exit code 2.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from helpers.cli import run_hpsearch

import netcore


def _trained(X, y, path, **data_options) -> netcore.MLP:
    data = netcore.Dataset.from_arrays(X, y, seed=0, **data_options)
    model = netcore.MLP([data.n_features, 8, data.n_outputs], seed=0)
    netcore.fit(model, data.X_train, data.y_train, epochs=2, seed=0)
    model.preprocessing = data.preprocessing
    netcore.save(model, path)
    return model


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4))
    return X, np.where(X[:, 0] + X[:, 1] > 0, "up", "down")


@pytest.fixture(scope="module")
def array_model(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("array")
    return _trained(*rows, folder / "model.npz"), folder / "model.npz"


def _predictions(result) -> list:
    assert result.returncode == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout))["prediction"].tolist()


def _one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_a_csv_without_header_is_refused_then_read_whole_with_no_header(tmp_path, rows,
                                                                          array_model):
    X, _ = rows
    model, path = array_model
    np.savetxt(tmp_path / "rows.csv", X[:3], delimiter=",")
    refused = run_hpsearch("predict", path, "rows.csv", cwd=tmp_path)
    _one_line_error(refused, "rows.csv", "looks like a row of numbers", "--no-header",
                    "4 unnamed columns")
    answers = _predictions(run_hpsearch("predict", path, "rows.csv", "--no-header", cwd=tmp_path))
    assert answers == model.predict(X[:3]).tolist() and len(answers) == 3


def test_a_table_of_another_width_names_both_widths(tmp_path, rows, array_model):
    X, _ = rows
    _, path = array_model
    np.savetxt(tmp_path / "wide.csv", np.column_stack([X[:3], X[:3, :1]]), delimiter=",")
    result = run_hpsearch("predict", path, "wide.csv", "--no-header", cwd=tmp_path)
    _one_line_error(result, "wide.csv", "5 features, expected 4")
    np.savez(tmp_path / "narrow.npz", X=X[:3, :3])
    _one_line_error(run_hpsearch("predict", path, "narrow.npz", cwd=tmp_path),
                    "narrow.npz", "3 features, expected 4")


def test_reordered_named_columns_are_selected_by_name(tmp_path, rows):
    X, y = rows
    frame = pd.DataFrame(X, columns=["north", "east", "south", "west"])
    model = _trained(frame, y, tmp_path / "named.npz")
    frame[["west", "south", "east", "north"]].to_csv(tmp_path / "rows.csv", index=False)
    answers = _predictions(run_hpsearch("predict", "named.npz", "rows.csv", cwd=tmp_path))
    assert answers == model.predict(frame).tolist()
    assert answers != model.predict(frame[["west", "south", "east", "north"]].to_numpy()).tolist()


def test_a_model_trained_on_integer_column_names_takes_the_same_frame(tmp_path, rows):
    X, y = rows
    model = _trained(pd.DataFrame(X), y, tmp_path / "ints.npz")
    assert model.preprocessing.feature_names == ("0", "1", "2", "3")
    reloaded = netcore.load(tmp_path / "ints.npz")
    np.testing.assert_array_equal(reloaded.predict(pd.DataFrame(X[:5])), model.predict(X[:5]))
    np.testing.assert_array_equal(reloaded.predict(pd.DataFrame(X[:5])[[3, 2, 1, 0]]),
                                  model.predict(X[:5]))
    # Its CSV header is "0,1,2,3": numbers, but the model's own names, so a header.
    pd.DataFrame(X[:3]).to_csv(tmp_path / "rows.csv", index=False)
    answers = _predictions(run_hpsearch("predict", "ints.npz", "rows.csv", cwd=tmp_path))
    assert answers == model.predict(X[:3]).tolist()


def test_a_header_without_rows_is_one_clear_line(tmp_path, array_model):
    _, path = array_model
    (tmp_path / "empty.csv").write_text("a,b,c,d\n")
    _one_line_error(run_hpsearch("predict", path, "empty.csv", cwd=tmp_path),
                    "empty.csv", "no rows")


def test_every_model_file_knows_its_width_and_names(tmp_path, rows):
    X, y = rows
    bare = netcore.MLP([4, 2], seed=0)
    netcore.save(bare, tmp_path / "bare.npz")
    assert netcore.load(tmp_path / "bare.npz").n_features_in_ == 4
    unscaled = _trained(X, y, tmp_path / "unscaled.npz", standardize=False)
    assert unscaled.preprocessing.n_features is None and unscaled.n_features_in_ == 4
    np.savetxt(tmp_path / "wide.csv", np.column_stack([X[:3], X[:3]]), delimiter=",")
    _one_line_error(run_hpsearch("predict", "unscaled.npz", "wide.csv", "--no-header",
                                 cwd=tmp_path), "wide.csv", "8 features", "expects 4")
