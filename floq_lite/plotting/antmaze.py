"""Figures of chapter 6: floq vs FQL on antmaze-large, drawn from committed artifacts or from live smoke runs.

* the ant expert's learning curve (``ant_expert_training.csv``);
* navigate data over the maze: live episodes, and the coverage of the full dataset (``antmaze_large_coverage.json``);
* learning curves with seed bands and final numbers next to the paper's (``antmaze_large_cpu_runs.json``);
* the critic microscope: the value of the agent's own action, ``Q(s, pi(s))``, over the maze;
* flow-Q against the number of Euler steps K at evaluation time (``antmaze_large_k_eval.json``);
* where the trained agents' evaluation episodes go (``antmaze_large_rollouts.json``).

Unlike the point maze (chapter 5, :mod:`floq_lite.plotting.maze`), an antmaze observation is 29 numbers: x-y, then
the ant's body (height, orientation, joint angles, velocities). A value "at a position" therefore fixes a
representative body, the env's reset state (:func:`floq_lite.reporting.body_observation`), and moves it to each grid
point. Every figure of a training result says in its title what produced it (tier, steps, seeds, hardware).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.patches import Rectangle

from floq_lite.reporting import PAPER_RESULTS, final_success, k_table
from floq_lite.plotting.bands import AGENT_COLORS as _COLORS, seed_band


# --- labels ---------------------------------------------------------------------------------------------------------


def hardware_label(hardware: Mapping[str, Any] | None) -> str:
    """``"CPU, 2 cores"`` / ``"GPU (cuda:0)"`` from a run's ``hardware`` record."""
    if not hardware:
        return "unknown hardware"
    backend = str(hardware.get("jax_backend", "?"))
    if backend == "cpu":
        return f"CPU, {hardware.get('cpu_count', '?')} cores"
    devices = hardware.get("jax_devices") or []
    return f"{backend.upper()} ({', '.join(map(str, devices))})"


def run_label(run: Mapping[str, Any]) -> str:
    """What produced a run of a study artifact, e.g. ``"teach tier, 20,000 steps, 3 seeds, CPU, 2 cores"``."""
    return (f"{run['tier']} tier, {int(run['steps']):,} steps, {len(run['seeds'])} seeds, "
            f"{hardware_label(run.get('hardware'))}")


def study_label(study: Mapping[str, Any]) -> str:
    """One label for all agents of a study (the agents' labels joined where they differ)."""
    labels = list(dict.fromkeys(run_label(r) for r in study["agents"].values()))
    if len(labels) == 1:
        return labels[0]
    return "; ".join(f"{n}: {run_label(r)}" for n, r in study["agents"].items())


# --- the maze -------------------------------------------------------------------------------------------------------


def draw_maze(ax, maze: Mapping[str, Any]) -> None:
    """Wall blocks of a maze given as in an artifact (``walls``, ``unit``, ``offset_x``, ``offset_y``)."""
    walls, unit = np.asarray(maze["walls"], bool), float(maze["unit"])
    for i, j in zip(*np.nonzero(walls), strict=True):
        cx, cy = j * unit - maze["offset_x"], i * unit - maze["offset_y"]
        ax.add_patch(Rectangle((cx - unit / 2, cy - unit / 2), unit, unit, color="0.25", lw=0))
    h, w = walls.shape
    ax.set_xlim(-maze["offset_x"] - unit / 2, (w - 0.5) * unit - maze["offset_x"])
    ax.set_ylim(-maze["offset_y"] - unit / 2, (h - 0.5) * unit - maze["offset_y"])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def maze_dict(grid: Any) -> dict[str, Any]:
    """A :class:`floq_lite.data.MazeGrid` as the dict the drawing functions take."""
    return {"walls": np.asarray(grid.walls, int), "unit": grid.unit, "offset_x": grid.offset_x,
            "offset_y": grid.offset_y}


def _mark_goal(ax, xy: Sequence[float], label: str | None = None) -> None:
    ax.plot(*xy, marker="*", color="red", markersize=15, markeredgecolor="white", zorder=5)
    if label:
        x0, x1 = ax.get_xlim()
        right = xy[0] > (x0 + x1) / 2  # label on the side facing the middle, so it stays inside the axes
        ax.annotate(label, xy, xytext=(-6 if right else 6, 6), textcoords="offset points", color="red", fontsize=8,
                    ha="right" if right else "left", zorder=5)


