"""The ``hpsearch`` command in a subprocess, as a user runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def hpsearch_command() -> list[str]:
    """The ``hpsearch`` script beside this Python, else the one on PATH."""
    script = Path(sys.executable).with_name("hpsearch")
    return [str(script)] if script.exists() else [shutil.which("hpsearch") or "hpsearch"]


def run_hpsearch(*args, cwd, **options) -> subprocess.CompletedProcess:
    """``hpsearch ARGS...`` run in ``cwd``, its output captured; ``options`` go to
    ``subprocess.run`` (e.g. ``preexec_fn`` to limit the process)."""
    return subprocess.run([*hpsearch_command(), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300, **options)
