"""Figures that need no display, and show once as a cell's result in a notebook.

Every plot of netcore and hpsearch returns a ``NotebookFigure``: a plain
``matplotlib.figure.Figure`` built without pyplot. It leaves no figure open in
pyplot's registry, works under any backend (or none: nothing is shown, it is
saved with ``savefig``) and from any thread. Jupyter's inline backend shows
the figures of pyplot's registry when a cell ends and, besides, the figure a
cell returns: a pyplot figure returned by a plot function would appear twice.
A ``NotebookFigure`` is shown once, by its ``_repr_png_``, even when pyplot
was never imported (the inline backend's figure display is set up only then).
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


class NotebookFigure(Figure):
    """A ``matplotlib.figure.Figure`` that IPython shows as a PNG image."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def new_figure(*, figsize: tuple[float, float], layout: str | None = None) -> NotebookFigure:
    """A new figure of ``figsize`` inches (``layout``: matplotlib's, e.g. "constrained")."""
    return NotebookFigure(figsize=figsize, layout=layout)
