"""Chapter 4, floq's design choices: the figures (the numbers behind them are in :mod:`floq_lite.studies.design`).

Sections follow the chapter:

1. noise interval: :func:`plot_paths_narrow_wide`, :func:`plot_error_vs_K` (from a
   :class:`~floq_lite.studies.design.KappaKGrid`);
2. HL-Gauss embedding of ``z``: :func:`plot_hl_gauss`, :func:`plot_embedding_comparison`;
3. time features: :func:`plot_time_features`;
4. why the actor reads a distilled critic: :func:`plot_compute_graph`;
5. the sum over ``R`` in the flow-matching loss: :func:`plot_sum_vs_mean`;
6. sliders for ``kappa`` and ``K``: :func:`kappa_k_plotly` (kernel-free, two sliders, built by
   :func:`floq_lite.plotting.sliders.two_slider_plotly`) and :func:`plot_kappa_k_cell` (one setting, drawn by the
   live widget :func:`floq_lite.widgets.kappa_k_widget`).

The figure functions return the figure and leave ``plt.show()`` / ``fig.show()`` to the notebook.
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from floq_lite.studies.design import KappaKGrid, embedding_sensitivity, mean_nonzero_fraction
from floq_lite.networks.embeddings import hl_gauss_embed, hl_gauss_support, minmax_embed, time_features
from floq_lite.plotting.sliders import polylines, two_slider_plotly
from floq_lite.plotting.legibility import legend_below, legend_beside

LIVE_START = (0.1, 8)  # (kappa, K) where chapter 4's live widget starts; its kernel-free figure starts there too

# ---------------------------------------------------------------------------------------------------------------------
# 1. The noise interval
# ---------------------------------------------------------------------------------------------------------------------


def _wide_over_two(height: float):
    """A column-wide figure: one wide panel on top, two below (three side by side would not fit ~780 px)."""
    fig = plt.figure(figsize=(7.8, height))
    grid = fig.add_gridspec(2, 2)
    return fig, (fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1]))


def plot_paths_narrow_wide(grid: KappaKGrid, kappa_idx: Sequence[int], K_idx: int, tier: str | None = None):
    """Euler paths for a few ``kappa`` (one panel each) at ``K = grid.Ks[K_idx]``, exact end values as ticks."""
    fig, axes = plt.subplots(1, len(kappa_idx), figsize=(min(7.8, 2.8 * len(kappa_idx)), 3.2), sharey=True)
    axes = np.atleast_1d(axes)
    K = grid.Ks[K_idx]
    for ax, i in zip(axes, kappa_idx):
        p = grid.paths[i][K_idx]
        ts = np.linspace(0, 1, K + 1)
        ax.axhspan(grid.kappas[i] * grid.q_min, 0.0, color="C1", alpha=0.12, label="noise interval")
        ax.plot(ts, p, color="C0", lw=1, alpha=0.8, marker="." if K <= 16 else None, ms=3)
        ax.plot(np.ones(grid.exact.shape[1]), grid.exact[i], "_", color="k", ms=8, alpha=0.3)
        ax.set_title(f"$\\kappa$ = {grid.kappas[i]:g}, K = {K}")
        ax.set_xlabel("flow time t")
    axes[0].set_ylabel("z (return)")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Euler paths of the exact field (black ticks: exact end values)" + _tier_note(tier), fontsize=10)
    fig.tight_layout()
    return fig


def plot_error_vs_K(grid: KappaKGrid, tier: str | None = None):
    """Left: integration error vs K per kappa. Right: how much of the target spread the output keeps."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.8, 3.6))
    for i, kappa in enumerate(grid.kappas):
        a1.plot(grid.Ks, grid.error[i], "o-", label=f"$\\kappa$={kappa:g}")
        a2.plot(grid.Ks, grid.spread[i], "o-", label=f"$\\kappa$={kappa:g}")
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(grid.Ks, [str(k) for k in grid.Ks])
        ax.set_xlabel("Euler steps K")
    a1.set_yscale("log")
    a1.set_ylabel("mean |Euler - exact| end value")
    a2.set_ylabel("std(output) / std(exact output)")
    a2.axhline(1.0, color="k", lw=0.8, ls=":")
    fig.suptitle("Exact field, Unif[$\\kappa q_{min}$, 0] to three narrow modes" + _tier_note(tier), fontsize=10)
    legend_below(fig, a2, ncol=len(grid.kappas))
    return fig


def _tier_note(tier: str | None) -> str:
    return f" (tier: {tier})" if tier else ""


# ---------------------------------------------------------------------------------------------------------------------
# 2. HL-Gauss embedding of z
# ---------------------------------------------------------------------------------------------------------------------


