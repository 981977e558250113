"""Figures for chapter 1 (flow matching in one dimension). Every function returns a matplotlib ``Figure``.

Time runs left to right (``t = 0`` noise, ``t = 1`` target) and ``z`` runs up, in every panel, so the pictures of
paths, fields and densities line up with one another.
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from floq_lite.flow import exact
from floq_lite.flow.paths import VelocityField

NOISE_COLOR = "#4C72B0"
TARGET_COLOR = "#DD8452"
FIELD_CMAP = "RdBu_r"  # red: moving up, blue: moving down

# Compiled once per (source, target, grid shape); eager evaluation on a grid compiles op by op.
_velocity = jax.jit(exact.marginal_velocity, static_argnums=(0, 1))
_log_density = jax.jit(exact.marginal_log_density, static_argnums=(0, 1))


def _grid(t_range: tuple[float, float], z_range: tuple[float, float], num_t: int, num_z: int):
    ts = np.linspace(*t_range, num_t)
    zs = np.linspace(*z_range, num_z)
    tt, zz = np.meshgrid(ts, zs)  # (num_z, num_t): rows are z, columns are t
    return ts, zs, tt, zz


def _density_1d(dist: exact.Gaussian | exact.GaussianMixture, z: np.ndarray) -> np.ndarray:
    if isinstance(dist, exact.Gaussian):
        return np.exp(-0.5 * ((z - dist.mean) / dist.std) ** 2) / (dist.std * np.sqrt(2 * np.pi))
    return np.exp(np.asarray(dist.log_density(jnp.asarray(z))))


def plot_problem(source: exact.Gaussian, target: exact.GaussianMixture, z_range=(-4.5, 4.5)) -> Figure:
    """The two densities the flow has to connect: noise ``p0`` and target ``p1``."""
    z = np.linspace(*z_range, 400)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.fill_between(z, _density_1d(source, z), color=NOISE_COLOR, alpha=0.35, label="noise $p_0$ (t = 0)")
    ax.fill_between(z, _density_1d(target, z), color=TARGET_COLOR, alpha=0.45, label="target $p_1$ (t = 1)")
    ax.set(xlabel="$z$", ylabel="density", xlim=z_range)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_conditional_paths(
    z0: np.ndarray,
    x1: np.ndarray,
    source: exact.Gaussian,
    target: exact.GaussianMixture,
    z_range: tuple[float, float] = (-4.5, 4.5),
) -> Figure:
    """Straight lines from random noise draws ``z0`` to random target draws ``x1``, with both densities on the sides.

    Args:
      z0, x1: paired draws, shape ``(N,)``; each pair is one conditional path.
    """
    z0, x1 = np.asarray(z0).ravel(), np.asarray(x1).ravel()
    fig, (ax_l, ax, ax_r) = plt.subplots(
        1, 3, figsize=(7.8, 3.6), sharey=True, gridspec_kw={"width_ratios": [1, 5, 1], "wspace": 0.05}
    )
    z = np.linspace(*z_range, 400)
    ax_l.fill_betweenx(z, -_density_1d(source, z), color=NOISE_COLOR, alpha=0.5)
    ax_r.fill_betweenx(z, _density_1d(target, z), color=TARGET_COLOR, alpha=0.5)
    for side, title in ((ax_l, "$p_0$"), (ax_r, "$p_1$")):
        side.set_title(title)
        side.set_xticks([])
        for spine in ("top", "right", "left", "bottom"):
            side.spines[spine].set_visible(False)
    colors = plt.get_cmap("coolwarm")((x1 - z_range[0]) / (z_range[1] - z_range[0]))
    for a, b, c in zip(z0, x1, colors):
        ax.plot([0.0, 1.0], [a, b], color=c, alpha=0.6, lw=1)
    ax.scatter(np.zeros_like(z0), z0, s=8, color=NOISE_COLOR, zorder=3)
    ax.scatter(np.ones_like(x1), x1, s=8, color=TARGET_COLOR, zorder=3)
    ax.set(xlim=(-0.02, 1.02), ylim=z_range, xlabel="$t$", title="conditional paths $z_t = (1-t)\\,z_0 + t\\,x_1$")
    ax_l.set_ylabel("$z$")
    return fig


def plot_marginal_flow(
    source: exact.Gaussian,
    target: exact.GaussianMixture,
    trajectories: tuple[np.ndarray, np.ndarray] | None = None,
    z_range: tuple[float, float] = (-4.5, 4.5),
) -> Figure:
    """The path density ``p_t(z)`` as a heatmap with, optionally, ODE trajectories of the marginal field on top.

    Args:
      trajectories: ``(ts, zs)`` from :func:`floq_lite.flow.trajectory`, ``ts (K+1,)``, ``zs (K+1, N)``.
    """
    ts, zs, tt, zz = _grid((0.0, 1.0), z_range, 200, 240)
    t_j, z_j = jnp.asarray(tt, jnp.float32), jnp.asarray(zz, jnp.float32)
    density = np.exp(np.asarray(_log_density(source, target, t_j, z_j)))  # (num_z, num_t)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    mesh = ax.pcolormesh(ts, zs, density, cmap="Greys", shading="auto", vmax=np.quantile(density, 0.995))
    fig.colorbar(mesh, ax=ax, label="$p_t(z)$")
    if trajectories is not None:
        t_traj, z_traj = (np.asarray(a) for a in trajectories)
        ax.plot(t_traj, z_traj.reshape(len(t_traj), -1), color=TARGET_COLOR, lw=1, alpha=0.8)
    ax.set(xlabel="$t$", ylabel="$z$", ylim=z_range, title="path density and trajectories of the marginal field")
    fig.tight_layout()
    return fig


def plot_loss(losses: np.ndarray, floor: float | None = None, note: str = "", window: int = 50) -> Figure:
    """Per-step loss (faint) with a moving average, and the lowest loss any field can reach.

    The step axis is logarithmic: the loss reaches its floor in the first few hundred steps and then only wobbles.
    """
    losses = np.asarray(losses)
    steps = np.arange(1, losses.size + 1)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(steps, losses, color="0.75", lw=0.5, label="batch loss")
    if losses.size >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, color=NOISE_COLOR, label=f"moving average ({window})")
    ax.set_xscale("log")
    if floor is not None:
        ax.axhline(floor, color=TARGET_COLOR, ls="--", label=f"floor of the exact field ({floor:.2f})")
    ax.set(xlabel="step", ylabel="CFM loss", title="training loss" + (f" ({note})" if note else ""))
    early = losses[: max(1, losses.size // 200)]  # keep the starting loss in view, not the later spikes
    ax.set_ylim(top=1.05 * float(early.max()))
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_field_comparison(
    learned: VelocityField,
    source: exact.Gaussian,
    target: exact.GaussianMixture,
    note: str = "",
    z_range: tuple[float, float] = (-4.5, 4.5),
    density_cutoff: float = 1e-2,
) -> Figure:
    """Heatmaps of the learned field, the exact marginal field and their difference over ``(t, z)``.

    The difference panel greys out where the path density ``p_t(z)`` is below ``density_cutoff``: no training pair
    ever passes there, so the network is free to do anything and nothing depends on it.
    """
    ts, zs, tt, zz = _grid((0.0, 1.0), z_range, 120, 160)
    t_j, z_j = jnp.asarray(tt, jnp.float32), jnp.asarray(zz, jnp.float32)
    v_learned = np.asarray(learned(t_j, z_j))
    v_exact = np.asarray(_velocity(source, target, t_j, z_j))
    density = np.exp(np.asarray(_log_density(source, target, t_j, z_j)))
    limit = float(np.quantile(np.abs(v_exact[density > density_cutoff]), 0.99))

    fig, axes = plt.subplots(1, 3, figsize=(7.8, 3.6), sharey=True)
    masked_diff = np.where(density > density_cutoff, v_learned - v_exact, np.nan)
    panels = [
        (v_learned, "learned $v_\\theta(t, z)$", limit),
        (v_exact, "exact $v^*(t, z) = E[x_1 - z_0 \\mid z_t = z]$", limit),
        (masked_diff, f"difference (where $p_t > {density_cutoff:g}$)", None),
    ]
    diff_limit = float(np.nanquantile(np.abs(panels[2][0]), 0.99)) if np.any(density > density_cutoff) else 1.0
    for ax, (values, title, lim) in zip(axes, panels):
        lim = lim if lim is not None else diff_limit
        ax.set_facecolor("0.85")
        mesh = ax.pcolormesh(ts, zs, values, cmap=FIELD_CMAP, vmin=-lim, vmax=lim, shading="auto")
        ax.contour(ts, zs, density, levels=[density_cutoff, 0.1, 0.3], colors="k", linewidths=0.5, alpha=0.5)
        fig.colorbar(mesh, ax=ax)
        ax.set(title=title, xlabel="$t$")
    axes[0].set_ylabel("$z$")
    if note:
        fig.suptitle(note, fontsize=10)
    fig.tight_layout()
    return fig


def plot_samples_by_steps(
    samples: Mapping[int, np.ndarray],
    target: exact.GaussianMixture,
    note: str = "",
    z_range: tuple[float, float] = (-4.5, 4.5),
    bins: int = 80,
) -> Figure:
    """One histogram per number of Euler steps ``K`` (the dict's keys), each against the target density."""
    z = np.linspace(*z_range, 400)
    target_density = _density_1d(target, z)
    top = 1.6 * float(target_density.max())  # a collapsed histogram (K = 1) would otherwise flatten the others
    fig, axes = plt.subplots(1, len(samples), figsize=(min(7.8, 2.2 * len(samples)), 2.6), sharey=True, squeeze=False)
    for ax, (k, values) in zip(axes[0], samples.items()):
        heights, _, _ = ax.hist(
            np.asarray(values).ravel(), bins=bins, range=z_range, density=True, color=NOISE_COLOR, alpha=0.6
        )
        ax.plot(z, target_density, color=TARGET_COLOR, lw=1.5)
        ax.set(title=f"K = {k} Euler step{'s' if k > 1 else ''}", xlabel="$z_1$", xlim=z_range, ylim=(0, top))
        if heights.max() > top:
            ax.annotate("spike off the scale", xy=(0.5, 0.92), xycoords="axes fraction", ha="center", fontsize=8)
    axes[0, 0].set_ylabel("density")
    if note:
        fig.suptitle(note, fontsize=10)
    fig.tight_layout()
    return fig


__all__: list[str] = [
    "plot_conditional_paths",
    "plot_field_comparison",
    "plot_loss",
    "plot_marginal_flow",
    "plot_problem",
    "plot_samples_by_steps",
]
