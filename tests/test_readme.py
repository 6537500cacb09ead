"""The README's Python examples run as written."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _run(block: str, tmp_path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    return namespace


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 3


def test_search_example(tmp_path, monkeypatch):
    block = next(b for b in BLOCKS if 'Study.create(\n    "demo"' in b)
    ns = _run(block, tmp_path, monkeypatch)
    assert len(ns["df"]) == 30 and math.isfinite(ns["study"].best_value)


def test_own_data_example(tmp_path, monkeypatch):
    block = next(b for b in BLOCKS if "hpsearch.tune(" in b)
    ns = _run(block, tmp_path, monkeypatch)
    study = ns["study"]
    assert study.dataset().preprocessing.classes == ("benign", "malignant")
    assert ns["test"]["accuracy"] > 0.9
    row = study.results().set_index("trial").loc[study.best_trial["trial"]]
    best = study.best_model().evaluate(study.dataset().X_test, study.dataset().y_test)
    assert best == {"loss": row["test_loss"], "accuracy": row["test_accuracy"]}
    assert (tmp_path / "cancer.npz").exists()
    assert ns["final"].sizes == ns["kept"].sizes and ns["final"].sizes[0] == 30
    assert set(ns["answers"]) <= {0, 1} and ns["proba"].shape == (5, 2)
    assert set(ns["diagnoses"]) <= {"benign", "malignant"}
    assert (ns["shipped"].params == ns["final"].params).all()


def test_several_objectives_example(tmp_path, monkeypatch):
    block = next(b for b in BLOCKS if "best_trials" in b)
    ns = _run(block, tmp_path, monkeypatch)
    front, df = ns["front"], ns["df"]
    assert len(df) == 12 and not front.empty
    assert list(front.columns[:3]) == ["trial", "val_loss", "n_params"]
    assert (tmp_path / "pareto.png").stat().st_size > 0


def test_netcore_example(tmp_path, monkeypatch):
    block = next(b for b in BLOCKS if "netcore.MLP([64" in b)
    ns = _run(block, tmp_path, monkeypatch)
    assert ns["model"].evaluate(ns["data"].X_test, ns["data"].y_test)["accuracy"] > 0.9
    assert (tmp_path / "digits_mlp.npz").exists()


@pytest.mark.parametrize("marker", ["lr_range_test", "GradientNormMonitor"])
def test_mnist_examples(tmp_path, monkeypatch, mnist_available, marker):
    block = next(b for b in BLOCKS if marker in b)
    ns = _run(block, tmp_path, monkeypatch)
    assert ns  # ran to the end
