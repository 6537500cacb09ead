"""The study's storage handle as the command line meets it: opening a storage's only study,
never creating a storage file to read or delete, and export's choice of a trial."""

from __future__ import annotations

import pytest

import hpsearch
from hpsearch import space

SPACE = {"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[4], [8]])}


def _study(url: str, name: str, **options) -> hpsearch.Study:
    return hpsearch.Study.create(name, dataset="spirals", epochs=1, seed=0, space=SPACE,
                                 storage=url, **options)


def test_load_without_a_name_opens_the_only_study_and_refuses_none_or_several(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    _study(url, "first")
    assert hpsearch.Study.load(None, url).name == "first"
    _study(url, "second")
    with pytest.raises(ValueError, match=r"holds 2 studies \['first', 'second'\]; name one"):
        hpsearch.Study.load(None, url)
    hpsearch.Study.delete("first", url)
    hpsearch.Study.delete("second", url)
    with pytest.raises(ValueError, match="holds no study yet"):
        hpsearch.Study.load(None, url)


@pytest.mark.parametrize("scheme, name", [("sqlite:///", "runs.db"), ("journal:///", "runs.log")])
def test_load_and_delete_never_create_a_storage_file(tmp_path, scheme, name):
    missing = tmp_path / name
    for call in (lambda: hpsearch.Study.load("s", f"{scheme}{missing}"),
                 lambda: hpsearch.Study.load(None, f"{scheme}{missing}"),
                 lambda: hpsearch.Study.delete("s", f"{scheme}{missing}")):
        with pytest.raises(FileNotFoundError, match=f"no storage file at {missing}"):
            call()
    assert list(tmp_path.iterdir()) == []
    missing.mkdir()
    with pytest.raises(ValueError, match="is a folder or a device"):
        hpsearch.Study.load("s", f"{scheme}{missing}")


def test_export_of_a_multi_objective_study_asks_for_a_trial_of_its_pareto_set(tmp_path):
    study = _study(f"sqlite:///{tmp_path / 'mo.db'}", "mo", metric=["val_loss", "n_params"])
    study.run(n_trials=2, progress=False)
    pareto = [int(t) for t in study.best_trials["trial"]]
    with pytest.raises(ValueError, match=r"several objectives and no single best trial: "
                                         r"choose one with trial= \(--trial on the command "
                                         rf"line\), e\.g\. of its Pareto set \[{pareto[0]}"):
        study.export(tmp_path / "model.npz")
    assert study.export(tmp_path / "model.npz", trial=pareto[0]).exists()
