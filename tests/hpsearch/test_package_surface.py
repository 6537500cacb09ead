"""``import hpsearch``: the user's names, loaded lazily, seen by type checkers, and no more."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import hpsearch

INIT = Path(hpsearch.__file__)


def _type_checking_names() -> dict[str, str]:
    """name -> module of the ``if TYPE_CHECKING:`` imports of hpsearch/__init__.py."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    names = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        for alias in node.names:
            assert alias.asname in (None, alias.name), ast.unparse(node)  # never renamed
            module = f"{node.module}.{alias.name}" if node.module == "hpsearch" else node.module
            names[alias.name] = module
    return names


def test_the_type_checking_block_names_what_the_lazy_table_loads():
    assert _type_checking_names() == hpsearch._EXPORTS
    assert hpsearch.__all__ == list(hpsearch._EXPORTS)


def test_every_public_name_loads_and_every_error_lives_in_hpsearch_errors():
    for name in hpsearch.__all__:
        value = getattr(hpsearch, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert value.__module__ == "hpsearch.errors", name
    assert {n for n in hpsearch.__all__ if n.endswith("Error") or n == "RunInterrupted"} == {
        "SpecError", "StorageUnreachableError", "AllTrialsFailedError", "TooManyFailuresError",
        "RunInterrupted", "DiskFullError", "StudyDeletedError", "TrialTimeoutError"}


def test_internals_are_not_part_of_the_surface():
    for internal in ("ObjectiveConfig", "StudyConfig", "TrialResult", "Strategy", "get_strategy"):
        assert not hasattr(hpsearch, internal), internal
    assert hpsearch.tuning.default_space  # the module stays reachable


def test_importing_the_package_loads_none_of_its_names():
    """A worker process imports ``hpsearch``: the study, storage and pandas stay unloaded."""
    code = ("import sys, hpsearch; print(sorted(m for m in ('hpsearch.study', 'optuna', 'pandas', "
            "'hpsearch.errors') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"
