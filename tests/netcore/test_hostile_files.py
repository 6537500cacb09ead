"""Hostile and damaged .npz files never get far: each file is crafted for real on disk.

Zip bombs (a small file with a member that inflates to hundreds of MB), .npy
headers claiming terabytes, metadata nested thousands of levels deep, and damaged
checkpoint and model fields.
Every refusal is a ValueError naming the file and the member or field at fault.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import netcore
from netcore.data.files import read_npz

BOMB_BYTES = 256 * 2**20  # inflated size of the bomb member; the file holds ~1 MB
TERA = 10**12


# ---- crafting files as an attacker would: zipfile and numpy's .npy format, no netcore ----

def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npy_header(shape: tuple, dtype) -> bytes:
    """The .npy header of an array of ``shape`` and ``dtype``, without its data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {
        "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
        "shape": shape})
    return buffer.getvalue()


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _write_zip(path, members: dict[str, bytes], claims: dict[str, int] | None = None) -> None:
    """Write ``members``; ``claims`` sets the uncompressed size the zip's directory states
    for a member (the directory is what readers trust), as a hand-edited file would."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, size in (claims or {}).items():
            archive.getinfo(name).file_size = size  # written into the central directory on close


def _add_members(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _metadata(path) -> dict:
    return json.loads(np.frombuffer(_npy_data(_members(path)["metadata.npy"]), np.uint8).tobytes())


def _npy_data(member: bytes) -> bytes:
    return np.load(io.BytesIO(member), allow_pickle=False).tobytes()


def _rewrite(path, metadata: dict | None = None, arrays: dict | None = None) -> None:
    """Rewrite a saved file with other metadata and arrays (None removes an array)."""
    members = _members(path)
    if metadata is not None:
        members["metadata.npy"] = _npy(np.frombuffer(json.dumps(metadata).encode(), np.uint8))
    for name, array in (arrays or {}).items():
        if array is None:
            members.pop(f"{name}.npy")
        else:
            members[f"{name}.npy"] = _npy(array)
    _write_zip(path, members)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A zip of ~1 MB whose one member, ``leftover.npy``, inflates to 256 MB of zeros:
    a valid .npy (uint8) streamed through zipfile in chunks, so the test stays small."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    chunk = bytes(16 * 2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive, \
            archive.open("leftover.npy", "w", force_zip64=True) as member:
        member.write(_npy_header((BOMB_BYTES,), np.uint8))
        for _ in range(BOMB_BYTES // len(chunk)):
            member.write(chunk)
    assert path.stat().st_size < 4 * 2**20
    return path


def _bombed(bomb, path, member: str = "leftover") -> None:
    """``path`` rewritten as the bomb plus ``path``'s own members; the bomb's member is
    renamed ``member`` (8 characters, patched in place: its data and CRC stay valid)."""
    members = _members(path)
    raw = bomb.read_bytes()
    path.write_bytes(raw.replace(b"leftover.npy", f"{member}.npy".encode()))
    _add_members(path, {k: v for k, v in members.items() if k != f"{member}.npy"})


@pytest.fixture(scope="module")
def digits():
    return netcore.load_dataset("digits").subset(n_train=200)


@pytest.fixture
def model_file(tmp_path):
    model = netcore.MLP([4, 6, 3], batch_norm=True, seed=0)
    model.preprocessing = netcore.Preprocessing(classes=("a", "b", "c"))
    return netcore.save(model, tmp_path / "model.npz")


@pytest.fixture
def state_file(tmp_path, digits):
    """A real paused training: batch norm (buffers), adam (moments), early stopping
    that restores the best weights (callback arrays)."""
    model = netcore.MLP([64, 8, 10], batch_norm=True, seed=0)
    history = netcore.fit(model, digits.X_train, digits.y_train, digits.X_val, digits.y_val,
                          epochs=3, batch_size=50, optimizer="adam", seed=0, pause_after=1,
                          early_stopping=netcore.EarlyStopping("val_loss", restore_best=True))
    return history.state.save(tmp_path / "state.npz")


@pytest.fixture
def data_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, X=rng.standard_normal((40, 3)), y=np.arange(40) % 2)
    return path


LOADERS = {"model": netcore.load, "checkpoint": netcore.TrainingState.load, "data": read_npz}


def _peak_rss_growth(kind: str, path) -> int:
    """Bytes by which loading ``path`` (or refusing it) in a fresh process raised its peak
    resident memory."""
    script = (
        "import resource, sys, netcore\n"
        "from netcore.data.files import read_npz\n"
        "load = {'model': netcore.load, 'checkpoint': netcore.TrainingState.load,\n"
        "        'data': read_npz}[sys.argv[1]]\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    load(sys.argv[2])\nexcept ValueError:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n")
    done = subprocess.run([sys.executable, "-c", script, kind, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout) * (1 if sys.platform == "darwin" else 1024)  # Linux says KiB


# ---- zip bombs ----

@pytest.mark.parametrize("kind", ["model", "checkpoint", "data"])
def test_an_unused_huge_member_is_never_decompressed(kind, bomb, model_file, state_file,
                                                        data_file):
    path = {"model": model_file, "checkpoint": state_file, "data": data_file}[kind]
    original = LOADERS[kind](path)
    _bombed(bomb, path)
    assert path.stat().st_size < 4 * 2**20
    assert _peak_rss_growth(kind, path) < 64 * 2**20  # the member inflates to 256 MB
    loaded = LOADERS[kind](path)
    if kind == "model":
        np.testing.assert_array_equal(loaded.params, original.params)
    elif kind == "checkpoint":
        np.testing.assert_array_equal(loaded.optimizer_state["m_sum"],
                                      original.optimizer_state["m_sum"])
    else:
        np.testing.assert_array_equal(loaded["X"], original["X"])


@pytest.mark.parametrize("kind", ["model", "checkpoint"])
def test_a_metadata_member_that_inflates_to_256_mb_is_refused_unread(kind, bomb, model_file,
                                                                        state_file):
    path = {"model": model_file, "checkpoint": state_file}[kind]
    _bombed(bomb, path, member="metadata")
    with pytest.raises(ValueError, match=rf"{path.name}.*'metadata' claims \({BOMB_BYTES},\) "
                                         r"uint8 \(268.4 MB\), more than the 67.1 MB allowed"):
        LOADERS[kind](path)
    assert _peak_rss_growth(kind, path) < 64 * 2**20


@pytest.mark.parametrize("kind, member", [("model", "params.npy"), ("checkpoint", "params.npy"),
                                          ("checkpoint", "optimizer:m_sum.npy"),
                                          ("data", "X.npy")])
def test_a_member_whose_zip_size_exceeds_its_header_is_refused_before_reading(
        kind, member, model_file, state_file, data_file):
    path = {"model": model_file, "checkpoint": state_file, "data": data_file}[kind]
    members = _members(path)
    _write_zip(path, members, claims={member: len(members[member]) + TERA})
    with pytest.raises(ValueError, match=rf"{path.name}.*'{member[:-4]}' is damaged: its header "
                                         r"describes .*, the archive holds 1.0 TB of data"):
        LOADERS[kind](path)


def test_bzip2_members_are_refused_they_inflate_without_bound(data_file):
    members = _members(data_file)
    with zipfile.ZipFile(data_file, "w", zipfile.ZIP_BZIP2) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=r"data.npz.*'X' uses zip compression method 12"):
        read_npz(data_file)


# ---- headers that claim terabytes, deep JSON ----

@pytest.mark.parametrize("kind, member", [("model", "params"), ("checkpoint", "params"),
                                          ("data", "X"), ("data", "y")])
def test_a_header_claiming_terabytes_is_refused_before_allocating(
        kind, member, model_file, state_file, data_file):
    path = {"model": model_file, "checkpoint": state_file, "data": data_file}[kind]
    members = _members(path)
    members[f"{member}.npy"] = _npy_header((TERA,), np.float64) + bytes(64)
    _write_zip(path, members)
    assert path.stat().st_size < 64 * 2**10
    with pytest.raises(ValueError, match=rf"{path.name}.*'{member}' is damaged: its header "
                                         r"describes \(1000000000000,\) float64 \(8.0 TB\)"):
        LOADERS[kind](path)


def test_terabytes_claimed_by_header_and_zip_alike_exceed_the_memory_bound(data_file):
    header = _npy_header((TERA,), np.float64)
    _write_zip(data_file, {"X.npy": header + bytes(64), "y.npy": _npy(np.arange(3))},
               claims={"X.npy": len(header) + 8 * TERA})
    with pytest.raises(ValueError, match=r"data.npz: array 'X' claims \(1000000000000,\) float64 "
                                         r"\(8.0 TB\), more than the .* allowed"):
        read_npz(data_file)


def test_a_model_whose_config_header_and_zip_all_agree_on_terabytes_is_refused(model_file):
    metadata = _metadata(model_file)
    metadata["config"].update(sizes=[10**6, 10**6], activation=[], dropout=[], batch_norm=False)
    metadata.pop("preprocessing")
    n_params = 10**12 + 10**6
    header = _npy_header((n_params,), np.float32)
    members = {"metadata.npy": _npy(np.frombuffer(json.dumps(metadata).encode(), np.uint8)),
               "params.npy": header + bytes(64)}
    _write_zip(model_file, members, claims={"params.npy": len(header) + 4 * n_params})
    with pytest.raises(ValueError, match=r"model.npz.*'params' claims .* \(4.0 TB\), more than"):
        netcore.load(model_file)


@pytest.mark.parametrize("kind", ["model", "checkpoint"])
@pytest.mark.parametrize("depth", [200_000, 500])
def test_deeply_nested_metadata_is_a_value_error_naming_the_file(kind, depth, model_file,
                                                                    state_file):
    path = {"model": model_file, "checkpoint": state_file}[kind]
    members = _members(path)
    text = "[" * depth + "]" * depth
    members["metadata.npy"] = _npy(np.frombuffer(text.encode(), np.uint8))
    _write_zip(path, members)
    with pytest.raises(ValueError, match=rf"{path.name}.*'metadata' nests deeper than 64 levels"):
        LOADERS[kind](path)


def test_object_arrays_in_a_data_file_are_refused_unpickled(data_file):
    members = _members(data_file)
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    members["y.npy"] = buffer.getvalue()
    _write_zip(data_file, members)
    with pytest.raises(ValueError, match=r"data.npz: array 'y' holds Python objects"):
        read_npz(data_file)


# ---- damaged checkpoints ----

def _metadata_change(change):
    """A damage: ``change`` applied to the file's metadata (a dict, changed in place)."""
    def apply(path):
        metadata = _metadata(path)
        change(metadata)
        _rewrite(path, metadata)
    return apply


