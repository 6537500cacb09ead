"""The guide's examples run as written: every ```python block of the README and of the docs
pages runs (each in a fresh folder) and the main ones' results are checked; every ``hpsearch``
command of a ```bash block names a real sub-command and real flags; the spec file validates."""

from __future__ import annotations

import json
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
# A fenced block at the start of a line: its tag and its body. Blocks meant only to be read
# carry another tag (```py, ```text) and are not run.
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.M | re.S)
# Blocks a named test below runs and checks (page, a marker only that block holds); the
# scikit-learn example is run and checked by tests/netcore/test_sklearn.py.
CLAIMED = [(README, "hpsearch.tune("), (README, '"intro"'), (README, "netcore.MLP([64"),
           (DOCS / "own-data.md", "hpsearch.tune("), (DOCS / "search.md", '"demo"'),
           (DOCS / "search.md", "best_trials"), (DOCS / "netcore.md", "netcore.MLP([64"),
           (DOCS / "netcore.md", "NetcoreClassifier("), (DOCS / "lr-finder.md", "lr_range_test"),
           (DOCS / "netcore.md", "GradientNormMonitor")]


def _blocks(page: Path, tag: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text(encoding="utf-8")) if lang == tag]


def _block(page: Path, marker: str) -> str:
    found = [b for b in _blocks(page, "python") if marker in b]
    assert len(found) == 1, f"{page.name}: {len(found)} python blocks hold {marker!r}"
    return found[0]


def _run(page: Path, block: str, tmp_path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, str(page), "exec"), namespace)
    return namespace


def _unclaimed() -> list[tuple[Path, str]]:
    """The python blocks no named test below runs."""
    return [(page, block) for page in PAGES for block in _blocks(page, "python")
            if not any(page == p and marker in block for p, marker in CLAIMED)]


def test_the_readme_and_the_guide_have_examples():
    assert len(_blocks(README, "python")) >= 3
    for page, marker in CLAIMED:
        _block(page, marker)  # each claimed example is still there, once


# --- the README's own examples ---

def test_readme_own_data_example_answers_raw_rows_with_labels(tmp_path, monkeypatch):
    ns = _run(README, _block(README, "hpsearch.tune("), tmp_path, monkeypatch)
    assert set(ns["answers"]) <= {0, 1} and ns["proba"].shape == (5, 2)
    assert (tmp_path / "cancer.npz").exists()
    X = ns["X"].tail(5)
    assert (ns["shipped"].predict(X) == ns["model"].predict(X)).all()


def test_readme_search_example(tmp_path, monkeypatch):
    ns = _run(README, _block(README, '"intro"'), tmp_path, monkeypatch)
    assert len(ns["df"]) == 8 and math.isfinite(ns["study"].best_value)


def test_readme_netcore_example(tmp_path, monkeypatch):
    ns = _run(README, _block(README, "netcore.MLP([64"), tmp_path, monkeypatch)
    assert ns["model"].evaluate(ns["data"].X_test, ns["data"].y_test)["accuracy"] > 0.9


# --- the guide's examples (the README's before it was cut short: the same checks) ---

def test_search_example(tmp_path, monkeypatch):
    page = DOCS / "search.md"
    ns = _run(page, _block(page, '"demo"'), tmp_path, monkeypatch)
    assert len(ns["df"]) == 30 and math.isfinite(ns["study"].best_value)


def test_own_data_example(tmp_path, monkeypatch):
    page = DOCS / "own-data.md"
    ns = _run(page, _block(page, "hpsearch.tune("), tmp_path, monkeypatch)
    study = ns["study"]
    assert study.dataset().preprocessing.classes == ("benign", "malignant")
    assert ns["test"]["accuracy"] > 0.9
    row = study.results().set_index("trial").loc[study.best_trial["trial"]]
    best = study.best_model().evaluate(study.dataset().X_test, study.dataset().y_test)
    assert best == {"loss": row["test_loss"], "accuracy": row["test_accuracy"]}
    assert (tmp_path / "cancer.npz").exists()
    assert ns["final"].sizes == ns["kept"].sizes and ns["final"].sizes[0] == 30
    assert set(ns["answers"]) <= {0, 1} and ns["proba"].shape == (5, 2)
    assert set(ns["diagnoses"]) <= {"benign", "malignant"}
    assert (ns["shipped"].params == ns["final"].params).all()