def plot_hl_gauss(q_min: float, q_max: float, zs: Sequence[float], sigmas: Sequence[float] = (0.75, 4.0, 16.0),
                  num_bins: int = 51, threshold: float = 1e-3):
    """One panel per sigma (in bin widths): the 50-bin encoding of each ``z`` in ``zs``, as step curves.

    Each title gives :func:`~floq_lite.studies.design.mean_nonzero_fraction`, the share of bins above ``threshold``
    averaged over returns spread evenly over the support (not over the few drawn ``zs``), as chapter 4 prints it."""
    support = np.asarray(hl_gauss_support(q_min, q_max, num_bins))
    centres = 0.5 * (support[1:] + support[:-1])
    fig, axes = plt.subplots(1, len(sigmas), figsize=(min(7.8, 2.8 * len(sigmas)), 3.2), sharex=True)
    for ax, sigma in zip(np.atleast_1d(axes), sigmas):
        probs = np.asarray(hl_gauss_embed(jnp.asarray(zs, jnp.float32)[:, None], jnp.asarray(support), sigma))
        for k, z in enumerate(zs):
            ax.step(centres, probs[k], where="mid", color=f"C{k}", label=f"z = {z:g}")
            ax.axvline(z, color=f"C{k}", ls=":", lw=0.8)
        share = mean_nonzero_fraction(q_min, q_max, sigma, threshold, num_bins)
        ax.set_title(f"$\\sigma$ = {sigma:g} bins: {100 * share:.0f}% of bins > {threshold:g}", fontsize=10)
        ax.set_xlabel("bin centre (return)")
    np.atleast_1d(axes)[0].set_ylabel("mass in bin")
    legend_below(fig, np.atleast_1d(axes)[0], ncol=len(zs))  # dotted: each z itself
    return fig


