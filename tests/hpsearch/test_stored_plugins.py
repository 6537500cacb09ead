"""Reading a study imports and runs nothing it names: plugins stored in a study's
configuration (edited for real in its file, as an attacker would) run only when the
user names them."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from helpers.cli import run_hpsearch
from helpers.studies import HARMLESS_PLUGIN, plugin_study

import hpsearch

# A harmless plugin: registers an activation that the study's space uses.


def _evil(folder: Path) -> tuple[Path, Path]:
    """A plugin file that leaves a marker file when it is imported."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "marker"
    evil = folder / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    return evil, marker


def _edit_config(url: str, name: str, **objective) -> None:
    """Rewrite the stored configuration of a study, as an attacker with the file would."""
    storage = optuna.storages.RDBStorage(url)
    study_id = storage.get_study_id_from_name(name)
    config = storage.get_study_user_attrs(study_id)["hpsearch:config"]
    config["objective"].update(objective)
    storage.set_study_user_attr(study_id, "hpsearch:config", config)
    storage.engine.dispose()


# Reading a study imports and runs nothing it names.
def test_show_does_not_run_a_plugin_named_in_the_database(tmp_path):
    url, _ = plugin_study(tmp_path)
    evil, marker = _evil(tmp_path / "xyz")
    _edit_config(url, "p", plugins=[str(evil)])
    shown = run_hpsearch("show", url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "1 trials (1 COMPLETE)" in shown.stdout
    plotted = run_hpsearch("plot", url, "--out", tmp_path / "plots", cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert not marker.exists()


def test_load_and_results_import_nothing(tmp_path):
    url, _ = plugin_study(tmp_path)
    evil, marker = _evil(tmp_path / "xyz")
    _edit_config(url, "p", plugins=[str(evil)])
    study = hpsearch.Study.load("p", url)
    assert len(study.results()) == 1 and study.best_params["activation"] == "harmless"
    assert study.config.objective.plugins == (str(evil),)
    assert not marker.exists()


def test_a_loaded_study_runs_only_with_its_plugins_named(tmp_path):
    url, plugin = plugin_study(tmp_path)
    study = hpsearch.Study.load("p", url)
    with pytest.raises(ValueError, match=r"study 'p' uses plugins \[.*harmless.py'\]; name them"):
        study.run(n_trials=2, progress=False)
    assert len(study.results()) == 1
    again = hpsearch.Study.load("p", url, plugins=[str(plugin)])
    assert len(again.run(n_trials=2, progress=False)) == 2


def test_an_edited_plugin_list_refuses_to_run_and_runs_nothing(tmp_path):
    url, plugin = plugin_study(tmp_path)
    evil, marker = _evil(tmp_path / "xyz")
    _edit_config(url, "p", plugins=[str(plugin), str(evil)])
    study = hpsearch.Study.load("p", url, plugins=[str(plugin)])
    with pytest.raises(ValueError, match=r"evil\.py"):
        study.run(n_trials=2, progress=False)
    assert not marker.exists()


def test_a_spec_run_names_its_plugins_and_resumes(tmp_path):
    (tmp_path / "harmless.py").write_text(HARMLESS_PLUGIN)
    spec = tmp_path / "s.toml"
    for trials in (1, 2):
        spec.write_text(f'[study]\nname = "s"\ndataset = "spirals"\ntrials = {trials}\n'
                        f'epochs = 1\nmax_train = 100\nstorage = "sqlite:///{tmp_path / "s.db"}"\n'
                        'plugins = ["harmless.py"]\n[fixed]\nactivation = "harmless"\n'
                        '[space.lr]\ntype = "log_float"\nlow = 1e-3\nhigh = 1e-1\n')
        result = run_hpsearch("run", spec, "--no-progress", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"{trials} trials ({trials} COMPLETE)" in result.stdout
