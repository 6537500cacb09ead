"""Preprocessing: column selection, standardization, class labels, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import netcore
from netcore import Preprocessing


@pytest.fixture
def prep() -> Preprocessing:
    return Preprocessing(feature_names=("a", "b", "c"), mean=[1.0, 2.0, 3.0], scale=[2.0, 0.0, 4.0],
                         classes=("cat", "dog", "emu"), target="animal")


def test_json_round_trip(prep):
    again = Preprocessing.from_dict(json.loads(json.dumps(prep.to_dict())))
    assert again == prep and hash(again) == hash(prep)
    assert again.scale.tolist() == [2.0, 1.0, 4.0]  # a zero scale only centres
    assert again.classes == ("cat", "dog", "emu") and again.target == "animal"
    assert Preprocessing.from_dict(Preprocessing().to_dict()) == Preprocessing()


def test_transform_picks_columns_by_name(prep):
    frame = pd.DataFrame({"a": [1.0, 3.0], "b": [2.0, 5.0], "c": [3.0, 7.0], "extra": ["x", "y"]})
    out = prep.transform(frame)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out, [[0, 0, 0], [1, 3, 1]])
    shuffled = frame[["c", "extra", "a", "b"]]
    np.testing.assert_array_equal(prep.transform(shuffled, dtype="float64"), out.astype(np.float64))
    np.testing.assert_array_equal(prep.transform(frame[["a", "b", "c"]].to_numpy()), out)


def test_transform_errors(prep):
    with pytest.raises(ValueError, match=r"lacks the feature columns \['b'\]"):
        prep.transform(pd.DataFrame({"a": [1.0], "c": [2.0]}))
    with pytest.raises(TypeError, match=r"non-numeric columns \['b'\]"):
        prep.transform(pd.DataFrame({"a": [1.0], "b": ["x"], "c": [2.0]}))
    with pytest.raises(ValueError, match="2 features, expected 3"):
        prep.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="'dtype' parameter"):
        prep.transform(np.zeros((4, 3)), dtype="int8")
    with pytest.raises(ValueError, match=r"1 NaN or infinite values, in the columns \['c'\]"):
        prep.transform(pd.DataFrame({"a": [1.0], "b": [2.0], "c": [np.nan]}))


def test_encode_decode(prep):
    labels = np.array(["emu", "cat", "emu"], dtype=object)
    codes = prep.encode(labels)
    assert codes.dtype == np.int64 and codes.tolist() == [2, 0, 2]
    assert prep.decode(codes).tolist() == labels.tolist()
    with pytest.raises(ValueError, match=r"unknown labels \['cow', 'ant'\].*\['cat', 'dog', 'emu'\]"):
        prep.encode(["cow", "cat", "ant", "cow"])
    ints = Preprocessing(classes=(3, 5, 9))
    assert ints.decode(np.array([2, 0])).dtype.kind == "i"
    assert ints.decode(np.array([2, 0])).tolist() == [9, 3]
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
        ints.decode([3])


def test_regression_decode_is_identity():
    prep = Preprocessing(task="regression")
    values = np.array([1.5, -2.0])
    assert prep.decode(values) is values


@pytest.mark.parametrize("change, match", [
    ({"task": None}, "task"),
    ({"task": "ranking"}, "'task' parameter must be one of"),
    ({"mean": None}, "mean and scale"),
    ({"mean": [1.0, "x", 2.0]}, "mean"),
    ({"scale": [1.0]}, "one entry per feature"),
    ({"classes": ["cat"]}, "at least 2"),
    ({"classes": "cat"}, "lists or null"),
    ({"feature_names": [1, 2, 3]}, "feature_names"),
    ({"extra": 1}, "unknown"),
])
def test_from_dict_refuses_bad_fields(prep, change, match):
    with pytest.raises(ValueError, match=match):
        Preprocessing.from_dict({**prep.to_dict(), **change})


def test_from_dict_refuses_missing_keys(prep):
    data = prep.to_dict()
    del data["classes"]
    with pytest.raises(ValueError, match=r"missing \['classes'\]"):
        Preprocessing.from_dict(data)
    with pytest.raises(ValueError, match="must be a dict"):
        Preprocessing.from_dict(["task"])


def test_exported():
    assert netcore.Preprocessing is Preprocessing
