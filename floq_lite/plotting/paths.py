"""Figures for chapter 2: curved marginal paths, solver steps on top of them, and errors against K.

Matplotlib for the static figures; :func:`two_slider_figure` builds the kernel-free plotly figure (noise width x K)
from a precomputed :class:`PathGrid` with the shared builder of :mod:`floq_lite.plotting.sliders`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from floq_lite.flow import EVALS_PER_STEP, exact
from floq_lite.plotting.sliders import polylines, two_slider_plotly

EXACT_COLOR = "0.55"
EULER_COLOR = "tab:orange"
METHOD_COLORS = {"euler": "tab:orange", "midpoint": "tab:blue", "rk4": "tab:green"}


def draw_target(ax: Axes, target: exact.GaussianMixture, z_range: tuple[float, float], scale: float = 0.12) -> None:
    """The target density as a profile hanging off the right edge (t = 1) of a (t, z) plot."""
    z = np.linspace(*z_range, 400)
    dens = np.exp(np.asarray(target.log_density(z)))
    ax.fill_betweenx(z, 1.0, 1.0 + scale * dens / dens.max(), color="tab:purple", alpha=0.35, lw=0, clip_on=False)


def draw_paths(
    ax: Axes,
    ts: np.ndarray,
    exact_zs: np.ndarray,
    solver_zs: np.ndarray | None = None,
    num_steps: int | None = None,
    *,
    label: str = "Euler",
) -> None:
    """Exact paths ``exact_zs`` ``(T, N)`` at times ``ts`` ``(T,)`` in grey; solver states ``(K + 1, N)`` on top."""
    ax.plot(ts, exact_zs, color=EXACT_COLOR, lw=1.0)
    if solver_zs is not None:
        k = solver_zs.shape[0] - 1 if num_steps is None else num_steps
        t_steps = np.linspace(0.0, 1.0, k + 1)
        ax.plot(t_steps, solver_zs[: k + 1], color=EULER_COLOR, lw=1.3, marker="o", ms=3)
        ax.plot([], [], color=EULER_COLOR, marker="o", ms=3, label=f"{label}, K={k}")
    ax.plot([], [], color=EXACT_COLOR, label="exact paths")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("t")


def plot_conditional_vs_marginal(
    source: exact.Uniform,
    target: exact.GaussianMixture,
    z0_pairs: np.ndarray,
    x1_pairs: np.ndarray,
    ts: np.ndarray,
    exact_zs: np.ndarray,
) -> Figure:
    """Left: straight conditional lines between random pairs. Right: the marginal flow's paths (never crossing)."""
    fig, axes = plt.subplots(1, 2, figsize=(7.8, 3.8), sharey=True, constrained_layout=True)
    for z0, x1 in zip(np.asarray(z0_pairs), np.asarray(x1_pairs)):
        axes[0].plot([0.0, 1.0], [z0, x1], color="tab:blue", alpha=0.5, lw=0.9)
    axes[0].set_title("conditional paths: straight, they cross")
    axes[0].set_ylabel("z")
    draw_paths(axes[1], ts, exact_zs)
    axes[1].set_title("marginal paths of v(t, z): curved, never crossing")
    z_range = axes[0].get_ylim()
    for ax in axes:
        ax.axhspan(source.low, source.high, xmax=0.03, color="tab:red", alpha=0.4)
        draw_target(ax, target, z_range)
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("t")
    return fig