def _array_change(name: str, array):
    return lambda path: _rewrite(path, arrays={name: array})


@pytest.mark.parametrize("damage, match", [
    (_array_change("params", np.array([7.0], np.float32)),
     r"'params' is \(1,\) float32; 'model_config' needs \(\d+,\) float32"),
    (_array_change("params", None), r"no array 'params'"),
    (_array_change("optimizer:m_sum", np.zeros(3, np.float32)),
     r"'optimizer:m_sum' is \(3,\) float32, expected \(\d+,\) float32"),
    (_array_change("optimizer:v_sum", np.zeros(1, np.float64)), r"'optimizer:v_sum' is"),
    (_array_change("buffer:1.running_var", np.ones(3, np.float32)),
     r"'buffer:1.running_var' is \(3,\)"),
    (_array_change("buffer:1.running_mean", None), r"the arrays .* are stored, .* expected"),
    (_array_change("callback0:best_params", np.array([7.0], np.float32)),
     r"'callback0:best_params' is \(1,\)"),
    (_array_change("callback3:best_params", np.zeros(2, np.float32)),
     r"\['callback3:best_params'\] belong to no callback"),
    (_metadata_change(lambda m: m.update(epochs_done=-1)), r"'epochs_done' must be an integer >= 0"),
    (_metadata_change(lambda m: m.update(epochs_done=2)), r"'loss' must hold 2 numbers"),
    (_metadata_change(lambda m: m.update(epochs_done=1.5)), r"'epochs_done' must be an integer"),
    (_metadata_change(lambda m: m.update(step_count=-4)), r"'step_count' must be an integer >= 0"),
    (_metadata_change(lambda m: m.update(n_samples=0)), r"'n_samples' must be an integer >= 1"),
    (_metadata_change(lambda m: m.update(version=99)), r"'version' is 99; this netcore reads"),
    (_metadata_change(lambda m: m.pop("version")), r"'version' is None"),
    (_metadata_change(lambda m: m.update(model_config=None)), r"'model_config' must be a dict"),
    (_metadata_change(lambda m: m["model_config"].update(sizes=[64, 9, 10])),
     r"'params' is .*'model_config' needs"),
    (_metadata_change(lambda m: m.update(config_key=[1])), r"'config_key' must be a dict"),
    (_metadata_change(lambda m: m["optimizer_state"].update(t=-1)), r"'t' must be an integer >= 0"),
    (_metadata_change(lambda m: m["optimizer_state"].update(m_sum=0)),
     r"'optimizer_state' must hold 't' and arrays only"),
    (_metadata_change(lambda m: m.update(shuffle_rng={"bit_generator": "MT19937"})),
     r"'shuffle_rng' is not a generator state"),
    (_metadata_change(lambda m: m["dropout_rng"].update(state={})), r"'dropout_rng' is not a generator"),
    (_metadata_change(lambda m: m["history"]["metrics"].update(loss=["x"])), r"'loss' must hold 1 num"),
    (_metadata_change(lambda m: m["history"].update(diverged="no")), r"'diverged' has the wrong type"),
    (_metadata_change(lambda m: m["history"].update(extra=1)), r"'history' must have the fields"),
    (_metadata_change(lambda m: m.update(callback_states={})), r"'callback_states' must be a list"),
    (_metadata_change(lambda m: m["callback_states"][0].update(wait=[[1]])),
     r"'callback_states' \[0\] must hold numbers"),
])
def test_a_damaged_checkpoint_is_refused_naming_the_field(state_file, damage, match):
    damage(state_file)
    with pytest.raises(ValueError, match=rf"state.npz: a damaged netcore training state: .*{match}"):
        netcore.TrainingState.load(state_file)


