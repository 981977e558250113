"""Figures of chapter 3: the maze and its ``Q*``, Q-error curves of TD learning, test-time K, the noise interval.

Every function returns the matplotlib ``Figure``; the notebook calls ``plt.show()``. Training figures take the
compute ``tier`` and print it in the title, so a figure never hides how it was made.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from floq_lite.studies.mdp import ACTION_ARROWS, TabularMDP, greedy_actions
from floq_lite.plotting.bands import seed_band
from floq_lite.plotting.legibility import legend_below

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def plot_maze_values(mdp: TabularMDP, q_star: np.ndarray, *, ax=None, annotate: bool = True):
    """Heat map of ``V*(s) = max_a Q*(s, a)`` over the maze, with the greedy action as an arrow in each cell
    (``annotate=False``: only the goal is marked, for mazes too big to label)."""
    rows, cols = len(mdp.layout), len(mdp.layout[0])
    grid = np.full((rows, cols), np.nan)
    v = q_star.max(axis=1)
    for s, (r, c) in enumerate(mdp.cells):
        grid[r, c] = v[s]
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4.6, 4))
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("0.15")  # walls
    im = ax.imshow(grid, cmap=cmap)
    greedy = greedy_actions(q_star)
    for s, (r, c) in enumerate(mdp.cells):
        if not annotate and s != mdp.goal:
            continue
        text = "G" if s == mdp.goal else f"{ACTION_ARROWS[greedy[s]]}\n{v[s]:.1f}"
        ax.text(c, r, text, ha="center", va="center", fontsize=8 if annotate else 9, fontweight="normal" if annotate
                else "bold", color="white" if v[s] < v.min() / 2 else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"$V^*(s)=\\max_a Q^*(s,a)$, $\\gamma$={mdp.discount}, slip={mdp.slip}")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_q_error_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, tier: str, title: str = ""):
    """Q error vs gradient steps, one line (mean) and band (min..max over seeds) per critic.

    Args:
      curves: ``{label: (steps (C,), q_error (n_seeds, C))}``.
      tier: the compute tier that produced the runs (printed in the title).
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for (label, (steps, err)), color in zip(curves.items(), _COLORS):
        seed_band(ax, steps, err, color=color, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("gradient steps")
    ax.set_ylabel(r"mean $|Q(s,a) - Q^*(s,a)|$")
    ax.set_title((title or "TD learning on the maze") + f"  [tier: {tier}]")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_k_eval(step_counts: Sequence[int], errors: np.ndarray, *, train_steps: int, tier: str,
                reference: float | None = None, reference_label: str = "monolithic critic"):
    """Q error of trained flow critics vs the number of Euler steps used at evaluation.

    Args:
      step_counts: ``K_eval`` values (x axis, log2 scale).
      errors: ``(n_seeds, len(step_counts))``.
      train_steps: the K used for the TD targets during training (marked with a dotted line).
      reference: optional horizontal line (e.g. the monolithic critic's final error).
    """
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    errors = np.asarray(errors)
    ax.plot(step_counts, errors.mean(axis=0), "o-", color=_COLORS[1], label=f"flow critic ({errors.shape[0]} seeds)")
    if errors.shape[0] > 1:
        ax.fill_between(step_counts, errors.min(axis=0), errors.max(axis=0), color=_COLORS[1], alpha=0.2, linewidth=0)
    ax.axvline(train_steps, color="0.5", linestyle=":", label=f"K used in training ({train_steps})")
    if reference is not None:
        ax.axhline(reference, color=_COLORS[0], linestyle="--", label=reference_label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(step_counts), [str(k) for k in step_counts])
    ax.set_yscale("log")
    ax.set_xlabel(r"Euler steps at evaluation $K_{\mathrm{eval}}$")
    ax.set_ylabel(r"mean $|Q - Q^*|$")
    ax.set_title(f"Test-time compute  [tier: {tier}]")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_noise_interval(kappas: Sequence[float], steps: np.ndarray, errors: Mapping[float, np.ndarray],
                        q_of_z0: Mapping[float, np.ndarray], q_target: float, *, pair_label: str, tier: str,
                        target_quantiles: tuple[np.ndarray, np.ndarray] | None = None):
    """Two panels for the noise-interval study.

    Left: Q error vs steps for each ``kappa`` (``errors[kappa]`` is ``(n_seeds, C)``).
    Right: the integrated value of one ``(s, a)`` from evenly spaced starts across each interval
    (``q_of_z0[kappa]`` is ``(M,)``, first seed), plotted against the start's relative position ``(z0 - l)/(u - l)``,
    with ``Q*(s, a)`` (``q_target``) and optionally the quantile function of the one-step targets
    (``target_quantiles = (cum_prob, value)`` from :func:`floq_lite.studies.mdp.one_step_target_quantiles`).
    """
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7.8, 3.8))
    for kappa, color in zip(kappas, _COLORS):
        seed_band(ax0, steps, errors[kappa], color=color, label=f"$\\kappa$={kappa}")
        q = np.asarray(q_of_z0[kappa])
        ax1.plot(np.linspace(0.0, 1.0, q.shape[0]), q, color=color, label=f"$\\kappa$={kappa}")
    ax0.set_yscale("log")
    ax0.set_xlabel("gradient steps")
    ax0.set_ylabel(r"mean $|Q - Q^*|$")
    ax0.set_title(f"Q error by noise coverage  [tier: {tier}]")
    ax0.grid(alpha=0.3, which="both")
    ax1.axhline(q_target, color="k", linestyle="--", label=r"$Q^*(s,a)$")
    if target_quantiles is not None:
        cum, values = target_quantiles
        ax1.step(np.concatenate([[0.0], cum]), np.concatenate([values[:1], values]), where="pre", color="0.4",
                 linestyle=":", label="quantiles of the one-step target")
    ax1.set_xlabel(r"relative start position $(z_0 - l)/(u - l)$")
    ax1.set_ylabel(r"integrated value $z_K$")
    ax1.set_title(f"Value from each start, {pair_label}")
    ax1.grid(alpha=0.3)
    legend_below(fig, ax1, ncol=3)  # the right panel's entries include the left's
    return fig
