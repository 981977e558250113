"""Figures of chapter 7 (when do K integration steps pay?), drawn from a study of
:mod:`floq_lite.studies.iterative_compute` (the committed artifact or a live re-run).

Every function returns the matplotlib ``Figure``, sized for the book's ~780 px column; ``source`` goes into the
title (``"committed sweep"`` or ``"live, teach tier"``), so a figure never hides how it was made.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from floq_lite.studies import iterative_compute as ic
from floq_lite.studies.mdp import ACTION_NAMES
from floq_lite.plotting.legibility import legend_below, legend_beside

WIDTH_IN = 7.8  # inches at 100 dpi: the book's column
REFERENCES = (("monolithic", "tab:gray", "-"), ("deep-mlp", "tab:brown", "--"), ("resnet", "tab:purple", ":"),
              ("flow-t0", "tab:olive", "-."))
LABELS = {"monolithic": "monolithic MLP", "deep-mlp": "deeper MLP (FLOP-matched)", "resnet": "ResNet (FLOP-matched)",
          "flow-t0": "flow, t = 0 only, K = 1"}


def _label(critic: str) -> str:
    return LABELS.get(critic) or (f"flow, K = {critic[len('flow-K'):]}" if critic.startswith("flow-K") else critic)


def plot_problems(problems: Sequence[str]):
    """``V*`` of each problem's maze (walls dark, goal G), side by side."""
    from floq_lite.plotting.td import plot_maze_values
    from floq_lite.studies.mdp import value_iteration

    fig, axes = plt.subplots(1, len(problems), figsize=(WIDTH_IN, WIDTH_IN / len(problems) * 0.95), squeeze=False)
    for ax, name in zip(axes[0], problems):
        problem = ic.PROBLEMS[name]
        maze = problem.mdp()
        plot_maze_values(maze, value_iteration(maze), ax=ax, annotate=len(maze.layout) <= 6)
        ax.set_title(f"{name}: {maze.num_states} states, {problem.inputs}", fontsize=9)
    fig.tight_layout()
    return fig


def _flow_ks(cells: Mapping[str, Any]) -> list[int]:
    return sorted(int(c.split("K")[1]) for c in cells if c.startswith("flow-K"))


def _stats(cell: Mapping[str, Any], metric: str, kappa: float | None = None) -> tuple[float, float, float]:
    v = ic.final_error(cell, kappa=kappa, metric=metric)
    return float(v.mean()), float(v.min()), float(v.max())


def plot_error_vs_k(study: Mapping[str, Any], *, metric: str = "q_error", source: str = ""):
    """Final error of flow critics trained with each K (mean, min-max band over seeds), one panel per problem,
    with the monolithic, FLOP-matched and t = 0 critics as horizontal reference lines."""
    problems = list(study["problems"])
    fig, axes = plt.subplots(1, len(problems), figsize=(WIDTH_IN, 3.3), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        cells = ic.cells_of(study, problem)
        ks = _flow_ks(cells)
        stats = np.array([_stats(cells[f"flow-K{k}"], metric) for k in ks])
        if len(ks):
            ax.plot(ks, stats[:, 0], "o-", color="tab:blue", label="flow, trained with K")
            ax.fill_between(ks, stats[:, 1], stats[:, 2], color="tab:blue", alpha=0.2, linewidth=0)
        for name, color, style in REFERENCES:
            if name in cells:
                mean, lo, hi = _stats(cells[name], metric)
                ax.axhline(mean, color=color, linestyle=style, label=LABELS[name])
                ax.axhspan(lo, hi, color=color, alpha=0.08, linewidth=0)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks or [1], [str(k) for k in ks] or ["1"])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yscale("log")
        ax.set_xlabel("K (train and eval)")
        ax.set_title(f"{problem} ({study['problems'][problem]['states']} states)", fontsize=10)
    axes[0, 0].set_ylabel("final mean |Q - Q*|" if metric == "q_error" else metric)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(f"Does more integration compute give a better critic? ({source}; log scale)", fontsize=11)
    fig.tight_layout(rect=(0, 0.14, 1, 0.95))
    return fig