def test_a_one_value_parameter_vector_never_resumes(state_file, digits):
    _rewrite(state_file, arrays={"params": np.array([7.0], np.float32)})
    model = netcore.MLP([64, 8, 10], batch_norm=True, seed=0)
    with pytest.raises(ValueError, match=r"state.npz.*'params' is \(1,\)"):
        netcore.fit(model, digits.X_train, digits.y_train, digits.X_val, digits.y_val, epochs=3,
                    batch_size=50, optimizer="adam", seed=0, resume=state_file,
                    early_stopping=netcore.EarlyStopping("val_loss", restore_best=True))


def test_another_optimizers_moments_never_resume_silently(state_file, digits):
    members = _members(state_file)
    members["optimizer:velocity.npy"] = members.pop("optimizer:m_sum.npy")
    _write_zip(state_file, members)
    model = netcore.MLP([64, 8, 10], batch_norm=True, seed=0)
    with pytest.raises(ValueError, match=r"'adam' optimizer's state holds \['m_sum', 'v_sum'\], "
                                         r"got \['v_sum', 'velocity'\]"):
        netcore.fit(model, digits.X_train, digits.y_train, digits.X_val, digits.y_val, epochs=3,
                    batch_size=50, optimizer="adam", seed=0, resume=state_file,
                    early_stopping=netcore.EarlyStopping("val_loss", restore_best=True))


