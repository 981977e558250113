"""The two sliders of chapters 2 and 4: noise width (kappa) and number of Euler steps K.

* Live ipywidgets UIs that recompute and redraw a matplotlib figure, all built by :func:`two_slider_ui` (two
  sliders above an output that one draw function fills): :func:`live_paths_explorer` (chapter 2) and
  :func:`kappa_k_widget` (chapter 4). They need a running kernel (Jupyter, Colab); in the static book page the
  sliders render but the plot cannot change.
* :func:`static_paths_explorer`: a plotly figure with two sliders over a precomputed grid (:func:`path_grid`),
  which works in the static page without a kernel (chapter 4's is :func:`floq_lite.plotting.design.kappa_k_plotly`;
  both are built by :func:`floq_lite.plotting.sliders.two_slider_plotly`).

ipywidgets and plotly are imported lazily, inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from floq_lite.studies import curvature, design
from floq_lite.flow import GaussianMixture
from floq_lite.plotting import design as design_plots
from floq_lite.plotting import paths as plots

DEFAULT_KAPPAS: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)
DEFAULT_KS: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
NUM_PATHS = 10  # start points of chapter 2's two explorers: the same points give the same numbers in both
FINE_POINTS = 257  # samples of the exact path behind the error and straightness both explorers print


def _explorer_numbers(source, target, z0: np.ndarray, ks: Sequence[int]) -> tuple[np.ndarray, np.ndarray, float]:
    """Euler paths ``(B, K_max + 1, N)`` for every K of ``ks``, their RMS end-point errors ``(B,)`` against the exact
    flow, and the exact paths' straightness S: what both chapter-2 explorers show, computed in one place."""
    fine = curvature.exact_paths(source, target, z0, np.linspace(0.0, 1.0, FINE_POINTS))  # (FINE_POINTS, N)
    sol = curvature.euler_paths(source, target, z0, ks)  # (B, K_max + 1, N)
    errors = np.sqrt(np.mean((sol[:, -1] - fine[-1]) ** 2, axis=1))
    return sol, errors, float(np.mean(np.asarray(curvature.straightness_from_path(fine))))


def path_grid(
    kappas: Sequence[float] = DEFAULT_KAPPAS,
    ks: Sequence[int] = DEFAULT_KS,
    *,
    num_paths: int = NUM_PATHS,
    path_points: int = 65,
    **problem,
) -> plots.PathGrid:
    """Exact and Euler paths of ``floq_problem(kappa=k, **problem)`` for every (kappa, K): the static figure's data."""
    if len(kappas) == 0:
        raise ValueError("path_grid needs at least one noise width in kappas.")
    ts = np.linspace(0.0, 1.0, path_points)
    exact, solver, errors, straight, intervals = [], [], [], [], []
    target = None
    for kappa in kappas:
        source, target = curvature.floq_problem(kappa=kappa, **problem)
        z0 = np.asarray(curvature.start_points(source, num_paths), dtype=np.float64)
        exact.append(curvature.exact_paths(source, target, z0, ts))  # (T, N), the drawn paths
        sol, err, s = _explorer_numbers(source, target, z0, ks)
        solver.append(sol)
        errors.append(err)
        straight.append(s)
        intervals.append((source.low, source.high))
    return plots.PathGrid(
        kappas=np.asarray(kappas, dtype=float),
        ks=np.asarray(ks, dtype=int),
        ts=ts,
        exact=np.stack(exact),
        solver=np.stack(solver),
        errors=np.stack(errors),
        straightness=np.asarray(straight),
        intervals=np.asarray(intervals),
        target_means=np.asarray(target.means),  # type: ignore[union-attr]
    )


def static_paths_explorer(grid: plots.PathGrid | None = None, **grid_kwargs):
    """The kernel-free two-slider plotly figure (build ``grid`` with :func:`path_grid`, or pass its arguments)."""
    return plots.two_slider_figure(grid if grid is not None else path_grid(**grid_kwargs), active=(2, 2))