def plot_episodes(maze: Mapping[str, Any], xy: np.ndarray, terminals: np.ndarray, *, goals: Sequence[np.ndarray] = (),
                  task_goal: Sequence[float] | None = None, title: str = ""):
    """The x-y paths of a few recorded episodes (one colour each; a circle at the start, crosses at the goals the
    navigate oracle gave them) over the maze."""
    fig, ax = plt.subplots(figsize=(6.2, 4.8))
    draw_maze(ax, maze)
    bounds = np.concatenate([[0], np.flatnonzero(terminals) + 1])
    for e in range(len(bounds) - 1):
        path = xy[bounds[e]:bounds[e + 1]]
        line, = ax.plot(path[:, 0], path[:, 1], lw=1.2, alpha=0.9)
        ax.plot(*path[0], "o", color=line.get_color(), markersize=5)
        if e < len(goals):
            g = np.asarray(goals[e])
            ax.plot(g[:, 0], g[:, 1], "x", color=line.get_color(), markersize=7, mew=2)
    if task_goal is not None:
        _mark_goal(ax, task_goal, "task 1 goal")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_coverage(cov: Mapping[str, Any], *, title: str | None = None):
    """The x-y histogram of a coverage artifact over the maze (log colour scale), the five singletask goals and a few
    episodes' paths."""
    hist = cov["histogram"]
    counts = np.asarray(hist["counts"], float)
    fig, ax = plt.subplots(figsize=(7.4, 5.2))
    extent = (*hist["x_range"], *hist["y_range"])
    im = ax.imshow(np.where(counts > 0, counts, np.nan), origin="lower", extent=extent, cmap="magma_r",
                   norm=LogNorm(vmin=1, vmax=max(2.0, counts.max())), interpolation="nearest")
    draw_maze(ax, cov["maze"])
    for path in cov.get("sample_paths", {}).get("xy", []):
        p = np.asarray(path)
        ax.plot(p[:, 0], p[:, 1], lw=0.8, color="tab:cyan", alpha=0.8)
    goals: dict[tuple[float, float], list[int]] = {}
    for k, g in enumerate(cov.get("task_goals_xy", []), start=1):
        goals.setdefault((float(g[0]), float(g[1])), []).append(k)
    for g, tasks in goals.items():
        _mark_goal(ax, g, ("task " if len(tasks) == 1 else "tasks ") + ", ".join(map(str, tasks)))
    fig.colorbar(im, ax=ax, shrink=0.8, label="transitions per bin")
    if title is None:
        title = (f"{cov['dataset_name']}: {cov['transitions']:,} transitions, {cov['episodes']:,} episodes, "
                 f"{100 * cov['cells_visited_fraction']:.0f}% of free cells visited")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


# --- the ant expert -------------------------------------------------------------------------------------------------