def test_an_undamaged_checkpoint_still_resumes_exactly(state_file, digits):
    def run(resume=None, pause_after=None):
        model = netcore.MLP([64, 8, 10], batch_norm=True, seed=0)
        netcore.fit(model, digits.X_train, digits.y_train, digits.X_val, digits.y_val, epochs=3,
                    batch_size=50, optimizer="adam", seed=0, resume=resume,
                    early_stopping=netcore.EarlyStopping("val_loss", restore_best=True))
        return model.params

    np.testing.assert_array_equal(run(resume=state_file), run())


# ---- damaged model files ----

def _with_nan(path):
    params = np.load(io.BytesIO(_members(path)["params.npy"]))
    params[3] = np.nan
    _rewrite(path, arrays={"params": params})


@pytest.mark.parametrize("damage, match", [
    (_metadata_change(lambda m: m.update(version=99)), r"'version' is 99; this netcore reads version 1"),
    (_metadata_change(lambda m: m.update(version="1")), r"'version' is '1'"),
    (_metadata_change(lambda m: m.pop("version")), r"'version' is None"),
    (_metadata_change(lambda m: m["preprocessing"].update(classes=["a", "b"])),
     r"'classes' lists 2 labels for a 'cross_entropy' model with 3 outputs"),
    (_metadata_change(lambda m: m["config"].update(loss="mse")),
     r"'classes' lists 3 labels for a 'mse' model"),
    (_with_nan, r"'params' holds 1 NaN or infinite values"),
    (_array_change("buffer:1.running_var", np.full(6, np.inf, np.float32)),
     r"'buffer:1.running_var' holds 6 NaN or infinite values"),
    (_array_change("buffer:1.running_var", np.ones(2, np.float32)),
     r"'buffer:1.running_var' is \(2,\) float32, expected \(6,\) float32"),
    (_array_change("buffer:1.running_mean", None), r"buffers \['1.running_var'\] stored"),
    (_array_change("params", np.zeros(57, np.float64)), r"'params' are float64, config 'dtype'"),
])
def test_a_damaged_model_file_is_refused_naming_the_field(model_file, damage, match):
    damage(model_file)
    with pytest.raises(ValueError, match=rf"model.npz: not a valid netcore model file \(.*{match}"):
        netcore.load(model_file)


def test_one_sigmoid_output_for_two_classes_still_loads(tmp_path):
    model = netcore.MLP([3, 4, 1], loss="binary_cross_entropy", seed=0)
    model.preprocessing = netcore.Preprocessing(classes=("no", "yes"))
    loaded = netcore.load(netcore.save(model, tmp_path / "binary"))
    assert loaded.preprocessing.classes == ("no", "yes")
    np.testing.assert_array_equal(loaded.params, model.params)


def test_the_bomb_is_a_valid_zip_that_really_inflates_to_256_mb(bomb, data_file):
    """The crafting is sound: renamed and joined to a file's members, the bomb member
    inflates to its full size and its CRC checks (zipfile raises on a bad one)."""
    _bombed(bomb, data_file, member="metadata")
    with zipfile.ZipFile(data_file) as archive:
        info = archive.getinfo("metadata.npy")
        assert info.file_size == BOMB_BYTES + len(_npy_header((BOMB_BYTES,), np.uint8))
        with archive.open(info) as member:
            inflated = sum(len(member.read(16 * 2**20)) for _ in range(info.file_size // 2**24 + 1))
    assert inflated == info.file_size

