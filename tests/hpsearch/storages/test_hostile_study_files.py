"""A pickle posing as a study file (SQLite or journal) is refused and never runs,
from Python and from the command line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import hpsearch


class _Payload:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


@pytest.mark.parametrize("name", ["study.db", "study.log"])
def test_a_pickle_posing_as_a_study_file_never_runs(tmp_path, name):
    import pickle

    evil = tmp_path / name
    evil.write_bytes(pickle.dumps(_Payload()))
    url = f"sqlite:///{evil}" if name.endswith(".db") else f"journal:///{evil}"
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, as long as nothing runs
        hpsearch.Study.load("s", url)
    result = subprocess.run([sys.executable, "-m", "hpsearch", "show", url], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "hpsearch: error:" in result.stderr
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")
