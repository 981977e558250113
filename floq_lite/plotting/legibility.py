"""Checks of a drawn matplotlib figure that a reader would otherwise find by squinting: legends over the data.

``legend_overlaps(fig)`` draws the figure and reports every plotted line whose drawn length runs under a legend box
(legends have an opaque background, so that part of the curve is hidden). Lines are sampled densely along their
segments in display space, so a curve that only crosses the box between two data points is found too. Bands
(``fill_between``) and images are not checked: a legend over a translucent band hides no data point.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

SAMPLES_PER_SEGMENT = 20


def _hidden_fraction(line, box) -> float:
    """Share of ``line``'s drawn length (in display space) that lies inside ``box``."""
    xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))  # (P, 2) pixels
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2:
        inside = [box.contains(*p) for p in xy]
        return float(np.mean(inside)) if inside else 0.0
    a = np.linspace(0.0, 1.0, SAMPLES_PER_SEGMENT, endpoint=False)[None, :, None]  # (1, S, 1)
    pts = (xy[:-1, None] + a * (xy[1:, None] - xy[:-1, None])).reshape(-1, 2)  # (P-1 * S, 2)
    inside = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
    return float(inside.mean())


def legend_overlaps(fig: Figure, tolerance: float = 0.0, renderer=None) -> list[str]:
    """One message per (axes, line) whose share of length under a legend of the same axes exceeds ``tolerance``.
    Draws the figure first unless a ``renderer`` that has just drawn it is given."""
    if renderer is None:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
    problems = []
    for i, ax in enumerate(fig.axes):
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            box = legend.get_window_extent(renderer)
            for line in ax.get_lines():
                drawn = line.get_linestyle() not in ("None", "") or line.get_marker() not in ("None", "")
                if not (line.get_visible() and drawn):
                    continue
                share = _hidden_fraction(line, box)
                if share > tolerance:
                    name = ax.get_title() or f"axes {i}"
                    problems.append(f"{name}: {100 * share:.0f}% of line {line.get_label()!r} is under the legend")
    return problems


def legend_beside(ax, *, fontsize: float = 8, **kwargs) -> None:
    """The axes' legend to the right of its frame, where no curve can run under it."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=fontsize, **kwargs)


def legend_below(fig: Figure, ax, *, ncol: int | None = None, fontsize: float = 8) -> None:
    """One legend for the whole figure, from ``ax``'s labelled artists, under the panels; then lays the figure
    out with room for it (``tight_layout``). For panels that share their entries."""
    handles, labels = ax.get_legend_handles_labels()
    ncol = ncol or min(len(labels), 4)
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=fontsize, frameon=False)
    row_in = 1.5 * fontsize / 72  # one legend row, in inches
    fig.tight_layout(rect=(0, min(0.4, (rows * row_in + 0.05) / fig.get_figheight()), 1, 1))


class LegendOverData(AssertionError):
    """A figure was drawn with a curve under its legend (raised by the check :func:`install_legend_check` adds)."""


def _check_when_drawn(fig: Figure) -> None:
    def check(event) -> None:
        problems = legend_overlaps(fig, renderer=event.renderer)
        if problems:
            raise LegendOverData("legend over the data (move it off the curves): " + "; ".join(problems))

    fig.canvas.mpl_connect("draw_event", check)


def install_legend_check() -> None:
    """From now on every pyplot figure is checked each time it is drawn (shown inline, saved): a curve under its
    legend raises :class:`LegendOverData`, so a notebook cell that shows such a figure fails. ``floq_lite.plotting``
    calls this when ``FLOQ_CHECK_LEGENDS=1`` (``make test`` sets it for the notebooks and the smoke build)."""
    import matplotlib

    hook = f"{__name__}:_check_when_drawn"
    if hook not in matplotlib.rcParams["figure.hooks"]:
        matplotlib.rcParams["figure.hooks"] = [*matplotlib.rcParams["figure.hooks"], hook]


__all__ = ["LegendOverData", "install_legend_check", "legend_beside", "legend_below", "legend_overlaps"]