def plot_expert_curve(curve: Mapping[str, np.ndarray], *, title: str = ""):
    """The SAC expert's evaluations: displacement along the commanded directions per 100 steps, and the fraction of
    evaluation episodes that OGBench's health check ended early (torso height outside [0.2, 1.0])."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7.8, 3.4))
    step = np.asarray(curve["step"])
    ax0.plot(step, curve["eval/return_per_100_steps"], marker="o", ms=3)
    ax0.axhline(4.0, color="0.5", ls=":", lw=1)
    ax0.text(step.min(), 4.0, " one maze cell (4 units)", fontsize=7, va="bottom", color="0.4")
    ax0.set(xlabel="environment steps", ylabel="displacement per 100 steps", title="progress along the direction")
    ax1.plot(step, curve["eval/unhealthy"], marker="o", ms=3, color="tab:red")
    ax1.set(xlabel="environment steps", ylabel="fraction", ylim=(-0.05, 1.05), title="episodes ended by the health check")
    for ax in (ax0, ax1):
        ax.title.set_fontsize(9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def expert_summary(provenance: Mapping[str, Any]) -> str:
    """Markdown lines saying how an ant expert was trained (``floq_lite.expert.shipped.AntExpert.provenance``)."""
    cfg = provenance.get("config", {})
    lines = [
        (f"* environment: `{provenance.get('env', '?')}`, seed {provenance.get('seed', '?')}, command "
         f"`{provenance.get('command', '?')}`"),
        (f"* SAC: lr {cfg.get('lr', '?')}, batch {cfg.get('batch_size', '?')}, hidden "
         f"{cfg.get('hidden_dims', '?')}, γ {cfg.get('discount', '?')}, τ {cfg.get('tau', '?')}, target entropy "
         f"−{cfg.get('target_entropy_scale', '?')}·\\|A\\|, {cfg.get('random_steps', '?')} random warm-up steps"),
    ]
    final = provenance.get("final")
    if final:
        lines.append(f"* trained for {int(final.get('steps', 0)):,} environment steps in "
                     f"{final.get('wall_time_s', 0) / 60:.0f} min on {hardware_label(provenance.get('hardware'))}; "
                     f"final evaluation: {final.get('eval/return_per_100_steps', float('nan')):.2f} units per 100 "
                     f"steps along the commanded direction, {100 * final.get('eval/unhealthy', 0):.0f}% of episodes "
                     "ended early by the health check (torso too low or too high)")
    else:
        lines.append(f"* **provisional weights** ({provenance.get('provisional', 'an unfinished run')}): the final "
                     "expert replaces them")
    git = provenance.get("git") or {}
    if git:
        lines.append(f"* code: commit `{str(git.get('commit', '?'))[:7]}`" + (" (uncommitted changes)"
                                                                           if git.get("dirty") else ""))
    return "\n".join(lines)


# --- learning curves and final numbers ------------------------------------------------------------------------------


_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))  # per run: curves that coincide (both at 0) stay visible


def plot_study_curves(study: Mapping[str, Any], *, title: str | None = None):
    """Success rate and critic loss of every agent of a study artifact: seed mean, min..max band. The title says
    what produced the runs (tier, steps, seeds, hardware)."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7.8, 3.4))
    kinds = [run["agent"] for run in study["agents"].values()]
    by_agent = len(set(kinds)) == len(kinds)  # one run per agent: the book's agent colours; else a colour per run
    for i, (name, run) in enumerate(study["agents"].items()):
        color = _COLORS.get(run["agent"]) if by_agent else f"C{i}"
        ls, marker = _STYLES[i % len(_STYLES)]
        seed_band(ax0, run["eval"]["steps"], run["eval"]["success_rate"], color=color, label=name, linestyle=ls,
                  marker=marker)
        if "critic/critic_loss" in run["metrics"]:
            seed_band(ax1, run["metrics"]["steps"], run["metrics"]["critic/critic_loss"], color=color, label=name,
                      linestyle=ls)
    ax0.set(xlabel="training step", ylabel="success rate", ylim=(-0.05, 1.05), title="evaluation")
    ax1.set(xlabel="training step", ylabel="critic loss", yscale="log", title="critic loss (not comparable across "
            "agents)")
    ax0.legend(fontsize=8)
    for ax in (ax0, ax1):
        ax.title.set_fontsize(9)
    env = next(iter(study["agents"].values()))["env_name"]
    # wrapped to the figure's width: a wider title would widen the saved image beyond the page's column
    fig.suptitle(textwrap.fill(title or f"{env}  [{study_label(study)}]", width=110), fontsize=9)
    fig.tight_layout()
    return fig


def final_table(study: Mapping[str, Any]) -> str:
    """Markdown: per agent, the final success of each seed (mean of its last evaluations) and the mean ± std."""
    runs = study["agents"]
    seeds = sorted({s for r in runs.values() for s in r["seeds"]})
    n = study.get("last_n", 3)
    lines = ["| agent | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± std | steps | wall time |",
             "|---|" + "---|" * (len(seeds) + 3)]
    for name, r in runs.items():
        per = dict(zip(r["seeds"], r["final"]["per_seed"], strict=True))
        cells = [f"{per[s]:.2f}" if per.get(s) is not None else "" for s in seeds]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['final']['mean']:.2f} ± {r['final']['std']:.2f} "
                     f"| {int(r['steps']):,} | {_wall_text(r.get('wall_time_s'))} |")
    table = "\n".join(lines) + f"\n\n(final = mean success over the last {n} evaluations of each seed)"
    stretches = segments_note(study)
    return table + ("\n\n" + stretches if stretches else "")


