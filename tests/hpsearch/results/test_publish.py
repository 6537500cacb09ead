"""What optuna-dashboard shows of a study: its plots and kept models as artifacts, its note."""

from __future__ import annotations

import json

import pytest
from helpers.cli import run_hpsearch
from optuna.artifacts.exceptions import ArtifactNotFound

import hpsearch
from hpsearch import space
from hpsearch.results.publish import publish
from hpsearch.storages import artifacts
from hpsearch.storages.dashboard import StorageArtifacts, read_note
from hpsearch.storages.handle import StudyStorage

SPEC = """
[study]
name = "pub"
dataset = "digits"
strategy = "random"
seed = 0
trials = 4
storage = "sqlite:///pub.db"
epochs = 3
max_train = 300
keep_models = 2

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1

[space.hidden]
type = "choice"
values = [[16], [32]]
"""


def listed(handle: StudyStorage) -> dict[str, str]:
    """The study's artifacts as Optuna lists them: file name -> artifact id."""
    metas = [json.loads(v) for k, v in handle.system_attrs().items()
             if k.startswith("artifacts:")]
    return {m["filename"]: m["artifact_id"] for m in metas if m is not None}


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("publish")
    (folder / "pub.toml").write_text(SPEC)
    result = run_hpsearch("run", "pub.toml", "--no-progress", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, StudyStorage(f"sqlite:///{folder}/pub.db", "pub")


def test_a_run_registers_its_plots_and_kept_models_with_the_artifact_store(cli_run):
    folder, handle = cli_run
    names = listed(handle)
    plots = sorted(p.name for p in (folder / "hpsearch-results" / "pub").glob("*.png"))
    models = sorted(p.name for p in handle.models_dir().glob("*.npz"))
    assert len(models) == 2 and "history.png" in plots
    assert sorted(names) == sorted(plots + models)
    store = StorageArtifacts(artifacts.artifacts_root(handle.url))
    for name, artifact_id in names.items():
        original = (folder / "hpsearch-results" / "pub" / name if name.endswith(".png")
                    else handle.models_dir() / name)
        with store.open_reader(artifact_id) as reader:
            assert reader.read() == original.read_bytes(), name


def test_the_note_says_the_data_search_space_best_trials_and_how_to_resume(cli_run):
    _, handle = cli_run
    note = read_note(handle.storage, handle.study_id)
    config = handle.stored_config()
    assert "classification on 'digits'" in note and "X_train 300x64" in note
    assert "fingerprint sha256 `" in note
    assert "**Search**: random (seed 0), val_loss (minimize), 3 epochs at most" in note
    assert "- lr: float [0.001, 0.1] log" in note and "- hidden: choice of 2" in note
    assert "### Leaderboard" in note and note.count("\n| ") >= 1 + 4
    assert "hpsearch run pub.toml --no-progress" in note
    assert config is not None


def _study(tmp_path, **options) -> hpsearch.Study:
    return hpsearch.Study.create(
        "api", dataset="digits", space={"lr": space.log_float(1e-3, 1e-1)}, epochs=2,
        max_train=300, seed=0, storage=f"sqlite:///{tmp_path}/s.db", **options)


def test_publishing_again_withdraws_what_is_gone_and_keeps_one_entry_per_file(tmp_path):
    study = _study(tmp_path, keep_models=1)
    study.run(n_trials=1, progress=False)
    first = tmp_path / "history.png"
    first.write_bytes(b"\x89PNG first")
    publish(study, [first])
    before = listed(study.handle)
    study.run(n_trials=6, progress=False)
    publish(study, [first])
    after = listed(study.handle)
    kept = sorted(p.name for p in study.handle.models_dir().glob("*.npz"))
    assert len(kept) == 1 and sorted(after) == sorted(["history.png", *kept])
    store = StorageArtifacts(artifacts.artifacts_root(study.storage_url))
    for name, artifact_id in before.items():
        if after.get(name) != artifact_id:  # withdrawn: its file is gone too
            with pytest.raises(ArtifactNotFound):
                store.open_reader(artifact_id)
    assert before["history.png"] != after["history.png"]  # new plots replace the old


def test_the_note_shows_the_confirmed_table_after_confirm(tmp_path):
    study = _study(tmp_path)
    study.run(n_trials=2, progress=False)
    publish(study)
    assert "Confirmed" not in read_note(study.handle.storage, study.handle.study_id)
    study.confirm(top=1, repeats=2, progress=False)
    publish(study)
    note = read_note(study.handle.storage, study.handle.study_id)
    assert "### Confirmed (`hpsearch confirm`)" in note and "| p_vs_next |" in note


def test_a_shorter_note_leaves_nothing_of_the_longer_one(tmp_path):
    from hpsearch.storages.dashboard import NOTE_PIECE, write_note

    study = _study(tmp_path)
    handle = study.handle
    write_note(handle.storage, handle.study_id, "x" * (2 * NOTE_PIECE + 5))
    write_note(handle.storage, handle.study_id, "short")
    assert read_note(handle.storage, handle.study_id) == "short"
    assert handle.system_attrs()["dashboard:note_ver"] == 2


def test_deleting_a_study_removes_its_artifacts_and_note(tmp_path):
    study = _study(tmp_path)
    study.run(n_trials=2, progress=False)
    plot = tmp_path / "history.png"
    plot.write_bytes(b"\x89PNG")
    publish(study, [plot])
    store_dir = study.handle.folder / "artifacts"
    assert len(list(store_dir.iterdir())) == 3  # the plot and two models
    assert hpsearch.Study.delete("api", study.storage_url) == []
    assert not store_dir.exists()
    again = _study(tmp_path)  # the same name again: nothing of the deleted one
    assert listed(again.handle) == {}
    assert read_note(again.handle.storage, again.handle.study_id) == ""


def test_the_dashboards_store_refuses_an_artifact_id_that_leads_out_of_its_folder(tmp_path):
    store = StorageArtifacts(tmp_path / "root")
    (tmp_path / "secret").write_text("x")
    for bad in ("../secret", "a/../../secret", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="artifact id"):
            store.open_reader(bad)
    with pytest.raises(ArtifactNotFound):
        store.open_reader("0123abcd-0000")