def plot_widths(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    target: exact.GaussianMixture,
    z_range: tuple[float, float],
) -> Figure:
    """One panel per noise width: ``(title, ts, exact_zs (T, N), solver_zs (K + 1, N))``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(min(7.8, 2.8 * len(panels)), 3.2), sharey=True, constrained_layout=True)
    for ax, (title, ts, exact_zs, solver_zs) in zip(np.atleast_1d(axes), panels):
        draw_paths(ax, ts, exact_zs, solver_zs)
        draw_target(ax, target, z_range)
        ax.set_ylim(*z_range)
        ax.set_title(title)
    np.atleast_1d(axes)[0].set_ylabel("z")
    np.atleast_1d(axes)[0].legend(loc="lower left", fontsize=8)
    return fig


def plot_error_vs_steps(
    ax: Axes,
    ks: np.ndarray,
    errors: Mapping[str, np.ndarray],
    *,
    per_evaluation: bool = False,
    styles: Mapping[str, dict] | None = None,
    slope_guides: Sequence[int] = (1,),
) -> None:
    """Log-log error against K (or against field evaluations ``K * evals_per_step``), with ``K^-p`` guide lines."""
    ks = np.asarray(ks, dtype=float)
    for name, err in errors.items():
        method = name.split()[0]
        x = ks * EVALS_PER_STEP.get(method, 1) if per_evaluation else ks
        style = {"marker": "o", "ms": 4, "color": METHOD_COLORS.get(method)}
        style.update((styles or {}).get(name, {}))
        ax.loglog(x, err, label=name, **style)
    first = max(float(np.max(e[0:1])) for e in errors.values())
    for p in slope_guides:
        ax.loglog(ks, first * ks ** (-float(p)), color="k", ls=":", lw=1)
        ax.annotate(f"slope -{p}", (ks[-1], first * ks[-1] ** (-float(p))), fontsize=8, ha="right", va="bottom")
    ax.set_xlabel("field evaluations" if per_evaluation else "steps K")
    ax.set_ylabel("RMS end-point error")
    ax.legend(fontsize=8)


# ---------------------------------------------------------------------------------------------------------------------
# Kernel-free plotly figure with two sliders
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathGrid:
    """Precomputed paths on a (noise width x K) grid.

    Attributes:
      kappas: noise widths as fractions of the Q range, ``(A,)``; ``ks``: step counts, ``(B,)``.
      ts: times of the exact paths, ``(T,)``; ``exact``: exact paths per width, ``(A, T, N)``.
      solver: solver states per width and K, ``(A, B, max K + 1, N)`` (row j is valid up to index ``ks[j]``).
      errors: RMS end-point error per cell, ``(A, B)``; ``straightness``: mean ``S`` per width, ``(A,)``.
      intervals: ``(A, 2)`` noise interval ``[l, u]`` per width; ``target_means``: ``(C,)``.
    """

    kappas: np.ndarray
    ks: np.ndarray
    ts: np.ndarray
    exact: np.ndarray
    solver: np.ndarray
    errors: np.ndarray
    straightness: np.ndarray
    intervals: np.ndarray
    target_means: np.ndarray


def _cell_text(grid: PathGrid, a: int, b: int) -> str:
    return (
        f"kappa={grid.kappas[a]:g}, K={grid.ks[b]}: RMS error {grid.errors[a, b]:.2f}, "
        f"straightness S={grid.straightness[a]:.1f}"
    )


def two_slider_figure(grid: PathGrid, *, active: tuple[int, int] = (0, 0), z_range: tuple[float, float] | None = None):
    """A plotly figure with a noise-width slider and a K slider that works without a kernel.

    Built by :func:`floq_lite.plotting.sliders.two_slider_plotly`: the width slider restyles ``visible`` (it shows
    the traces of width ``a`` and hides the others); the K slider restyles the *data* (``x``, ``y``, ``text``) of
    every width's solver and caption traces, writing the K-step paths of all widths at once. Traces per width:
    exact paths, solver paths, interval marker, caption (4 per width); plus one always-visible trace of target means.
    """
    lo = float(min(grid.intervals[:, 0].min(), grid.exact.min())) if z_range is None else z_range[0]
    hi = float(max(grid.intervals[:, 1].max(), grid.exact.max())) if z_range is None else z_range[1]
    cap_y = hi + 0.02 * (hi - lo)
    exact_xy = [polylines(grid.ts, grid.exact[a]) for a in range(len(grid.kappas))]

    def traces_for(a: int, b: int) -> list[dict]:
        k = int(grid.ks[b])
        sx, sy = polylines(np.linspace(0.0, 1.0, k + 1), grid.solver[a, b, : k + 1])
        l, u = grid.intervals[a]
        return [
            dict(type="scatter", x=exact_xy[a][0], y=exact_xy[a][1], mode="lines", line=dict(color="#8c8c8c", width=1),
                 name="exact paths", hoverinfo="skip", legendgroup="exact", showlegend=True),
            dict(type="scatter", x=sx, y=sy, mode="lines+markers", line=dict(color="#ff7f0e", width=1.5),
                 marker=dict(size=4), name="Euler steps", legendgroup="euler"),
            dict(type="scatter", x=[0, 0], y=[float(l), float(u)], mode="lines", line=dict(color="#d62728", width=8),
                 name="noise interval [l, u]", legendgroup="noise"),
            dict(type="scatter", x=[0.5], y=[cap_y], mode="text", text=[_cell_text(grid, a, b)], showlegend=False,
                 hoverinfo="skip"),
        ]

    target_means = dict(type="scatter", x=[1.0] * len(grid.target_means), y=np.round(grid.target_means, 3).tolist(),
                        mode="markers", marker=dict(symbol="triangle-left", size=11, color="#9467bd"),
                        name="target means")
    layout = dict(
        xaxis=dict(title="t", range=[-0.02, 1.05]),
        yaxis=dict(title="z", range=[lo - 0.03 * (hi - lo), cap_y + 0.05 * (hi - lo)]),
        height=520,
        width=760,  # inside the page's ~780 px column, so both slider rails are in view (and clickable)
        autosize=False,
        margin=dict(l=60, r=45, t=30, b=10),  # r: room for the vertical toolbar
        legend=dict(orientation="h", y=1.08, x=0.0),
        template="plotly_white",
    )
    return two_slider_plotly(grid.kappas, grid.ks, traces_for, "noise width kappa", "Euler steps K", visible_by="a",
                             restyled=(1, 3), static_traces=[target_means], layout=layout, active=active)