def _wall_text(seconds: float | None) -> str:
    return "?" if not seconds else f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def segments_note(study: Mapping[str, Any]) -> str:
    """Markdown: for each run that was resumed, its stretches (steps, wall time, CPU or GPU); "" if none was.

    A long run may be continued on another machine, whose speed differs: its total wall time is then a sum over
    machines, and this says which."""
    lines = []
    for name, r in study["agents"].items():
        segments = r.get("segments") or []
        if len(segments) < 2:
            continue
        parts = []
        for g in segments:
            hw = g.get("hardware") or {}
            where = hardware_label(hw) + (f", {hw['cpu']}" if hw.get("cpu") and hw.get("jax_backend") == "cpu" else "")
            parts.append(f"steps {int(g['from_step']):,} to {int(g['to_step']):,} in "
                         f"{_wall_text(g.get('wall_time_s'))} ({where})")
        lines.append(f"* {name} ran in {len(segments)} stretches: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def equal_steps_table(study: Mapping[str, Any], step: int | None = None) -> str:
    """Markdown: every agent's success at one common step (default: the last step all of them reached), by the same
    rule as :func:`final_table` applied to the evaluations up to that step; for runs of unequal length."""
    runs = study["agents"]
    n = study.get("last_n", 3)
    step = min(int(r["steps"]) for r in runs.values()) if step is None else int(step)
    lines = [f"| agent | mean ± std at step {step:,} | seeds |", "|---|---|---|"]
    for name, r in runs.items():
        steps = np.asarray(r["eval"]["steps"])
        if steps.max() < step:
            raise ValueError(f"{name} was evaluated only up to step {steps.max():,}, not {step:,}.")
        keep = steps <= step
        per = final_success(steps[keep], np.asarray(r["eval"]["success_rate"], float)[:, keep], n)
        lines.append(f"| {name} | {per.mean():.2f} ± {per.std():.2f} | " + ", ".join(f"{v:.2f}" for v in per) + " |")
    return "\n".join(lines) + f"\n\n(mean success over the last {n} evaluations up to step {step:,})"


def window_table(study: Mapping[str, Any], edges: Sequence[int]) -> str:
    """Markdown: each agent's mean success over all evaluations in each stretch ``(lo, hi]`` of training between
    consecutive ``edges``, averaged over seeds, with the range of the seeds' own means: whether an agent is still
    improving or has levelled off. A stretch without evaluations of an agent shows as "-"."""
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"edges must be at least two increasing steps, got {list(edges)}.")
    spans = list(zip(edges, edges[1:]))
    lines = ["| agent | " + " | ".join(f"steps {lo:,}-{hi:,}" for lo, hi in spans) + " |",
             "|---|" + "---|" * len(spans)]
    for name, r in study["agents"].items():
        steps = np.asarray(r["eval"]["steps"])
        success = np.asarray([[np.nan if v is None else v for v in row] for row in r["eval"]["success_rate"]], float)
        cells = []
        for lo, hi in spans:
            keep = (steps > lo) & (steps <= hi)
            per_seed = success[:, keep]  # (S, evaluations in the stretch)
            if not np.isfinite(per_seed).any():
                cells.append("-")
                continue
            means = np.nanmean(per_seed, axis=1)  # (S,)
            cells.append(f"{np.nanmean(means):.2f} ({np.nanmin(means):.2f}-{np.nanmax(means):.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n(mean success over the evaluations in each stretch; seeds' range in brackets)"


def compare_final(study: Mapping[str, Any], a: str, b: str) -> str:
    """One Markdown sentence comparing the final success of agents ``a`` and ``b`` of a study: means, stds, the
    per-seed ranges and whether those ranges overlap (with this few seeds, no finer test is claimed)."""
    fa, fb = (np.asarray(study["agents"][n]["final"]["per_seed"], float) for n in (a, b))
    steps = {int(study["agents"][n]["steps"]) for n in (a, b)}
    budget = f"after {steps.pop():,} steps each" if len(steps) == 1 else "after DIFFERENT numbers of steps"
    if fa.min() > fb.max() or fb.min() > fa.max():
        ahead, behind = (a, b) if fa.mean() > fb.mean() else (b, a)
        verdict = f"**{ahead} is ahead**: every seed of {ahead} ends above every seed of {behind}"
    else:
        verdict = "the seed ranges overlap: **no difference within the seed spread**"
    return (f"Final success {budget}: {a} {fa.mean():.2f} ± {fa.std():.2f} (seeds {fa.min():.2f}–{fa.max():.2f}), "
            f"{b} {fb.mean():.2f} ± {fb.std():.2f} (seeds {fb.min():.2f}–{fb.max():.2f}); {verdict}.")


def paper_table_pointmaze(study: Mapping[str, Any], paper: Mapping[str, Any] = PAPER_RESULTS) -> str:
    """Markdown: our pointmaze numbers next to the paper's antmaze-large ones (neither paper reports pointmaze), and
    the conditions that differ."""
    lines = ["| | task | floq | FQL | networks | steps | data |", "|---|---|---|---|---|---|---|"]
    agents = study["agents"]
    f = {n: agents[n]["final"] for n in agents}
    cfg = next(iter(agents.values()))["config"]
    width = "×".join(str(w) for w in cfg["value_hidden_dims"])
    steps = int(next(iter(agents.values()))["steps"])
    rows = next(iter(agents.values()))["dataset"]["rows"]
    lines.append(f"| ours | pointmaze-medium task 3 | {100 * f['floq']['mean']:.0f}% ± {100 * f['floq']['std']:.0f} | "
                 f"{100 * f['FQL']['mean']:.0f}% ± {100 * f['FQL']['std']:.0f} | {width} | {steps:,} | "
                 f"generated, {rows:,} rows |")
    m = paper["five_task_mean"]
    lines.append(f"| paper | antmaze-large, mean of 5 tasks | {m['floq (default)']}% | {m['FQL (1M steps)']}% (1M) / "
                 f"{m['FQL (2M steps)']}% (2M) | 512×512×512×512 | 1M–2M | official, ~1M rows |")
    return "\n".join(lines)


def plot_paper_comparison(study: Mapping[str, Any], paper: Mapping[str, Any] = PAPER_RESULTS):
    """Bars: our final success (mean over seeds, seeds as dots) next to the published antmaze-large numbers."""
    fig, ax = plt.subplots(figsize=(7.8, 3.6))
    labels, values, colors, hatches = [], [], [], []
    for name, r in study["agents"].items():
        labels.append(f"{name}\n(ours, task 1)")
        values.append(100 * r["final"]["mean"])
        colors.append(_COLORS.get(r["agent"], "0.5"))
        hatches.append("")
    for name, v in paper["five_task_mean"].items():
        labels.append(f"{name}\n(paper, 5 tasks)")
        values.append(v)
        colors.append(_COLORS["floq"] if name.startswith("floq") else _COLORS["fql"])
        hatches.append("//")
    labels.append("FQL\n(paper, task 1)")
    values.append(paper["task1_fql"]["mean"])
    colors.append(_COLORS["fql"])
    hatches.append("//")
    x = np.arange(len(values))
    bars = ax.bar(x, values, color=colors, alpha=0.75)
    for bar, h in zip(bars, hatches, strict=True):
        bar.set_hatch(h)
        bar.set_edgecolor("white" if h else bar.get_facecolor())
    for i, r in enumerate(study["agents"].values()):
        pts = [100 * p for p in r["final"]["per_seed"] if p is not None]
        ax.plot([i] * len(pts), pts, "k.", ms=6)
    ax.errorbar([len(values) - 1], [paper["task1_fql"]["mean"]], yerr=[paper["task1_fql"]["std"]], color="k",
                capsize=3)
    for xi, v in zip(x, values, strict=True):
        ax.text(xi, v + 2, f"{v:.0f}", ha="center", fontsize=8)
    ax.set_xticks(x, labels, fontsize=7)
    ax.set(ylabel="success rate (%)", ylim=(0, 105))
    ax.set_title(f"ours: {study_label(study)}  |  paper: 4×512 nets, 1M-2M steps, GPU", fontsize=8)
    fig.tight_layout()
    return fig


# --- the critic microscope ------------------------------------------------------------------------------------------


def plot_value_maps(maze: Mapping[str, Any], xs: np.ndarray, ys: np.ndarray, maps: Mapping[str, np.ndarray], *,
                    goal_xy: Sequence[float] | None, label: str, what: str = "ant body fixed, x-y moved"):
    """One heat map per entry of ``maps`` (NaN inside walls) on a shared colour scale, the goal marked. ``label``
    says what produced the agents (it goes into the title)."""
    maps = {k: np.asarray([[np.nan if v is None else v for v in row] for row in m], float) for k, m in maps.items()}
    vals = np.concatenate([m[np.isfinite(m)] for m in maps.values()])
    vmin, vmax = np.percentile(vals, 1), np.percentile(vals, 99)
    xs, ys = np.asarray(xs), np.asarray(ys)
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    extent = (xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2)
    fig, axes = plt.subplots(1, len(maps), figsize=(7.8, 7.8 / len(maps) + 0.9), squeeze=False)
    for ax, (name, m) in zip(axes[0], maps.items(), strict=True):
        im = ax.imshow(m, origin="lower", extent=extent, cmap="viridis", vmin=vmin, vmax=vmax, interpolation="nearest")
        draw_maze(ax, maze)
        if goal_xy is not None:
            _mark_goal(ax, goal_xy)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.85, label="Q(s, π(s))")
    fig.suptitle(f"Value of the policy's own action over the maze ({what}), goal = red star\n[{label}]",
                 fontsize=9, y=1.02)
    return fig


