"""Datasets from CSV/TSV/parquet/npz files; save, open and fingerprint."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from netcore import Dataset
from netcore.data.cache import is_memory_mapped


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"height": rng.normal(170, 10, 40), "weight": rng.normal(70, 5, 40),
                         "smoker": [True, False] * 20, "species": ["cat", "dog"] * 20})


def test_from_csv_with_a_string_target(tmp_path, table):
    table.to_csv(tmp_path / "pets.csv", index=False)
    data = Dataset.from_csv(tmp_path / "pets.csv", target="species", seed=1)
    prep = data.preprocessing
    assert data.name == "pets" and prep.target == "species"
    assert prep.feature_names == ("height", "weight", "smoker") and prep.classes == ("cat", "dog")
    only = Dataset.from_csv(tmp_path / "pets.csv", "species", features=["weight"], name="w")
    assert only.n_features == 1 and only.name == "w"


def test_from_file_dispatches_on_the_suffix(tmp_path, table):
    table.to_csv(tmp_path / "pets.tsv", sep="\t", index=False)
    table.to_csv(tmp_path / "pets.csv", index=False)
    tsv = Dataset.from_file(tmp_path / "pets.tsv", target="species")
    assert tsv.fingerprint() == Dataset.from_file(tmp_path / "pets.csv", "species").fingerprint()
    with pytest.raises(ValueError, match=r"supported suffixes are \['.csv', '.tsv'"):
        Dataset.from_file(tmp_path / "pets.xlsx", target="species")
    with pytest.raises(ValueError, match="needs target="):
        Dataset.from_file(tmp_path / "pets.csv")


def test_table_errors(tmp_path, table):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        Dataset.from_csv(tmp_path / "nope.csv", target="species")
    table.to_csv(tmp_path / "pets.csv", index=False)
    with pytest.raises(ValueError, match=r"target 'kind' is not a column.*'height'"):
        Dataset.from_csv(tmp_path / "pets.csv", target="kind")
    with pytest.raises(ValueError, match=r"target 'specie' is not a column \(did you mean 'species'\?\)"):
        Dataset.from_csv(tmp_path / "pets.csv", target="specie")
    with pytest.raises(ValueError, match=r"\['age'\] are not columns"):
        Dataset.from_csv(tmp_path / "pets.csv", target="species", features=["age"])
    table["colour"] = "red"
    table.to_csv(tmp_path / "pets.csv", index=False)
    with pytest.raises(TypeError, match=r"\['colour'\].*get_dummies"):
        Dataset.from_csv(tmp_path / "pets.csv", target="species")


def test_from_parquet(tmp_path, table):
    pytest.importorskip("pyarrow")
    table.to_parquet(tmp_path / "pets.parquet")
    data = Dataset.from_file(tmp_path / "pets.parquet", target="species")
    assert data.preprocessing.target == "species" and data.n_classes == 2
    table.to_csv(tmp_path / "pets.csv", index=False)
    assert data.fingerprint() == Dataset.from_csv(tmp_path / "pets.csv", "species").fingerprint()


def test_parquet_without_an_engine_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "x.parquet").write_bytes(b"PAR1")

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")
    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        Dataset.from_parquet(tmp_path / "x.parquet", target="y")


def test_from_npz(tmp_path):
    X, y = np.arange(60.0).reshape(30, 2), np.array(["a", "b", "c"] * 10)
    np.savez(tmp_path / "plain.npz", X=X, y=y)
    data = Dataset.from_file(tmp_path / "plain.npz", seed=0)
    assert data.name == "plain" and data.preprocessing.classes == ("a", "b", "c")
    np.savez(tmp_path / "split.npz", X=X, y=y, X_val=X[:6], y_val=y[:6], X_test=X[:9], y_test=y[:9])
    split = Dataset.from_npz(tmp_path / "split.npz")
    assert (len(split.X_train), len(split.X_val), len(split.X_test)) == (30, 6, 9)
    np.savez(tmp_path / "named.npz", features=X, labels=y)
    assert Dataset.from_npz(tmp_path / "named.npz", X="features", y="labels").n_classes == 3
    with pytest.raises(ValueError, match=r"no arrays named \['X', 'y'\].*\['features', 'labels'\]"):
        Dataset.from_npz(tmp_path / "named.npz")


def test_save_and_open_round_trip(tmp_path):
    data = Dataset.from_arrays(np.arange(80.0).reshape(40, 2), ["x", "y"] * 20, name="toy")
    folder = data.save(tmp_path / "toy")
    again = Dataset.open(folder)
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        array = getattr(again, name)
        np.testing.assert_array_equal(array, getattr(data, name))
        assert type(array) is np.ndarray and is_memory_mapped(array) and not array.flags.writeable
    assert (again.name, again.task, again.n_classes) == ("toy", "classification", 2)
    assert again.preprocessing == data.preprocessing
    assert again.fingerprint() == data.fingerprint()
    assert not is_memory_mapped(Dataset.open(folder, mmap=False).X_train)
    data.save(folder)  # saving over an earlier save is fine
    assert Dataset.open(folder).fingerprint() == data.fingerprint()


def test_builtin_style_dataset_saves_without_preprocessing(tmp_path):
    X, y = np.ones((4, 3), dtype=np.float32), np.arange(4)
    data = Dataset("tiny", X, y, X, y, X, y, 4)
    again = Dataset.open(data.save(tmp_path / "tiny"))
    assert again.preprocessing is None and again.fingerprint() == data.fingerprint()


@pytest.mark.parametrize("damage, match", [
    ("missing_npy", "missing or unreadable"),
    ("bad_json", "damaged"),
    ("wrong_shape", "damaged"),
    ("no_manifest", "not a saved dataset"),
    ("bad_preprocessing", "damaged"),
])
def test_open_refuses_a_damaged_folder(tmp_path, damage, match):
    data = Dataset.from_arrays(np.arange(80.0).reshape(40, 2), [0, 1] * 20)
    folder = data.save(tmp_path / "d")
    manifest = folder / "dataset.json"
    if damage == "missing_npy":
        (folder / "y_val.npy").unlink()
    elif damage == "bad_json":
        manifest.write_text("{not json")
    elif damage == "wrong_shape":
        np.save(folder / "X_test.npy", np.zeros((3, 2), dtype=np.float32))
    elif damage == "no_manifest":
        manifest.unlink()
    else:
        meta = json.loads(manifest.read_text())
        meta["preprocessing"]["task"] = None
        manifest.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"{folder.name}.*{match}"):
        Dataset.open(folder)


def test_fingerprint_changes_with_any_value():
    data = Dataset.from_arrays(np.arange(80.0).reshape(40, 2), [0, 1] * 20)
    print_ = data.fingerprint()
    assert json.loads(json.dumps(print_)) == print_
    assert print_["shapes"]["X_train"] == [24, 2] and print_["dtype"] == "float32"
    changed = data.X_val.copy()
    changed[3, 1] += 1e-3
    other = Dataset(data.name, data.X_train, data.y_train, changed, data.y_val, data.X_test,
                    data.y_test, data.n_classes, data.task, data.preprocessing)
    assert other.fingerprint()["sha256"] != print_["sha256"]
    relabeled = Dataset(data.name, data.X_train, data.y_train, data.X_val, data.y_val, data.X_test,
                        data.y_test, data.n_classes, data.task, None)
    assert relabeled.fingerprint()["sha256"] != print_["sha256"]