def plot_error_vs_flops(study: Mapping[str, Any], *, metric: str = "q_error", source: str = ""):
    """Final error against FLOPs per Q-value, every critic of every problem (width 64): error bars span seeds."""
    problems = list(study["problems"])
    fig, axes = plt.subplots(1, len(problems), figsize=(WIDTH_IN, 3.2), squeeze=False)
    colors = {"monolithic": "tab:gray", "deep-mlp": "tab:brown", "resnet": "tab:purple", "flow-t0": "tab:olive"}
    for ax, problem in zip(axes[0], problems):
        cells = ic.cells_of(study, problem)
        flow = [(cells[f"flow-K{k}"]["flops_per_q"], *_stats(cells[f"flow-K{k}"], metric)) for k in _flow_ks(cells)]
        if flow:
            f = np.array(flow)
            ax.errorbar(f[:, 0], f[:, 1], yerr=[f[:, 1] - f[:, 2], f[:, 3] - f[:, 1]], fmt="o-", color="tab:blue",
                        capsize=2, label="flow, K = 1 ... 16")
        for name, color in colors.items():
            if name in cells:
                mean, lo, hi = _stats(cells[name], metric)
                ax.errorbar([cells[name]["flops_per_q"]], [mean], yerr=[[mean - lo], [hi - mean]], fmt="s",
                            color=color, capsize=2, label=LABELS[name])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("FLOPs per Q-value")
        ax.set_title(problem, fontsize=10)
    axes[0, 0].set_ylabel("final mean |Q - Q*|" if metric == "q_error" else metric)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(f"Error against compute per Q-value ({source})", fontsize=11)
    fig.tight_layout(rect=(0, 0.14, 1, 0.95))
    return fig


def plot_width_gap(study: Mapping[str, Any], *, metric: str = "q_error", source: str = ""):
    """Heat map of (flow at K = 8) - (monolithic) final error over network width x problem; blue: flow better."""
    problems, widths, gap = ic.width_gap(study, metric)
    fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.75, 0.9 + 0.75 * len(problems)))
    lim = float(np.nanmax(np.abs(gap))) if np.isfinite(gap).any() else 1.0
    im = ax.imshow(gap, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto")
    for i in range(len(problems)):
        for j in range(len(widths)):
            text = "-" if np.isnan(gap[i, j]) else f"{gap[i, j]:+.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=10)
    ax.set_xticks(range(len(widths)), [str(w) for w in widths])
    ax.set_yticks(range(len(problems)), problems)
    ax.set_xlabel("hidden width (2 layers)")
    fig.colorbar(im, ax=ax, label="flow - monolithic")
    ax.set_title(f"Final |Q - Q*|: flow (K = 8) minus monolithic ({source})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_curves(study: Mapping[str, Any], problem: str, critics: Sequence[str], *, source: str = ""):
    """``|Q - Q*|`` during training (mean and min-max band over seeds) for some critics of one problem."""
    cells = ic.cells_of(study, problem)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.4))
    for critic, color in zip(critics, ("tab:gray", "tab:brown", "tab:purple", "tab:blue", "tab:cyan", "tab:olive")):
        if critic not in cells:
            continue
        cell = cells[critic]
        curves = np.asarray(cell["q_error_curve"])[np.isclose(cell["kappas"], cell["kappas"][0])]
        ax.plot(cell["steps"], curves.mean(0), color=color, label=_label(critic))
        ax.fill_between(cell["steps"], curves.min(0), curves.max(0), color=color, alpha=0.2, linewidth=0)
    ax.set_yscale("log")
    ax.set_xlabel("gradient steps")
    ax.set_ylabel("mean |Q - Q*|")
    legend_beside(ax, fontsize=9)
    ax.set_title(f"{problem}: training curves ({source})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_paths(study: Mapping[str, Any], problem: str, critic: str = f"flow-K{ic.MATCH_K}", *, source: str = ""):
    """Learned ``z_t`` paths (seed 0) at the pair the flow critic gets most right and the one it gets most wrong."""
    cell = ic.cells_of(study, problem)[critic]
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.1), sharey=False)
    for ax, name in zip(axes, ("best", "worst")):
        p = cell["paths"][name]
        z = np.asarray(p["z"])
        for row in z:
            ax.plot(p["t"], row, color="tab:blue", alpha=0.6, marker=".", markersize=3)
        ax.axhline(p["q_star"], color="black", linestyle="--")
        ax.set_xlabel("t")
        ax.set_title(f"{name}: s={p['state']}, a={ACTION_NAMES[p['action']]}, Q={p['q']:.2f} vs Q*={p['q_star']:.2f}",
                     fontsize=9)
    axes[0].set_ylabel("z_t")
    fig.suptitle(f"{problem}, {critic}: Euler paths from 9 starts z0, dashed: Q*(s, a) ({source})", fontsize=10)
    fig.tight_layout()
    return fig


