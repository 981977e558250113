"""Figures and tables of chapter 8 (plastic features), drawn from a study of :mod:`floq_lite.studies.plasticity`
(the committed artifact or a live re-run). Every figure is sized for the book's ~780 px column and names its source.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from floq_lite.studies import plasticity as pl
from floq_lite.plotting.bands import seed_band
from floq_lite.plotting.legibility import legend_below, legend_beside

WIDTH_IN = 7.8
COLORS = {"monolithic": "tab:gray", "flow": "tab:blue"}
STYLES = ("-", "--", ":", "-.")


def _cells(study: Mapping[str, Any], experiment: str, problem: str) -> dict[str, dict[str, Any]]:
    return {c: pl.cell_of(study, experiment, problem, c) for c in pl.CRITICS
            if pl.Cell(experiment, problem, c, 0).key in study["cells"]}


def plot_phases(study: Mapping[str, Any], experiment: str, problem: str, phases: Sequence[str], *, source: str,
                title: str, vline: float | None = None):
    """``|Q - Q*|`` over training of the given phases of one experiment, one panel per critic (mean, min-max
    band over seeds), on a shared log scale."""
    cells = _cells(study, experiment, problem)
    fig, axes = plt.subplots(1, len(cells), figsize=(WIDTH_IN, 3.1), sharey=True, squeeze=False)
    for ax, (critic, cell) in zip(axes[0], cells.items()):
        for phase, style in zip(phases, STYLES):
            p = cell["phases"][phase]
            seed_band(ax, p["steps"], p["q_error_curve"], color=COLORS[critic], linestyle=style, label=phase,
                      count_seeds=False, alpha=0.12)
        if vline is not None:
            ax.axvline(vline, color="black", linewidth=0.8, linestyle=":")
        ax.set_yscale("log")
        ax.set_xlabel("gradient steps")
        ax.set_title(f"{critic} critic", fontsize=10)
        ax.legend(fontsize=8)
    axes[0, 0].set_ylabel("mean |Q - Q*|")
    fig.suptitle(f"{problem}: {title} ({source})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_sequence(study: Mapping[str, Any], problem: str, *, source: str):
    """Final ``|Q - Q*|`` on each goal of the sequence: after learning all earlier goals vs a fresh critic."""
    cells = _cells(study, "sequence", problem)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    for critic, cell in cells.items():
        goals = sorted({int(k.split()[1].rstrip(",")) for k in cell["phases"]})
        seq = np.array([pl.final(cell["phases"][f"goal {g}"]) for g in goals])  # (G, seeds)
        fresh = np.array([pl.final(cell["phases"][f"goal {g}, fresh"]) for g in goals])
        for values, style, label in ((seq, "o-", "after the earlier goals"), (fresh, "s--", "fresh network")):
            ax.errorbar(goals, values.mean(1), yerr=[values.mean(1) - values.min(1), values.max(1) - values.mean(1)],
                        fmt=style, color=COLORS[critic], capsize=2, label=f"{critic}: {label}")
    ax.set_xticks(goals)
    ax.set_xlabel("goal in the sequence")
    ax.set_ylabel("final mean |Q - Q*| on that goal")
    ax.set_yscale("log")
    legend_beside(ax)
    ax.set_title(f"{problem}: a sequence of targets ({source})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_diagnostics(study: Mapping[str, Any], experiment: str, problem: str, phase: str, *, source: str):
    """srank and dormant fraction of each hidden layer over training, both critics, one phase of an experiment."""
    cells = _cells(study, experiment, problem)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.0))
    for critic, cell in cells.items():
        p = cell["phases"][phase]
        diag = p.get("diagnostics") or {}
        layers = sorted({k.split("/")[0] for k in diag})
        for layer, style in zip(layers, STYLES):
            for ax, metric in zip(axes, ("srank", "dormant")):
                seed_band(ax, p["steps"], diag[f"{layer}/{metric}"], color=COLORS[critic], linestyle=style,
                          label=f"{critic}, {layer}", count_seeds=False, alpha=0.12)
    axes[0].set_ylabel("srank (of 64 units)")
    axes[1].set_ylabel("dormant fraction")
    for ax in axes:
        ax.set_xlabel("gradient steps")
    fig.suptitle(f"{problem}, {experiment} ({phase}): feature diagnostics ({source})", fontsize=10)
    legend_below(fig, axes[0])  # both panels share their entries
    return fig


def plot_norm_vs_t(study: Mapping[str, Any], experiment: str, problem: str, phase: str, *, source: str):
    """The flow critic's per-layer feature norm at each Euler step t, at the start, middle and end of training,
    next to the monolithic critic's norm (a horizontal line: it has no t)."""
    cells = _cells(study, experiment, problem)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.0), sharey=True)
    flow = cells["flow"]["phases"][phase]
    mono = cells.get("monolithic", {}).get("phases", {}).get(phase)
    diag = flow["diagnostics"]
    layers = sorted({k.split("/")[0] for k in diag if k.endswith("norm_t")})
    steps = flow["steps"]
    picks = [0, len(steps) // 2, len(steps) - 1]
    for ax, layer in zip(axes, layers):
        norm_t = np.asarray(diag[f"{layer}/norm_t"])  # (seeds, C, K)
        k = norm_t.shape[-1]
        for i, style in zip(picks, STYLES):
            ax.plot(np.arange(k) / k, norm_t[:, i].mean(0), "o" + style, color="tab:blue", markersize=3,
                    label=f"flow, step {steps[i]:,}")
            if mono is not None:
                ax.axhline(np.asarray(mono["diagnostics"][f"{layer}/norm"])[:, i].mean(), color="tab:gray",
                           linestyle=style, linewidth=0.9, label=f"monolithic, step {steps[i]:,}")
        ax.set_xlabel("integration time t")
        ax.set_title(layer, fontsize=9)
    axes[0].set_ylabel("mean feature norm")
    fig.suptitle(f"{problem}: feature norm along the integration ({source})", fontsize=10)
    legend_below(fig, axes[0], ncol=3)  # one legend for both layers
    return fig


def split_table(problem: str = "maze6") -> str:
    """Markdown: the layers of the chapter's flow critic on ``problem``, their shapes and whether they are
    features or head (:func:`floq_lite.networks.head_mask`)."""
    import jax

    from floq_lite.networks import head_mask
    from floq_lite.studies import tabular_td as td

    maze = pl.problem_with_goal(problem, pl.goal_cells(problem)[0])
    cfg = pl.cell_config(pl.Cell("freeze", problem, "flow", 2000))
    obs, act = td.pair_inputs(maze, cfg, [0], [0])
    z = jax.numpy.zeros((cfg.num_ensembles, 1, 1))
    params = td.flow_field(maze, cfg).init(jax.random.PRNGKey(0), obs, act, z, 0.0)["params"]
    mask = head_mask(params)["mlp"]
    lines = ["| layer | parameter shape (members first) | part |", "|---|---|---|"]
    for name in sorted(mask, key=lambda n: (int(n.split("_")[1]), n)):
        part = "head" if all(jax.tree.leaves(mask[name])) else "features"
        shape = params["mlp"][name]["kernel" if name.startswith("Dense") else "scale"].shape
        lines.append(f"| `{name}` | {tuple(shape)} | {part} |")
    return "\n".join(lines)


def _fmt(values) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.3f} ± {v.std():.3f}"