def draw_explorer(kappa: float, num_steps: int, *, num_paths: int = NUM_PATHS, **problem) -> plt.Figure:
    """The live explorer's figure for one slider setting: exact paths, Euler steps, and the numbers (the same
    numbers as the kernel-free figure's caption for the same setting)."""
    source, target = curvature.floq_problem(kappa=kappa, **problem)
    z0 = np.asarray(curvature.start_points(source, num_paths), dtype=np.float64)
    ts = np.linspace(0.0, 1.0, 129)
    exact = curvature.exact_paths(source, target, z0, ts)
    sols, errs, s = _explorer_numbers(source, target, z0, [num_steps])
    sol, err = sols[0], float(errs[0])  # (K + 1, N), a scalar
    fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
    plots.draw_paths(ax, ts, exact, sol, num_steps)
    z_range = (min(source.low, float(exact.min())) - 2.0, max(source.high, float(exact.max())) + 2.0)
    plots.draw_target(ax, target, z_range)
    ax.axhspan(source.low, source.high, xmax=0.02, color="tab:red", alpha=0.5)
    ax.set_ylim(*z_range)
    ax.set_ylabel("z")
    ax.set_title(f"noise [{source.low:g}, {source.high:g}], K={num_steps}: RMS error {err:.2f}, straightness S={s:.1f}")
    ax.legend(loc="lower left", fontsize=8)
    return fig


def two_slider_ui(first: Any, second: Any, draw: Callable[[Any, Any], Any]):
    """The live UI pattern: two ipywidgets sliders above an output area that ``draw(first.value, second.value)``
    redraws (a matplotlib figure, shown with ``plt.show()``) whenever either slider moves; drawn once at the start.

    Returns the widget (``VBox([HBox([first, second]), output])``); display it with ``display(widget)``.
    """
    import ipywidgets as widgets  # lazy: only the live UI needs it

    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            draw(first.value, second.value)
            plt.show()

    first.observe(redraw, names="value")
    second.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([first, second]), out])


def live_paths_explorer(
    kappas: Sequence[float] = DEFAULT_KAPPAS, ks: Sequence[int] = (1, 2, 3, 4, 6, 8, 12, 16, 32, 64), **problem
):
    """Two ipywidgets sliders (noise width kappa, steps K) that redraw :func:`draw_explorer`; returns the widget.

    Display it with ``display(widget)``. Every change recomputes the paths (a few ms after the first compile).
    """
    import ipywidgets as widgets  # lazy: only the live UI needs it

    kappa = widgets.SelectionSlider(options=[(f"{k:g}", k) for k in kappas], value=kappas[len(kappas) // 2],
                                    description="kappa", continuous_update=False)
    steps = widgets.SelectionSlider(options=list(ks), value=ks[min(3, len(ks) - 1)], description="K steps",
                                    continuous_update=False)
    return two_slider_ui(kappa, steps, lambda k, n: draw_explorer(k, n, **problem))


def kappa_k_widget(q_min: float = -100.0, target: GaussianMixture | None = None, num_paths: int = 21):
    """Chapter 4's live sliders: a log slider for kappa, a selection slider for K, redrawing
    :func:`floq_lite.plotting.design.plot_kappa_k_cell`; returns the widget (display it with ``display(widget)``).

    Each new kappa is computed once (all K together) and cached.
    """
    import ipywidgets as widgets  # lazy: only the live UI needs it

    cache: dict[float, design.KappaKGrid] = {}
    Ks = (1, 2, 4, 8, 16, 32)
    kappa0, k0 = design_plots.LIVE_START
    kappa_w = widgets.FloatLogSlider(value=kappa0, base=10, min=-2, max=0, step=0.1, description="κ",
                                     continuous_update=False, readout_format=".2f")
    k_w = widgets.SelectionSlider(options=Ks, value=k0, description="K", continuous_update=False)

    def draw(kappa, K):
        key = round(float(kappa), 4)
        if key not in cache:
            cache[key] = design.kappa_k_grid((key,), Ks, target, q_min, num_paths=num_paths, num_points=201)
        return design_plots.plot_kappa_k_cell(cache[key], 0, Ks.index(K))

    return two_slider_ui(kappa_w, k_w, draw)