def plot_recovery(study: Mapping[str, Any], problem: str, *, source: str = ""):
    """Test-time recovery: (left) the error left of noise added to ``z`` after step ``j``, per unit of noise, for
    flow critics trained with several K; (right) ``|Q - Q*|`` when the first ``j`` steps use a stale field."""
    cells = ic.cells_of(study, problem)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.2))
    for k, color in zip(_flow_ks(cells), ("tab:olive", "tab:green", "tab:cyan", "tab:blue", "tab:purple")):
        rec = cells[f"flow-K{k}"].get("recovery")
        if not rec or k == 1:
            continue
        frac = np.asarray(rec["steps_corrupted"]) / k
        gain, stale = np.asarray(rec["noise_gain"]), np.asarray(rec["stale_error"])
        axes[0].plot(frac, gain.mean(0), "o-", color=color, markersize=3, label=f"K = {k}")
        axes[0].fill_between(frac, gain.min(0), gain.max(0), color=color, alpha=0.15, linewidth=0)
        axes[1].plot(frac, stale.mean(0), "o-", color=color, markersize=3, label=f"K = {k}")
    axes[0].axhline(1.0, color="tab:gray", linestyle="--", label="no recovery (monolithic)")
    axes[0].set_xlabel("noise added after a fraction j/K of the steps")
    axes[0].set_ylabel("|change of Q| / |noise|")
    axes[1].set_xlabel("fraction j/K of steps taken with the stale field")
    axes[1].set_ylabel("mean |Q - Q*|")
    fig.suptitle(f"{problem}: do later steps undo errors of earlier ones? ({source})", fontsize=10)
    legend_below(fig, axes[0], ncol=5)  # one legend for both panels
    return fig


def map_table(study: Mapping[str, Any], metric: str = "q_error", tag: str = "") -> str:
    """A markdown table of the map: per problem, the best flow setting against the monolithic and FLOP-matched
    critics (mean +- std over seeds of the final ``metric``)."""
    lines = ["| problem | best flow (K, kappa) | flow | monolithic | deeper MLP | ResNet | flow, t = 0 |",
             "|---|---|---|---|---|---|---|"]
    for problem in study["problems"]:
        cells = ic.cells_of(study, problem, tag=tag)
        if not cells:
            continue
        best = None
        for name, cell in cells.items():
            if not name.startswith("flow-K"):
                continue
            for kappa in sorted(set(cell["kappas"])):
                v = ic.final_error(cell, kappa=kappa, metric=metric)
                if best is None or v.mean() < best[0]:
                    best = (v.mean(), v.std(), name.split("K")[1], kappa)

        def cell_text(name: str) -> str:
            if name not in cells:
                return "-"
            v = ic.final_error(cells[name], metric=metric)
            return f"{v.mean():.3f} ± {v.std():.3f}"

        flow = f"{best[0]:.3f} ± {best[1]:.3f}" if best else "-"
        setting = f"K = {best[2]}, κ = {best[3]:g}" if best else "-"
        lines.append(f"| {problem} | {setting} | {flow} | {cell_text('monolithic')} | {cell_text('deep-mlp')} | "
                     f"{cell_text('resnet')} | {cell_text('flow-t0')} |")
    return "\n".join(lines)


def still_falling(study: Mapping[str, Any], problem: str, tag: str = "") -> str:
    """One line per critic: how much its mean ``|Q - Q*|`` fell over the last quarter of training (in %);
    ``tag="long"``: the longer runs."""
    out = []
    for critic, cell in ic.cells_of(study, problem, tag=tag).items():
        curves = np.asarray(cell["q_error_curve"])[np.isclose(cell["kappas"], cell["kappas"][0])].mean(0)
        quarter = curves[int(round(0.75 * (len(curves) - 1)))]
        out.append(f"{critic}: {100 * (1 - curves[-1] / quarter):.0f}% lower at the end than at 75% of training")
    return "\n".join(out)


