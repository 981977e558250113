"""Kernel-free plotly figures with two sliders over a precomputed grid (chapter 2's width x K, chapter 4's kappa x K).

A static page has no kernel, and two plotly sliders cannot read each other's position. :func:`two_slider_plotly`
therefore lets them change *different properties*, so they commute: one slider restyles ``visible`` (it shows one
block of traces and hides the others), the other restyles only the *data* (``x``, ``y``, ``text``) of the traces.
Whatever order they are moved in, the visible traces show the cell of both sliders' positions.

plotly is imported lazily, inside the builder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

DATA_KEYS: tuple[str, ...] = ("x", "y", "text")


def polylines(ts: np.ndarray, zs: np.ndarray, decimals: int | None = 3) -> tuple[list, list]:
    """Paths ``(T, N)`` at times ``ts`` ``(T,)`` as one trace: x and y lists with ``None`` between paths (a gap).

    ``decimals`` rounds the values to keep the page small (``None``: full precision).
    """
    ts, zs = np.asarray(ts, dtype=float), np.asarray(zs, dtype=float)
    if decimals is not None:
        ts, zs = np.round(ts, 4), np.round(zs, decimals)
    xs, ys = [], []
    for n in range(zs.shape[1]):
        xs.extend(ts.tolist() + [None])
        ys.extend(zs[:, n].tolist() + [None])
    return xs, ys


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float, np.integer, np.floating)) else str(value)


def two_slider_plotly(
    a_values: Sequence[Any],
    b_values: Sequence[Any],
    traces_for: Callable[[int, int], list[dict]],
    a_label: str,
    b_label: str,
    *,
    visible_by: Literal["a", "b"] = "b",
    restyled: Sequence[int] | None = None,
    static_traces: Sequence[dict] = (),
    layout: dict | None = None,
    active: tuple[int, int] = (0, 0),
):
    """A plotly figure with two independent sliders over a precomputed grid; works without a kernel.

    Args:
      a_values, b_values: the grid axes; slider a comes first (left), slider b second.
      traces_for: ``traces_for(i, j)`` returns the trace dicts for ``a_values[i]``, ``b_values[j]``. Every cell
        returns the same number ``T`` of traces, whose non-data attributes (type, axes, colours) depend only on the
        index of the ``visible_by`` slider.
      visible_by: the slider that toggles visibility. The figure holds one block of ``T`` traces per value of that
        slider (block ``k`` visible when it is at ``k``); the other slider restyles the data of the blocks.
      restyled: positions within a block whose data the data slider rewrites (the others keep the data of the
        initial cell, for traces that depend only on the block). ``None``: every trace, in figure order; otherwise
        the update lists go position by position, each for every block, with the trace indices as second argument.
      static_traces: always-visible traces added after the blocks (never restyled).
      layout: further layout (axes, size, title); ``active``: the initial ``(i, j)``, also the sliders' positions.
    """
    import plotly.graph_objects as go  # lazy: plotly is only needed for these figures

    if visible_by not in ("a", "b"):
        raise ValueError(f"visible_by must be 'a' or 'b', got {visible_by!r}.")
    by_b = visible_by == "b"
    n_blocks, n_data = (len(b_values), len(a_values)) if by_b else (len(a_values), len(b_values))
    block0, data0 = (active[1], active[0]) if by_b else active

    def cell(block: int, d: int) -> list[dict]:
        return traces_for(d, block) if by_b else traces_for(block, d)

    cells = [[cell(k, d) for k in range(n_blocks)] for d in range(n_data)]  # cells[d][k]: T trace dicts
    T = len(cells[0][0])
    if any(len(traces) != T for row in cells for traces in row):
        raise ValueError("traces_for must return the same number of traces for every cell of the grid.")
    fig = go.Figure()
    for k in range(n_blocks):
        for tr in cells[data0][k]:
            fig.add_trace(dict(tr, visible=(k == block0)))
    for tr in static_traces:
        fig.add_trace(dict(tr))

    order = [(k, m) for k in range(n_blocks) for m in range(T)] if restyled is None else \
        [(k, m) for m in restyled for k in range(n_blocks)]
    keys = [key for key in DATA_KEYS if any(key in cells[d][k][m] for d in range(n_data) for k, m in order)]
    data_steps = []
    for d in range(n_data):
        update = {key: [cells[d][k][m].get(key) for k, m in order] for key in keys}
        args = [update] if restyled is None else [update, [k * T + m for k, m in order]]
        data_steps.append(dict(method="restyle", args=args))
    visible_steps = [
        dict(method="restyle",
             args=[{"visible": [kk == k for kk in range(n_blocks) for _ in range(T)] + [True] * len(static_traces)}])
        for k in range(n_blocks)
    ]
    a_steps, b_steps = (data_steps, visible_steps) if by_b else (visible_steps, data_steps)
    for steps, values in ((a_steps, a_values), (b_steps, b_values)):
        for step, value in zip(steps, values):
            step["label"] = _label(value)

    fig.update_layout(
        modebar=dict(orientation="v"),  # the toolbar down the right edge: along the top it covered legend entries
        sliders=[
            dict(active=active[0], steps=a_steps, currentvalue=dict(prefix=f"{a_label} = "), pad=dict(t=40), y=0,
                 len=0.45, x=0.0),
            dict(active=active[1], steps=b_steps, currentvalue=dict(prefix=f"{b_label} = "), pad=dict(t=40), y=0,
                 len=0.45, x=0.55),
        ],
    )
    if layout:
        fig.update_layout(layout)
    return fig
