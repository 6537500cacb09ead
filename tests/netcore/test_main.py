"""``python -m netcore`` runs end to end in a subprocess."""

from __future__ import annotations

import subprocess
import sys


def test_trains_digits_and_saves(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "netcore", "--dataset", "digits", "--hidden", "32",
         "--lr", "0.01", "--epochs", "3", "--save", str(tmp_path / "m")],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    assert "test accuracy" in out and (tmp_path / "m.npz").exists()


def test_bad_argument_exits_2():
    result = subprocess.run([sys.executable, "-m", "netcore", "--lr", "-1", "--dataset", "digits"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "lr must be" in result.stderr