def kappa_table(study: Mapping[str, Any]) -> str:
    """Markdown: the K = 8 flow critic's final ``|Q - Q*|`` for each noise coverage kappa, per problem."""
    lines = ["| problem | " + " | ".join(f"κ = {k:g}" for k in ic.KAPPAS) + " |", "|---|" + "---|" * len(ic.KAPPAS)]
    for problem in study["problems"]:
        cell = ic.cells_of(study, problem).get(f"flow-K{ic.MATCH_K}")
        if cell is None or len(set(cell["kappas"])) < 2:
            continue
        vals = [ic.final_error(cell, kappa=k) for k in ic.KAPPAS]
        lines.append(f"| {problem} | " + " | ".join(f"{v.mean():.3f} ± {v.std():.3f}" for v in vals) + " |")
    return "\n".join(lines)


def plot_long(study: Mapping[str, Any], problem: str = "maze11", *, source: str = ""):
    """The ``long`` cells (3x the steps) next to the same critics' normal runs: ``|Q - Q*|`` over training."""
    long_cells = ic.cells_of(study, problem, tag="long")
    normal = ic.cells_of(study, problem)
    fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.8, 3.3))
    colors = {"monolithic": "tab:gray", "resnet": "tab:purple"}
    for critic, cell in long_cells.items():
        color = colors.get(critic, "tab:blue")
        curves = np.asarray(cell["q_error_curve"])
        ax.plot(cell["steps"], curves.mean(0), color=color, label=f"{_label(critic)}, {cell['steps'][-1]:,}")
        ax.fill_between(cell["steps"], curves.min(0), curves.max(0), color=color, alpha=0.2, linewidth=0)
        if critic in normal:
            ax.plot(normal[critic]["steps"][-1], ic.final_error(normal[critic]).mean(), "o", color=color)
    ax.set_yscale("log")
    ax.set_xlabel("gradient steps")
    ax.set_ylabel("mean |Q - Q*|")
    ax.legend(fontsize=8, title="dots: the main runs' end", title_fontsize=8)
    ax.set_title(f"{problem}: three times longer ({source})", fontsize=10)
    fig.tight_layout()
    return fig


def long_table(study: Mapping[str, Any], problem: str = "maze11", metric: str = "q_error") -> str:
    """Markdown: each ``long`` critic's final ``metric`` (default ``|Q - Q*|``) after the main run's steps and after
    ``LONG_FACTOR`` times as many (mean +- std over seeds, the seeds' range), then the flow critic's distance to
    each monolithic one at both lengths (its value minus theirs: does the gap close with training?)."""
    long_cells, normal = ic.cells_of(study, problem, tag="long"), ic.cells_of(study, problem)
    both = [c for c in long_cells if c in normal]
    if not both:
        return f"(no long cells on {problem})"
    short_steps = normal[both[0]]["steps"][-1]
    long_steps = long_cells[both[0]]["steps"][-1]
    lines = [f"| critic | {short_steps:,} steps | {long_steps:,} steps | seeds at {long_steps:,} | change |",
             "|---|---|---|---|---|"]
    finals = {}
    for critic in both:
        short = ic.final_error(normal[critic], metric=metric)
        long = ic.final_error(long_cells[critic], metric=metric)
        finals[critic] = (short, long)
        lines.append(f"| {_label(critic)} | {short.mean():.3f} ± {short.std():.3f} | "
                     f"{long.mean():.3f} ± {long.std():.3f} | {long.min():.3f}-{long.max():.3f} | "
                     f"{100 * (long.mean() / short.mean() - 1):+.0f}% |")
    flows = [c for c in both if c.startswith("flow-")]
    for flow in flows:
        for other in (c for c in both if not c.startswith("flow-")):
            gaps = [finals[flow][i].mean() - finals[other][i].mean() for i in (0, 1)]
            lines.append(f"| {_label(flow)} minus {_label(other)} | {gaps[0]:+.3f} | "
                         f"{gaps[1]:+.3f} | | {100 * (gaps[1] / gaps[0] - 1):+.0f}% |")
    return "\n".join(lines)