def test_several_objectives_example(tmp_path, monkeypatch):
    page = DOCS / "search.md"
    ns = _run(page, _block(page, "best_trials"), tmp_path, monkeypatch)
    front, df = ns["front"], ns["df"]
    assert len(df) == 12 and not front.empty
    assert list(front.columns[:3]) == ["trial", "val_loss", "n_params"]
    assert (tmp_path / "pareto.png").stat().st_size > 0


def test_netcore_example(tmp_path, monkeypatch):
    page = DOCS / "netcore.md"
    ns = _run(page, _block(page, "netcore.MLP([64"), tmp_path, monkeypatch)
    assert ns["model"].evaluate(ns["data"].X_test, ns["data"].y_test)["accuracy"] > 0.9
    assert (tmp_path / "digits_mlp.npz").exists()


@pytest.mark.parametrize(("page", "marker"), [(DOCS / "lr-finder.md", "lr_range_test"),
                                              (DOCS / "netcore.md", "GradientNormMonitor")],
                         ids=["lr_range_test", "GradientNormMonitor"])
def test_mnist_examples(tmp_path, monkeypatch, mnist_available, page, marker):
    ns = _run(page, _block(page, marker), tmp_path, monkeypatch)
    assert ns  # ran to the end


def test_every_other_python_block_runs(tmp_path, monkeypatch, request):
    for i, (page, block) in enumerate(_unclaimed()):
        if 'load_dataset("mnist")' in block:
            request.getfixturevalue("mnist_available")
        folder = tmp_path / str(i)
        folder.mkdir()
        assert _run(page, block, folder, monkeypatch), page.name


# --- shell blocks: not run, but every hpsearch command in them is a real one ---

def _commands() -> list[list[str]]:
    """The words of every ``hpsearch ...`` command in the bash blocks, ``[optional]``
    brackets and comments removed, split at ``&`` and ``&&``."""
    found = []
    for page in PAGES:
        for block in _blocks(page, "bash"):
            for line in block.splitlines():
                code = re.sub(r"(^|\s)#.*", "", line).replace("[", " ").replace("]", " ")
                for part in re.split(r"&&?", code):
                    words = shlex.split(part)
                    if words and Path(words[0]).name == "hpsearch":
                        found.append(words[1:])
    return found


# One process asks the command's entry point for each usage in turn (a process per command
# would spend seconds importing hpsearch again and again): {command: [exit status, usage]}.
_HELP = """
import contextlib, io, json, sys
from hpsearch.cli.main import main
usages = {}
for command in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([*([command] if command else []), "--help"])
        except SystemExit as stop:
            usages[command] = [stop.code or 0, out.getvalue()]
print(json.dumps(usages))
"""


def _usages(commands: set[str]) -> dict[str, str]:
    """``hpsearch COMMAND --help`` (the top level for "") for each command, in a subprocess:
    each command's usage text."""
    result = subprocess.run([sys.executable, "-c", _HELP, *sorted(commands)], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    usages = json.loads(result.stdout)
    for command in commands:
        status, _ = usages.get(command, [None, ""])
        assert status == 0, f"hpsearch {command} --help: no such command ({result.stderr.strip()})"
    return {command: usage for command, (_, usage) in usages.items()}


def test_the_shell_examples_use_real_commands_and_flags():
    commands = [("" if words[0].startswith("-") else words[0], words) for words in _commands()]
    assert len(commands) >= 20
    usages = _usages({command for command, _ in commands})
    for command, words in commands:
        flags = [w.split("=")[0] for w in words if w.startswith("--")]
        missing = [f for f in flags if not re.search(rf"{re.escape(f)}\b", usages[command])]
        assert not missing, f"hpsearch {' '.join(words)}: no such flag {missing}"


def test_the_spec_example_is_a_valid_spec(tmp_path):
    (spec,) = _blocks(DOCS / "specs.md", "toml")
    (tmp_path / "spec.toml").write_text(spec, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "hpsearch", "validate", "spec.toml"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