def summary_table(study: Mapping[str, Any]) -> str:
    """Markdown: the numbers of the four experiments for both critics (final mean |Q - Q*|, mean ± std over
    seeds)."""
    lines = ["| problem | experiment | phase | monolithic | flow |", "|---|---|---|---|---|"]
    order = {"freeze": ("plain", "frozen"),
             "moved-goal": ("moved, frozen features", "moved, all learning", "moved, fresh"),
             "replay": ("exact dataset", "small dataset")}
    for problem in study["problems"]:
        for experiment, phases in order.items():
            cells = _cells(study, experiment, problem)
            if not cells:
                continue
            for phase in phases:
                row = [_fmt(pl.final(cells[c]["phases"][phase])) if c in cells else "-" for c in pl.CRITICS]
                lines.append(f"| {problem} | {experiment} | {phase} | " + " | ".join(row) + " |")
        cells = _cells(study, "sequence", problem)
        if cells:
            last = pl.NUM_GOALS
            for phase in (f"goal {last}", f"goal {last}, fresh"):
                row = [_fmt(pl.final(cells[c]["phases"][phase])) if c in cells else "-" for c in pl.CRITICS]
                lines.append(f"| {problem} | sequence | {phase} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def diagnostics_table(study: Mapping[str, Any], experiment: str = "freeze", phase: str = "plain") -> str:
    """Markdown: the diagnostics at the end of training (last hidden layer and the one before), both critics."""
    lines = ["| problem | critic | layer | srank | dormant | norm |", "|---|---|---|---|---|---|"]
    for problem in study["problems"]:
        for critic, cell in _cells(study, experiment, problem).items():
            diag = cell["phases"][phase].get("diagnostics") or {}
            for layer in sorted({k.split("/")[0] for k in diag}):
                vals = [np.asarray(diag[f"{layer}/{m}"])[:, -1] for m in ("srank", "dormant", "norm")]
                lines.append(f"| {problem} | {critic} | {layer} | {vals[0].mean():.1f} ± {vals[0].std():.1f} | "
                             f"{vals[1].mean():.3f} | {vals[2].mean():.2f} |")
    return "\n".join(lines)


__all__ = ["split_table", "diagnostics_table", "plot_diagnostics", "plot_norm_vs_t", "plot_phases", "plot_sequence",
           "summary_table"]