def metric_table(study: Mapping[str, Any]) -> str:
    """Markdown: per problem and critic (width 64), final ``|Q - Q*|``, greedy-action agreement with ``Q*`` and the
    greedy policy's value gap ``mean (V* - V^pi)`` (mean +- std over seeds)."""
    lines = ["| problem | critic | mean abs(Q - Q*) | greedy agreement | policy gap V* - V^pi |", "|---|---|---|---|---|"]
    for problem in study["problems"]:
        for critic, cell in ic.cells_of(study, problem).items():
            parts = []
            for metric in ("q_error", "agreement", "policy_gap"):
                v = ic.final_error(cell, metric=metric)
                parts.append(f"{v.mean():.3f} ± {v.std():.3f}")
            lines.append(f"| {problem} | {critic} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def recovery_summary(study: Mapping[str, Any], problem: str) -> str:
    """Two lines per flow critic (K >= 2): what is left of noise added at t = 0, and the error with the first
    quarter / half / all of the steps taken by the stale field, next to the fresh critic's."""
    out = []
    for critic, cell in ic.cells_of(study, problem).items():
        rec = cell.get("recovery")
        if not critic.startswith("flow-K") or not rec or len(rec["steps_corrupted"]) < 3:
            continue
        k = len(rec["steps_corrupted"]) - 1
        gain, stale = np.asarray(rec["noise_gain"]), np.asarray(rec["stale_error"]).mean(0)
        quarter, half = stale[max(k // 4, 1)], stale[k // 2]
        # two short lines per critic: the page's output column holds ~88 characters
        out.append(f"{critic}: noise at t = 0 leaves {gain[:, 0].mean():.2f} of itself (seeds {gain[:, 0].min():.2f}-"
                   f"{gain[:, 0].max():.2f})")
        out.append(f"    |Q - Q*| fresh {stale[0]:.3f}; stale for the first quarter {quarter:.3f}, "
                   f"first half {half:.3f}, all {stale[-1]:.3f}")
    return "\n".join(out)


# The floq paper's numbers, second-hand (floq_spec.md, sections 3.2-3.3): transcriptions of the paper's figures.
PAPER_K_SWEEP = {
    "humanoidmaze-large (default task)": ((1, 2, 4, 8, 16), (0, 14, 24, 52, 56)),
    "antmaze-giant (default task)": ((1, 4, 8, 16), (0, 86, 70, 55)),
}
PAPER_SOURCE = ("success rates (%), 3 seeds, read off the paper's Fig. 4 by a third-party note and by the ICLR "
                "reviewers (OpenReview m14YNdmPAh); the two readings of antmaze-giant disagree on the order, "
                "this is the reviewers' (it agrees with floq-best using K = 4)")


def paper_table(study: Mapping[str, Any]) -> str:
    """Markdown: the paper's K sweep and ResNet numbers beside ours (relative error of each K to K = 1)."""
    lines = ["| where | K = 1 | 2 | 4 | 8 | 16 | measure |", "|---|---|---|---|---|---|---|"]
    for name, (ks, values) in PAPER_K_SWEEP.items():
        by_k = dict(zip(ks, values))
        lines.append(f"| paper: {name} | " + " | ".join(str(by_k.get(k, "-")) for k in (1, 2, 4, 8, 16))
                     + " | success % |")
    for problem in study["problems"]:
        cells = ic.cells_of(study, problem)
        if "flow-K1" not in cells:
            continue
        base = ic.final_error(cells["flow-K1"]).mean()
        row = [f"{ic.final_error(cells[f'flow-K{k}']).mean() / base:.2f}" if f"flow-K{k}" in cells else "-"
               for k in (1, 2, 4, 8, 16)]
        lines.append(f"| ours: {problem} | " + " | ".join(row) + " | abs(Q - Q*) relative to K = 1 |")
    return "\n".join(lines)


__all__ = [
    "kappa_table",
    "long_table",
    "map_table",
    "metric_table",
    "paper_table",
    "plot_curves",
    "plot_error_vs_flops",
    "plot_error_vs_k",
    "plot_long",
    "plot_paths",
    "plot_problems",
    "plot_recovery",
    "plot_width_gap",
    "recovery_summary",
    "still_falling",
]