def plot_embedding_comparison(q_min: float, q_max: float, sigma: float = 16.0, num: int = 401, every: int = 5):
    """Left: the size of each input feature vs z. Middle and right: the encodings as functions of z (every
    ``every``-th bin), i.e. the basis the first layer sees z through, for ``sigma`` and for a narrow 0.75 bins;
    min-max scaling (one straight line) is drawn on both for comparison."""
    z = np.linspace(q_min, q_max, num)
    s = embedding_sensitivity(z, q_min, q_max, sigma)
    fig, (a1, a2, a3) = _wide_over_two(height=6.2)
    a1.plot(z, s["raw_norm"], label="raw z")
    a1.plot(z, s["minmax_norm"], label="min-max (z - q_min)/(q_max - q_min)")
    a1.plot(z, s["hl_gauss_norm"], label=f"HL-Gauss, $\\sigma$={sigma:g} bins (L2 norm)")
    a1.set_yscale("log")
    a1.set_xlabel("z")
    a1.set_title("size of the input", fontsize=10)
    a1.legend(fontsize=7)
    support = hl_gauss_support(q_min, q_max)
    for ax, sig in ((a2, sigma), (a3, 0.75)):
        probs = np.asarray(hl_gauss_embed(jnp.asarray(z, jnp.float32)[:, None], support, sig))
        ax.plot(z, probs[:, ::every], lw=1)
        ax2 = ax.twinx()
        ax2.plot(z, np.asarray(minmax_embed(z, q_min, q_max)), "k--", lw=1)
        ax2.set_ylabel("min-max feature (dashed)", fontsize=8)
        ax.set_xlabel("z")
        ax.set_ylabel("bin mass")
        ax.set_title(f"HL-Gauss features, $\\sigma$ = {sig:g} bins (every {every}th bin)", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------------
# 3. Time features
# ---------------------------------------------------------------------------------------------------------------------


def plot_time_features(num_steps: int = 8, dim: int = 64, show_k: Sequence[int] = (1, 2, 4, 16, 64)):
    """Left: ``cos(t)`` and a few Fourier features on [0, 1], Euler times marked. Right: distances between the
    feature vectors of the K Euler times, for both encodings (how different each step looks to the network)."""
    t = np.linspace(0, 1, 801)[:, None]
    ti = (np.arange(num_steps) / num_steps)[:, None]
    four = np.asarray(time_features(jnp.asarray(t), "fourier", dim))
    fig, (a1, a2, a3) = _wide_over_two(height=6.4)
    a1.plot(t[:, 0], np.cos(t[:, 0]), color="k", lw=2.5, label="cos(t) (released code)")
    for k in show_k:
        a1.plot(t[:, 0], four[:, k - 1], lw=0.9, alpha=0.8, label=f"cos({k}$\\pi$t)")
    for x in ti[:, 0]:
        a1.axvline(x, color="grey", lw=0.5, ls=":")
    a1.set_xlabel("t (dotted: Euler times i/K, K=%d)" % num_steps)
    legend_beside(a1, fontsize=7)
    a1.set_title("time features", fontsize=10)
    for ax, kind, title in ((a2, "cos", "cos(t): 1 number"), (a3, "fourier", f"Fourier: {dim} numbers")):
        f = np.asarray(time_features(jnp.asarray(ti), kind, dim))
        d = np.linalg.norm(f[:, None] - f[None], axis=-1)
        im = ax.imshow(d, cmap="viridis")
        ax.set_xticks(range(num_steps), [f"{i}/{num_steps}" for i in range(num_steps)], fontsize=7)
        ax.set_yticks(range(num_steps), [f"{i}/{num_steps}" for i in range(num_steps)], fontsize=7)
        ax.set_title(f"{title}: distance between Euler times", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------------
# 4. Why the actor reads a distilled critic
# ---------------------------------------------------------------------------------------------------------------------


def plot_compute_graph(num_steps: int = 4):
    """The actor's gradient path: through K field calls (flow critic) or through one call (distilled critic)."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7.8, 4.6), gridspec_kw=dict(height_ratios=[1.4, 1]))
    box = dict(boxstyle="round,pad=0.35", fc="#e8f0fb", ec="C0")
    zbox = dict(boxstyle="round,pad=0.25", fc="white", ec="grey")
    for ax in (a1, a2):
        ax.set_xlim(-0.5, 2 * num_steps + 1.5)
        ax.set_ylim(-1.3, 1.3)
        ax.axis("off")
    a1.text(-0.3, 1.15, "flow critic in the actor loss: $Q(s,a) = z_K$", fontsize=10, ha="left")
    a1.text(0, 0, "$z_0$", bbox=zbox, ha="center", va="center")
    for i in range(num_steps):
        xv, xz = 2 * i + 1, 2 * i + 2
        a1.text(xv, 0, "$v_\\theta$", bbox=box, ha="center", va="center")
        a1.annotate("", (xv - 0.35, 0), (xv - 0.7 if i else 0.3, 0), arrowprops=dict(arrowstyle="->"))
        a1.annotate("", (xz - 0.3, 0), (xv + 0.35, 0), arrowprops=dict(arrowstyle="->"))
        a1.text(xz, 0, f"$z_{i + 1}$" if i + 1 < num_steps else "$z_K$", bbox=zbox, ha="center", va="center")
        a1.annotate("", (xv, 0.3), (xv, 0.9), arrowprops=dict(arrowstyle="->", color="C2"))
        a1.annotate("", (xv, -0.95), (xz - 0.1, -0.35), arrowprops=dict(arrowstyle="->", color="C3", ls="--"))
    a1.text(num_steps, 1.0, "(s, a) enter every call", color="C2", ha="center", fontsize=9)
    a1.text(num_steps, -1.2, "dQ/da flows back through all K calls (K forward + K backward passes, K activations kept)",
            color="C3", ha="center", fontsize=9)
    a2.text(-0.3, 1.1, "distilled critic (what floq's actor uses)", fontsize=10, ha="left")
    a2.text(num_steps, 0, "$Q_\\psi(s, a)$", bbox=box, ha="center", va="center")
    a2.annotate("", (num_steps, 0.3), (num_steps, 0.9), arrowprops=dict(arrowstyle="->", color="C2"))
    a2.text(num_steps, -0.9, "dQ/da: one forward + one backward pass", color="C3", ha="center", fontsize=9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------------
# 5. The sum over R in the flow-matching loss
# ---------------------------------------------------------------------------------------------------------------------


def plot_sum_vs_mean(traj: dict[str, np.ndarray]):
    """Distance between the 'sum' and the 'mean' runs over training, per optimiser and parameter group."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    pairs = [("adam_sum", "adam_mean", "Adam: sum vs mean"), ("sgd_sum", "sgd_mean", "SGD: sum vs mean"),
             ("sgd_sum", "sgd_mean_scaled", "SGD: sum vs mean with field lr x R")]
    for a, b, label in pairs:
        for group, ls in (("theta", "-"), ("psi", ":")):
            d = np.linalg.norm(traj[f"{a}/{group}"] - traj[f"{b}/{group}"], axis=-1) + 1e-12
            ax.plot(d, ls=ls, label=f"{label} ({'field' if group == 'theta' else 'critic'})")
    ax.set_yscale("log")
    ax.set_xlabel("gradient step")
    ax.set_ylabel("parameter distance (+1e-12)")
    legend_beside(ax, fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------------
# 6. Sliders for kappa and K
# ---------------------------------------------------------------------------------------------------------------------


def kappa_k_plotly(grid: KappaKGrid, tier: str | None = None, bins: int = 40):
    """Kernel-free figure: slider 1 = kappa (restyles the data), slider 2 = K (toggles one block of traces per K).
    Left: Euler paths; right: histogram of end values (Euler, blue) against the exact end values (grey)."""
    from plotly.subplots import make_subplots

    lo = float(min(grid.q_min * max(grid.kappas), np.min(grid.exact), np.min(grid.ends)))
    edges = np.linspace(lo - 1, 1, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])

    span = 2 - (lo - 2)
    readout_y = 2 + 0.12 * span  # the live widget's numbers, two short lines in a band above the paths

    def traces_for(i, j):
        K = grid.Ks[j]
        xs, ys = polylines(np.linspace(0, 1, K + 1), grid.paths[i][j], decimals=None)  # (K + 1, P) as one trace
        h_e, _ = np.histogram(grid.ends[i, j], edges, density=True)
        h_x, _ = np.histogram(grid.exact[i], edges, density=True)
        readout = f"κ = {grid.kappas[i]:g}, K = {K}<br>{kappa_k_readout(grid, i, j)}"  # one line is wider than the panel
        return [
            dict(type="scatter", x=xs, y=ys, mode="lines+markers", marker=dict(size=3),
                 line=dict(width=1, color="#1f77b4"), name="Euler paths", xaxis="x", yaxis="y", showlegend=False),
            dict(type="scatter", x=[0.5], y=[readout_y], mode="text", text=[readout], textfont=dict(size=12),
                 xaxis="x", yaxis="y", showlegend=False, hoverinfo="skip"),
            dict(type="bar", x=centres.tolist(), y=h_x.tolist(), marker=dict(color="rgba(0,0,0,0.25)"),
                 name="exact", xaxis="x2", yaxis="y2"),
            dict(type="bar", x=centres.tolist(), y=h_e.tolist(), marker=dict(color="rgba(31,119,180,0.7)"),
                 name="Euler, K steps", xaxis="x2", yaxis="y2"),
        ]

    base = make_subplots(rows=1, cols=2, subplot_titles=("Euler paths z(t)", "end values"), horizontal_spacing=0.14)
    layout = base.layout.to_plotly_json()
    layout.update(
        barmode="overlay", height=430, margin=dict(t=60, b=110),
        title=dict(text="Noise coverage κ and Euler steps K (exact field)" + _tier_note(tier), font=dict(size=14)),
    )
    layout["xaxis"].update(title="t", range=[0, 1])
    layout["yaxis"].update(title="z", range=[lo - 2, readout_y + 0.1 * span])
    layout["xaxis2"].update(title="z at t = 1", range=[edges[0], edges[-1]])
    layout["yaxis2"].update(title="density")
    return two_slider_plotly(grid.kappas, grid.Ks, traces_for, "κ", "K", visible_by="b", layout=layout,
                             active=(_nearest(grid.kappas, LIVE_START[0]), _nearest(grid.Ks, LIVE_START[1])))


def _nearest(values, value) -> int:
    """Index of the entry of ``values`` closest to ``value`` (log scale: both grids are geometric)."""
    return int(np.argmin(np.abs(np.log(np.asarray(values, dtype=float)) - np.log(value))))


def kappa_k_readout(grid: KappaKGrid, i: int, j: int) -> str:
    """The numbers of one (kappa, K) cell, as both chapter-4 explorers (live widget, kernel-free figure) show them."""
    return f"error {grid.error[i, j]:.2f}, spread kept {100 * grid.spread[i, j]:.0f}%"


def plot_kappa_k_cell(grid: KappaKGrid, i: int = 0, j: int = 0):
    """One (kappa, K) cell of ``grid``: Euler paths over the noise interval, and the end values against the exact
    ones (the live widget's figure)."""
    kappa, K = grid.kappas[i], grid.Ks[j]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.8, 3.5))
    a1.axhspan(kappa * grid.q_min, 0, color="C1", alpha=0.12)
    a1.plot(np.linspace(0, 1, K + 1), grid.paths[i][j], color="C0", lw=1, marker=".", ms=3)
    a1.set_xlabel("t")
    a1.set_ylabel("z")
    edges = np.linspace(min(grid.q_min * 0.7, grid.exact[i].min() - 2), 1, 50)
    a2.hist(grid.exact[i], edges, density=True, color="grey", alpha=0.5, label="exact")
    a2.hist(grid.ends[i, j], edges, density=True, color="C0", alpha=0.6, label=f"Euler, K={K}")
    a2.set_title(kappa_k_readout(grid, i, j), fontsize=10)
    a2.legend(fontsize=8)
    return fig