# --- K at evaluation time -------------------------------------------------------------------------------------------


def plot_rollouts(study: Mapping[str, Any], *, title: str | None = None):
    """Where trained agents go (a rollouts artifact, :func:`floq_lite.reporting.export_rollouts`): one panel per run,
    every evaluation episode's x-y path over the maze (one colour per seed), a dot where a successful episode ended
    and a cross where a failed one did; the goal is the star."""
    runs = study["runs"]
    fig, axes = plt.subplots(1, len(runs), figsize=(3.9 * len(runs), 3.6), squeeze=False)
    for ax, (name, run) in zip(axes[0], runs.items(), strict=True):
        draw_maze(ax, study["maze"])
        seeds = list(run["seeds"])
        for ep in run["episodes"]:
            xy = np.asarray(ep["path"])  # (P, 2)
            color = f"C{seeds.index(ep['seed']) % 10}"
            ax.plot(xy[:, 0], xy[:, 1], color=color, lw=0.8, alpha=0.6)
            ax.plot(*xy[-1], "o" if ep["success"] else "x", color=color, ms=5, mew=1.5, zorder=4)
        _mark_goal(ax, study["goal_xy"])
        reached = sum(ep["success"] for ep in run["episodes"])
        ax.set_title(f"{name}, step {int(run['checkpoint_step']):,}: {reached} of {len(run['episodes'])} "
                     "episodes reach the goal", fontsize=8)
    seeds = list(next(iter(runs.values()))["seeds"])
    handles = [plt.Line2D([], [], color=f"C{i % 10}", lw=1.5, label=f"seed {s}") for i, s in enumerate(seeds)]
    handles += [plt.Line2D([], [], ls="", marker="x", color="0.3", label="failed: end"),
                plt.Line2D([], [], ls="", marker="o", color="0.3", label="reached the goal")]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(title or f"{study['env_name']}: evaluation episodes of the final checkpoints", fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def rollout_table(study: Mapping[str, Any]) -> str:
    """Markdown: per run, the episodes that reached the goal; the median over all episodes of the fewest cells left
    to walk to the goal (the closest approach, counted along the corridors), with the range of the seeds' own
    medians (a finer measure of progress than success when few episodes succeed); and the median cells left at the
    end of a failed episode."""
    lines = ["| agent | reached the goal | fewest cells left, median (seeds) | failed: cells left at the end |",
             "|---|---|---|---|"]
    for name, run in study["runs"].items():
        eps = run["episodes"]
        failed = [ep["end_cells"] for ep in eps if not ep["success"]]
        per_seed = [np.nanmedian([ep["closest_cells"] for ep in eps if ep["seed"] == s]) for s in run["seeds"]]
        closest = np.nanmedian([ep["closest_cells"] for ep in eps])
        end = f"{np.nanmedian(np.asarray(failed, float)):.0f}" if failed else "-"
        lines.append(f"| {name} | {len(eps) - len(failed)} of {len(eps)} | {closest:.1f} "
                     f"({min(per_seed):.1f}-{max(per_seed):.1f}) | {end} |")
    start = next(iter(study["runs"].values()))["episodes"][0]["start_cells"]
    return "\n".join(lines) + (f"\n\n(cells to walk along the corridors to the goal's cell; the start is {start:.0f} "
                               "cells away)")


def plot_k_eval(study: Mapping[str, Any]):
    """From a K artifact: mean flow-Q at the visited (s, a) against K (one line per seed, the distilled critic
    dashed), and the success rate against K (flat: the actor does not use the flow)."""
    ks, seeds, q = k_table(study, "flow_q_mean")
    _, _, dist = k_table(study, "distilled_q_mean")
    _, _, succ = k_table(study, "success_rate")
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7.8, 3.5))
    for i, s in enumerate(seeds):
        line, = ax0.plot(ks, q[i], marker="o", label=f"flow-Q, seed {s}")
        ax0.axhline(np.nanmean(dist[i]), color=line.get_color(), ls="--", lw=1)
        ax1.plot(ks, succ[i], marker="o", color=line.get_color(), label=f"seed {s}")
    ax0.axvline(study["train_k"], color="0.5", ls=":", label=f"training K = {study['train_k']}")
    ax0.set(xlabel="Euler steps K at evaluation", ylabel="mean Q at visited (s, a)",
            title="flow-Q vs K (dashed: distilled critic)")
    ax1.set(xlabel="Euler steps K at evaluation", ylabel="success rate", ylim=(-0.05, 1.05),
            title="success rate vs K")
    for ax in (ax0, ax1):
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.title.set_fontsize(9)
    ax0.legend(fontsize=7)
    fig.suptitle(f"{study['env_name']}, checkpoint at step {int(study['checkpoint_step']):,}, "
                 f"{study['episodes']} episodes per seed  [{study['tier']} tier, "
                 f"{hardware_label(study.get('run_hardware'))}]", fontsize=9)
    fig.tight_layout()
    return fig


