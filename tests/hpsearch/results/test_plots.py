"""The study plots draw on a small study; importances skip parameters that never varied."""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import pytest

import hpsearch
from hpsearch import space
from hpsearch.results import plots


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plots")
    study = hpsearch.Study.create(
        "plots", dataset="digits", strategy="random", storage=f"sqlite:///{folder / 'p.db'}",
        space={"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[8], [16, 8]]),
               "activation": space.choice(["relu"]),  # one value: it never varies
               "optimizer": space.choice(["sgd", "momentum"]),
               "momentum": space.float(0.5, 0.9, when={"optimizer": ["momentum"]}),
               "batch_size": space.fixed(32)},
        epochs=2, max_train=200, seed=0)
    study.run(n_trials=8, progress=False)
    return study


def test_importances_skip_and_name_a_constant_parameter(study, caplog):
    assert plots.constant_parameters(study) == ["activation"]
    with caplog.at_level(logging.INFO, logger="hpsearch.results.plots"):
        fig = plots.plot_importances(study)
    assert any("skipped ['activation']" in r.getMessage() for r in caplog.records)
    bars = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "activation" not in bars and "lr" in bars
    assert "never varied: activation" in fig.axes[0].get_xlabel()
    plt.close(fig)


def test_parallel_coordinates_label_axes_and_have_a_colour_bar(study):
    fig = plots.plot_parallel(study)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"[8]", "[16, 8]", "sgd", "momentum", "relu"} <= texts
    lr = study.results()["lr"]
    assert {f"{lr.min():.3g}", f"{lr.max():.3g}"} <= texts  # real values at the ends
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "val_loss"  # the colour bar
    plt.close(fig)


def test_slices_draw_the_best_trial_last_and_in_view(study):
    fig = plots.plot_slices(study)
    best = study.best_trial
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_xlabel() not in best["params"]:
            continue  # a hidden panel, or a parameter inactive in the best trial
        star = ax.collections[-1]
        assert star.get_offsets()[0][1] == pytest.approx(best["value"])
        low, high = ax.get_ylim()
        assert low <= best["value"] <= high
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == f"best (trial {best['trial']})"
    plt.close(fig)


def test_write_plots_writes_every_plot(study, tmp_path):
    paths = plots.write_plots(study, tmp_path)
    assert [p.stem for p in paths] == list(plots.PLOTS)


def test_every_plot_is_a_figure_outside_pyplot_that_ipython_shows_as_a_png(study):
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.figure import Figure

    figures = {name: make(study) for name, make in plots.PLOTS.items()}
    # Not in pyplot's registry: the inline backend does not show them again at a cell's end.
    assert plt.get_fignums() == []
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        data, _ = DisplayFormatter().format(fig)
        assert data["image/png"].startswith(b"\x89PNG\r\n\x1a\n"), name
