"""Notebooks: the example notebook runs headless in a real Jupyter kernel and shows the
study's HTML view, its figures and a progress widget; a figure a plot returns shows once,
whether or not pyplot is in use; in a terminal the progress bar stays text."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "studies" / "notebook_digits.ipynb"


def _execute(notebook, tmp_path: Path, folder: Path):
    """Run ``notebook`` in ``folder`` on a kernel of this interpreter (a spec written for
    it: never another Python's "python3" kernel found first on the Jupyter path)."""
    kernels = tmp_path / "kernels"
    write_kernel_spec(kernels / "this-python")
    manager = KernelManager(kernel_name="this-python",
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    NotebookClient(notebook, km=manager, timeout=120,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _types(cell) -> list[str]:
    return [kind for output in cell.outputs for kind in output.get("data", {})]


def test_the_example_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def test_the_example_notebook_runs_and_shows_the_study_a_figure_and_a_progress_widget(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder)
    cells = _execute(nbformat.read(NOTEBOOK, as_version=4), tmp_path, folder)
    source = {cell.source.splitlines()[0]: cell for cell in cells}
    assert (folder / "notebook.db").is_file()  # the study lives beside the notebook
    run = source["results = study.run(n_trials=12, n_jobs=2)"]
    assert "application/vnd.jupyter.widget-view+json" in _types(run)  # tqdm.auto's widget
    view = source["study"].outputs[0].data["text/html"]
    assert "<div class='hpsearch-study'>" in view and "12 of 12 finished" in view
    assert "leaderboard: the best 5 complete trials" in view
    for plot in ("plots.plot_history(study)", "plots.plot_learning_curves(study)"):
        assert _types(source[plot]).count("image/png") == 1, plot  # shown once
    printed = "".join(o.get("text", "") for o in source["data = study.dataset()"].outputs)
    assert printed.startswith("predicted: [") and "accuracy" in \
        source["data = study.dataset()"].outputs[-1].data["text/plain"]


FIGURE = ("from netcore.figures import new_figure\n"
          "fig = new_figure(figsize=(2, 2))\n"
          "fig.subplots().plot([1, 2])\n"
          "fig")


def test_a_returned_figure_shows_once_before_and_after_pyplot_is_in_use(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        FIGURE,  # pyplot never imported: the figure shows itself
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()",  # the inline backend
        FIGURE)])  # the inline backend's display of figures is set up now
    before, pyplot, after = _execute(notebook, tmp_path, tmp_path)
    assert _types(pyplot).count("image/png") == 1
    assert _types(before).count("image/png") == 1 and _types(after).count("image/png") == 1


def test_the_lr_finder_and_gradient_monitor_plots_are_figures_a_notebook_shows():
    import hpsearch
    import netcore
    from netcore.figures import NotebookFigure

    data = netcore.load_dataset("digits")
    result = hpsearch.lr_range_test({"sizes": [64, 16, 10], "seed": 0}, data, num_iter=20)
    monitor = netcore.GradientNormMonitor()
    netcore.fit(netcore.MLP([64, 16, 10], seed=0), data.X_train[:200], data.y_train[:200],
                epochs=1, callbacks=[monitor], seed=0)
    # The class whose display the kernel test above proves (its PNG: test_plots).
    assert isinstance(result.plot(), NotebookFigure) and isinstance(monitor.plot(), NotebookFigure)


def test_no_library_module_uses_pyplot_or_picks_a_backend():
    """pyplot's figures would show twice in a notebook, and ``matplotlib.use`` switched a
    notebook's own plots off: plots build ``netcore.figures`` figures instead."""
    found = []
    for path in [*ROOT.joinpath("hpsearch").rglob("*.py"), *ROOT.joinpath("netcore").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [f"{node.module}.{a.name}" for a in node.names] \
                if isinstance(node, ast.ImportFrom) else []
            calls_use = isinstance(node, ast.Call) and ast.unparse(node.func) == "matplotlib.use"
            if calls_use or any(n.startswith("matplotlib.pyplot") for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


TERMINAL_RUN = """
import hpsearch
from hpsearch import space
study = hpsearch.Study.create("bar", dataset="digits", storage="sqlite:///bar.db", epochs=1,
                              max_train=100, space={"lr": space.log_float(1e-3, 1e-1)})
study.run(n_trials=3)
"""


def test_in_a_terminal_the_progress_bar_is_text_on_stderr(tmp_path):
    done = subprocess.run([sys.executable, "-c", TERMINAL_RUN], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "bar:   0%|          | 0/3 [" in done.stderr  # tqdm's text bar, as before
    assert "IProgress" not in done.stderr and "widget" not in done.stderr
