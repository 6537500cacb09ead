"""Every study keeps its own folder of data and models: no other study's name reaches
it, and a copy changed behind the study's back is refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from helpers.cli import run_hpsearch

import netcore
from hpsearch import space
from hpsearch.storages import artifacts
from hpsearch.study import Study

SPACE = {"lr": space.log_float(1e-3, 3e-2)}
QUICK = {"epochs": 2, "patience": 1, "fixed": {"hidden": [8]}}
SPACED = "a b"
LOOKALIKE = artifacts.legacy_folder(SPACED)  # "a_b-<hash>": the literal folder name of "a b"


def _arrays(seed: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, n_features))
    return X, (X[:, 0] > 0).astype(int)


def _create(name: str, storage: str, seed: int, n_features: int, **options) -> Study:
    return Study.create(name, space=SPACE, data=_arrays(seed, n_features), storage=storage,
                        seed=seed, **{**QUICK, **options})


@pytest.mark.parametrize("first", [SPACED, LOOKALIKE])
def test_a_name_and_its_safe_lookalike_keep_their_own_data(tmp_path, first):
    assert LOOKALIKE.startswith("a_b-")
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    second = LOOKALIKE if first == SPACED else SPACED
    one = _create(first, storage, seed=1, n_features=3)
    two = _create(second, storage, seed=2, n_features=5)
    assert one.folder != two.folder
    one.run(n_trials=2, progress=False)
    two.run(n_trials=2, progress=False)
    # Each reopened study trains and predicts on its own data, never the other's.
    again = Study.create(first, space=SPACE, data=_arrays(1, 3), storage=storage, seed=1,
                         load_if_exists=True, **QUICK)
    again.run(n_trials=3, progress=False)
    assert again.dataset().n_features == 3
    assert Study.load(second, storage).dataset().n_features == 5
    assert Study.load(second, storage).best_model().sizes[0] == 5


@pytest.mark.parametrize("deleted", [SPACED, LOOKALIKE])
def test_deleting_one_study_leaves_the_lookalikes_models(tmp_path, deleted):
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    kept = LOOKALIKE if deleted == SPACED else SPACED
    for name, seed in ((deleted, 1), (kept, 2)):
        _create(name, storage, seed=seed, n_features=4).run(n_trials=2, progress=False)
    result = run_hpsearch("delete", storage, "--study", deleted, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    study = Study.load(kept, storage)
    assert study.best_model().n_params > 0 and study.dataset().n_features == 4
    assert study.folder.is_dir()


def test_pruning_one_studys_models_keeps_the_lookalikes(tmp_path):
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    one = _create(SPACED, storage, seed=1, n_features=4, keep_models=1)
    two = _create(LOOKALIKE, storage, seed=2, n_features=4, keep_models=1)
    one.run(n_trials=2, progress=False)
    two.run(n_trials=4, progress=False)  # prunes its own models after every trial
    one.run(n_trials=4, progress=False)
    for study in (one, two):
        assert len(list(artifacts.models_dir(study.folder).glob("*.npz"))) == 1
        assert study.best_model().n_params > 0


def test_names_differing_only_in_case_never_share_a_folder(tmp_path):
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    upper = _create("Demo", storage, seed=1, n_features=3)
    lower = _create("demo", storage, seed=2, n_features=5)
    # As a case-insensitive file system (macOS, Windows) would compare them.
    assert upper.folder.name.lower() != lower.folder.name.lower()
    assert artifacts.safe_name("Demo").lower() != artifacts.safe_name("demo").lower()
    assert upper.dataset().n_features == 3 and lower.dataset().n_features == 5


def test_result_folder_names_are_one_to_one():
    names = [SPACED, LOOKALIKE, "a_b", "Demo", "demo", "x" * 70, "x" * 71, "..", "~", "plain"]
    folders = [artifacts.safe_name(name).lower() for name in names]
    assert len(set(folders)) == len(names)
    assert artifacts.safe_name("quickstart") == "quickstart"


def test_a_study_created_again_under_a_deleted_name_gets_a_new_folder(tmp_path):
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    old = _create("again", storage, seed=1, n_features=3)
    (old.folder / "leftover.txt").write_text("a file delete could not remove")
    Study.delete("again", storage)
    old.folder.mkdir(parents=True, exist_ok=True)
    (old.folder / "leftover.txt").write_text("still here")
    new = _create("again", storage, seed=2, n_features=5)
    assert new.folder != old.folder and new.dataset().n_features == 5


def _zero_training_inputs(study: Study) -> None:
    path = artifacts.data_dir(study.folder) / "X_train.npy"
    array = np.load(path)
    np.save(path, np.zeros_like(array))


def test_a_changed_data_copy_is_refused_before_any_trial(tmp_path):
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    study = _create("copy", storage, seed=1, n_features=3)
    study.run(n_trials=1, progress=False)
    stored = study.config.objective.data_fingerprint["sha256"][:12]
    _zero_training_inputs(study)
    found = netcore.Dataset.open(artifacts.data_dir(study.folder)).fingerprint()["sha256"][:12]
    for attempt in (study, Study.load("copy", storage)):
        with pytest.raises(ValueError, match="changed after the study was created") as error:
            attempt.run(n_trials=3, progress=False)
        assert stored in str(error.value) and found in str(error.value)
        with pytest.raises(ValueError, match="changed after"):
            attempt.refit()
    assert len(Study.load("copy", storage).trials()) == 1


def test_the_command_line_refuses_a_changed_data_copy_in_one_line(tmp_path):
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    study = _create("copy", storage, seed=1, n_features=3)
    study.run(n_trials=1, progress=False)
    _zero_training_inputs(study)
    result = run_hpsearch("confirm", storage, "--study", "copy", "--top", "1", "--repeats", "1",
                          cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "changed after the study was created" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # Restored, the study runs on.
    shutil.rmtree(artifacts.data_dir(study.folder))
    Study.create("copy", space=SPACE, data=_arrays(1, 3), storage=storage, seed=1,
                 load_if_exists=True, **QUICK).run(n_trials=2, progress=False)
    assert len(Study.load("copy", storage).trials()) == 2


def test_a_data_manifest_nested_thousands_deep_is_one_clear_error(tmp_path):
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    study = _create("deep", storage, seed=1, n_features=3)
    (artifacts.data_dir(study.folder) / "dataset.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match="nests too deep"):
        study.run(n_trials=1, progress=False)
