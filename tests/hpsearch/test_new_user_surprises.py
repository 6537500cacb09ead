"""What a new user tries first does what they meant, or says why not in one line: labels
read as scikit-learn reads them, a study that names its data, run arguments checked
before anything is written, and the closest name offered for a typo."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine

import hpsearch
import netcore
from hpsearch import space
from hpsearch.spec import data_spec, load_spec

SPACE = {"lr": space.log_float(1e-3, 3e-2)}


@pytest.fixture(scope="module")
def wine() -> tuple[np.ndarray, np.ndarray]:
    return load_wine(return_X_y=True)


def test_whole_number_float_labels_are_classes_as_scikit_learn_reads_them(wine):
    X, y = wine
    as_float = netcore.Dataset.from_arrays(X, y.astype(float))
    as_int = netcore.Dataset.from_arrays(X, y)
    assert as_float.task == "classification" and as_float.preprocessing.classes == (0, 1, 2)
    np.testing.assert_array_equal(as_float.y_train, as_int.y_train)
    # Whole numbers with many distinct values are a quantity (diabetes: 214 values).
    Xd, yd = load_diabetes(return_X_y=True)
    assert np.all(yd == np.round(yd)) and netcore.Dataset.from_arrays(Xd, yd).task == "regression"
    assert netcore.Dataset.from_arrays(X, y + 0.5).task == "regression"
    # task= overrides the inference, both ways.
    assert netcore.Dataset.from_arrays(X, y.astype(float), task="regression").task == "regression"
    assert netcore.Dataset.from_arrays(Xd, (yd > 140).astype(float),
                                       task="classification").n_classes == 2


def test_labels_in_a_column_are_read_as_1d_with_one_warning(wine):
    X, y = wine
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    for labels in (y, names):
        with pytest.warns(UserWarning, match=r"shape \(178, 1\).*y\.ravel\(\)") as caught:
            column = netcore.Dataset.from_arrays(X, labels.reshape(-1, 1))
        assert len(caught) == 1
        flat = netcore.Dataset.from_arrays(X, labels)
        assert column.preprocessing.classes == flat.preprocessing.classes
        np.testing.assert_array_equal(column.y_train, flat.y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        netcore.Dataset.from_arrays(X, y)  # 1-D labels: no warning


def test_a_study_without_data_is_refused_before_anything_is_written(tmp_path):
    db = tmp_path / "runs.db"
    with pytest.raises(TypeError, match=r"needs the data to search on: data=\(X, y\).*dataset=NAME"):
        hpsearch.Study.create("s", space=SPACE, storage=f"sqlite:///{db}")
    assert not db.exists()


def test_arrays_given_as_dataset_say_pass_them_as_data(wine, tmp_path):
    with pytest.raises(TypeError, match=r"dataset must be a dataset name .* got a tuple; pass arrays "
                                        r"or a netcore.Dataset as data="):
        hpsearch.Study.create("s", space=SPACE, dataset=wine, storage=f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(TypeError, match=r"both data= and dataset='digits'; give one"):
        hpsearch.Study.create("s", space=SPACE, data=wine, dataset="digits", storage="memory")


@pytest.mark.parametrize("argument, match", [
    ({"n_trials": 0}, "n_trials must be a positive integer, got 0"),
    ({"n_jobs": 0}, "n_jobs must be a positive integer, got 0"),
])
def test_tune_checks_its_run_arguments_before_the_study_is_written(wine, tmp_path, argument, match):
    db = tmp_path / "runs.db"
    with pytest.raises(ValueError, match=match):
        hpsearch.tune(*wine, storage=f"sqlite:///{db}", progress=False, **argument)
    assert not db.exists() and not list(tmp_path.iterdir())


def test_tune_names_itself_lists_its_arguments_and_suggests_the_closest(wine):
    with pytest.raises(TypeError) as caught:
        hpsearch.tune(*wine, n_trails=4)
    message = str(caught.value)
    assert message.startswith("tune() got unknown options ['n_trails'] (did you mean 'n_trials'?); "
                              "its arguments: ")
    for argument in ("n_trials", "n_jobs", "space", "storage", "epochs", "patience", "fixed"):
        assert f"'{argument}'" in message, argument
    assert "'dataset'" not in message  # X and y are tune's data


def test_study_create_lists_its_own_arguments_with_a_suggestion():
    with pytest.raises(TypeError) as caught:
        hpsearch.Study.create("s", space=SPACE, dataset="digits", storage="memory", patiense=3)
    message = str(caught.value)
    assert message.startswith("Study.create() got unknown options ['patiense'] "
                              "(did you mean 'patience'?); its arguments: ")
    assert all(f"'{a}'" in message for a in ("space", "data", "storage", "load_if_exists"))


@pytest.mark.parametrize("setting, match", [
    ({"strategy": "tpee"}, r"Got 'tpee'\. \(did you mean 'tpe'\?\)"),
    ({"metric": "val_acuracy"}, r"Got 'val_acuracy'\. \(did you mean 'val_accuracy'\?\)"),
    ({"metric": ["val_loss", "n_param"]}, r"\['n_param'\] \(did you mean 'n_params'\?\)"),
    ({"dataset": "digit"}, r"Got 'digit'\. \(did you mean 'digits'\?\)"),
    ({"fixed": {"optimiser": "adam"}}, r"\['optimiser'\] \(did you mean 'optimizer'\?\)"),
    ({"fixed": {"activation": "rleu"}}, r"Got 'rleu'\. \(did you mean 'relu'\?\)"),
])
def test_a_mistyped_name_gets_the_closest_one(setting, match):
    options = {"dataset": "digits", **setting}
    with pytest.raises(ValueError, match=match):
        hpsearch.Study.create("s", space=SPACE, storage="memory", **options)


def test_a_mistyped_spec_key_gets_the_closest_key_with_its_table(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text('[study]\nname = "s"\ndataset = "digits"\ntrails = 3\n\n'
                    '[space.lr]\ntype = "log_float"\nlow = 1e-3\nhigh = 1e-1\n')
    with pytest.raises(ValueError, match=r"\['study\.trails'\] \(did you mean 'study\.trials'\?\); "
                                         r"\[study\] allows"):
        load_spec(spec)
    spec.write_text('[study]\nname = "s"\ndataset = "digits"\n\n'
                    '[space.lr]\ntype = "log_flaot"\nlow = 1e-3\nhigh = 1e-1\n')
    with pytest.raises(ValueError, match=r"space\.lr\.type must be one of .* Got 'log_flaot'\. "
                                         r"\(did you mean 'log_float'\?\)"):
        load_spec(spec)


def test_no_suggestion_when_nothing_is_close():
    with pytest.raises(ValueError, match=r"^unknown option\(s\) \['zzz'\]; allowed: \['epochs'\]$"):
        netcore.check_options({"zzz": 1}, ["epochs"], what="unknown option(s)")


def test_task_overrides_the_reading_of_the_labels_in_tune_and_the_command_line(wine, tmp_path):
    X, y = wine
    study = hpsearch.tune(X, y.astype(float), task="regression", n_trials=1, epochs=1,
                          progress=False)
    assert study.config.objective.task == "regression" and "val_rmse" in study.results()
    with pytest.raises(ValueError, match=r"task='regression', but the Dataset was built for "
                                         r"'classification'"):
        hpsearch.tune(netcore.Dataset.from_arrays(X, y), task="regression")
    path = tmp_path / "wine.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", comments="",
               header=",".join([*(f"f{i}" for i in range(X.shape[1])), "cultivar"]))
    read = data_spec({"path": str(path), "target": "cultivar"})
    forced = data_spec({"path": str(path), "target": "cultivar", "task": "regression"})
    assert (read.name, read.config.objective.task) == ("wine", "classification")
    assert forced.config.objective.task == "regression"