# --- compute cost ---------------------------------------------------------------------------------------------------


def speed_table(speed: Mapping[str, Any], flops: Mapping[tuple[str, str], float] | None = None) -> str:
    """Markdown: ms per update and updates/s per size and agent from a speed artifact, with GFLOP per update
    (from ``flops[(size, agent)]`` if given, else the artifact's ``gflop_per_update``)."""
    lines = ["| size | agent | ms per update | updates / s | GFLOP per update | hours for 1M updates |",
             "|---|---|---|---|---|---|"]
    for r in speed["rows"]:
        ms = float(r["ms_per_update"])
        gflop = (flops or {}).get((r["size"], r["agent"]), r.get("gflop_per_update"))
        gflop_txt = f"{gflop:.2f}" if gflop is not None else "—"
        agent = r["agent"] if r.get("variant") in (None, "-", "fused") else f"{r['agent']} ({r['variant']})"
        lines.append(f"| {r['size']} | {agent} | {ms:g} | {1e3 / ms:.1f} | {gflop_txt} | {ms * 1e6 / 3.6e6:,.1f} |")
    return "\n".join(lines)


__all__ = [
    "compare_final",
    "draw_maze",
    "equal_steps_table",
    "expert_summary",
    "final_table",
    "hardware_label",
    "maze_dict",
    "paper_table_pointmaze",
    "plot_coverage",
    "plot_episodes",
    "plot_expert_curve",
    "plot_k_eval",
    "plot_paper_comparison",
    "plot_rollouts",
    "plot_study_curves",
    "plot_value_maps",
    "rollout_table",
    "run_label",
    "segments_note",
    "speed_table",
    "study_label",
    "window_table",
]
