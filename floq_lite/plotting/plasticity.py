"""Figures and tables of chapter 8 (plastic features), drawn from a study of :mod:`floq_lite.studies.plasticity`
(the committed artifact or a live re-run), and from the OGBench freeze runs (two run artifacts of
:func:`floq_lite.reporting.export_runs`: the plain runs and the same seeds with ``freeze_features_at`` set). Every
figure is sized for the book's ~780 px column and names its source.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from floq_lite.reporting import final_success
from floq_lite.studies import plasticity as pl
from floq_lite.plotting.antmaze import hardware_label
from floq_lite.plotting.bands import AGENT_COLORS, seed_band
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


def _ablation_phases(cells: Mapping[str, Mapping[str, Any]]) -> list[str]:
    phases: list[str] = []
    for cell in cells.values():
        phases += [p for p in cell["phases"] if p not in phases]
    return phases


def plot_ablations(study: Mapping[str, Any], problem: str, *, source: str):
    """Final ``|Q - Q*|`` of every variant of the ``ablations`` experiment, both critics side by side (mean,
    min-max over seeds, every seed a dot)."""
    cells = _cells(study, "ablations", problem)
    phases = _ablation_phases(cells)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    for j, (critic, cell) in enumerate(cells.items()):
        x = np.arange(len(phases)) + (j - (len(cells) - 1) / 2) * 0.18
        for i, phase in enumerate(phases):
            if phase not in cell["phases"]:
                continue
            values = pl.final(cell["phases"][phase])
            ax.errorbar(x[i], values.mean(), yerr=[[values.mean() - values.min()], [values.max() - values.mean()]],
                        fmt="o", color=COLORS[critic], capsize=3, label=f"{critic} critic" if i == 0 else None)
            ax.plot(np.full(values.shape, x[i]) + 0.06, values, ".", color=COLORS[critic], alpha=0.5, markersize=4)
    ax.set_xticks(np.arange(len(phases)), [p.replace(" the ", "\nthe ").replace(" backup", "\nbackup")
                                             for p in phases], fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # 0.5, 1, 2 rather than 5 x 10^-1
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if round(10 * y) in (5, 6, 8, 20) else ""))
    ax.set_ylabel("final mean |Q - Q*|")
    ax.set_title(f"{problem}: the follow-up's ablations ({source})", fontsize=10)
    legend_beside(ax)
    fig.tight_layout()
    return fig


def ablations_table(study: Mapping[str, Any], problem: str) -> str:
    """Markdown: final ``|Q - Q*|`` of every variant of ``ablations`` (mean ± std and the seed range), both
    critics."""
    cells = _cells(study, "ablations", problem)
    lines = ["| variant | " + " | ".join(f"{c} critic" for c in cells) + " |", "|---|" + "---|" * len(cells)]
    for phase in _ablation_phases(cells):
        row = []
        for cell in cells.values():
            if phase in cell["phases"]:
                v = pl.final(cell["phases"][phase])
                row.append(f"{_fmt(v)} ({v.min():.3f}–{v.max():.3f})")
            else:
                row.append("—")
        lines.append(f"| {phase} | " + " | ".join(row) + " |")
    return "\n".join(lines)


# --- the freeze on OGBench: two run artifacts, plain and frozen ---------------------------------------------------


def freeze_step(run: Mapping[str, Any]) -> int | None:
    """The ``freeze_features_at`` of a run of a runs artifact (``None``: never frozen)."""
    value = run["config"].get("freeze_features_at")
    return None if value is None else int(value)


def freeze_pairs(plain: Mapping[str, Any], frozen: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per agent found in both artifacts, the seeds both runs trained and, on those seeds, each run's evaluation
    curves (``(S, T)`` success rates on the common evaluation steps) and final success per seed.

    The frozen run of a seed starts exactly like the plain run of that seed, so the two are compared seed by seed
    (a frozen run may have fewer seeds than its plain twin). ``identical_until`` is the last common evaluation step up
    to which the two runs' success rates agree on every seed: the freeze step or later means the runs are the same
    training until the freeze, as they should be."""
    pairs = {}
    for name, f in frozen["agents"].items():
        if name not in plain["agents"]:
            raise KeyError(f"the plain runs have no agent {name!r} (they have {sorted(plain['agents'])}): name the "
                           "frozen runs as their plain twins when exporting them")
        p = plain["agents"][name]
        at = freeze_step(f)
        if at is None or freeze_step(p) is not None:
            raise ValueError(f"{name}: expected a plain run and a frozen one (freeze_features_at {freeze_step(p)} "
                             f"and {at})")
        seeds = [s for s in f["seeds"] if s in p["seeds"]]
        steps = sorted(set(p["eval"]["steps"]) & set(f["eval"]["steps"]))
        curves = {}
        for key, run in (("plain", p), ("frozen", f)):
            rows = [run["seeds"].index(s) for s in seeds]
            cols = [run["eval"]["steps"].index(t) for t in steps]
            curves[key] = np.asarray(run["eval"]["success_rate"], float)[np.ix_(rows, cols)]  # (S, T)
        same = np.all(curves["plain"] == curves["frozen"], axis=0)  # (T,)
        first_diff = int(np.argmin(same)) if not same.all() else len(steps)
        n = min(plain.get("last_n", 3), frozen.get("last_n", 3))
        pairs[name] = {
            "seeds": seeds, "steps": steps, "freeze_at": at, "curves": curves,
            "final": {k: final_success(steps, v, n) for k, v in curves.items()},  # (S,) each
            "identical_until": steps[first_diff - 1] if first_diff else None,
            "last_n": n, "hardware": f.get("hardware"),
        }
    return pairs


def plot_freeze_runs(plain: Mapping[str, Any], frozen: Mapping[str, Any], *, title: str | None = None):
    """Success rate over training of each agent's plain and frozen runs on the seeds they share (mean, min-max
    band), one panel per agent, the freeze step dotted."""
    pairs = freeze_pairs(plain, frozen)
    fig, axes = plt.subplots(1, len(pairs), figsize=(WIDTH_IN, 3.2), sharey=True, squeeze=False)
    for ax, (name, pair) in zip(axes[0], pairs.items()):
        color = AGENT_COLORS.get(frozen["agents"][name]["agent"], "tab:gray")
        seeds = f"seeds {pair['seeds'][0]}-{pair['seeds'][-1]}"
        for key, style, marker in (("plain", "-", "o"), ("frozen", "--", "s")):
            label = "features learning" if key == "plain" else "features frozen"
            seed_band(ax, pair["steps"], pair["curves"][key], color=color, linestyle=style, marker=marker,
                      label=label, count_seeds=False, alpha=0.15)
        ax.axvline(pair["freeze_at"], color="black", linewidth=0.8, linestyle=":")
        ax.set(xlabel="training step", ylim=(-0.05, 1.05))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:g}k"))  # 300000 labels collide
        ax.set_title(f"{name} ({seeds}), frozen at {pair['freeze_at']:,}", fontsize=9)
    axes[0, 0].set_ylabel("success rate")
    env = next(iter(frozen["agents"].values()))["env_name"]
    hw = hardware_label(next(iter(pairs.values()))["hardware"])
    fig.suptitle(title or f"{env}: features frozen at a quarter of training (committed runs, {hw})", fontsize=9)
    legend_below(fig, axes[0, 0])
    return fig


def freeze_runs_table(plain: Mapping[str, Any], frozen: Mapping[str, Any]) -> str:
    """Markdown: per agent, the success of each shared seed with features learning and frozen at the last step both
    runs reached (a frozen run still training is compared at equal steps), their means and the per-seed change;
    then whether the runs agree up to the freeze."""
    pairs = freeze_pairs(plain, frozen)
    lines = ["| agent | seeds | at step | features learning | features frozen | frozen minus learning, per seed |",
             "|---|---|---|---|---|---|"]
    notes = []
    for name, pair in pairs.items():
        a, b = pair["final"]["plain"], pair["final"]["frozen"]
        per = ", ".join(f"{d:+.2f}" for d in b - a)
        lines.append(f"| {name} | {', '.join(map(str, pair['seeds']))} | {pair['steps'][-1]:,} | "
                     f"{a.mean():.2f} ± {a.std():.2f} ({', '.join(f'{v:.2f}' for v in a)}) | "
                     f"{b.mean():.2f} ± {b.std():.2f} ({', '.join(f'{v:.2f}' for v in b)}) | {per} |")
        until, at = pair["identical_until"], pair["freeze_at"]
        notes.append(f"{name}: the two runs differ from the first evaluation on (freeze at {at:,})" if until is None
                     else f"{name}: the two runs' success rates are identical on every seed up to step {until:,} "
                          f"(freeze at {at:,})")
    n = next(iter(pairs.values()))["last_n"]
    return ("\n".join(lines) + f"\n\n(each seed: the mean success over its last {n} evaluations up to the step "
            "shown, the last step both runs reached; " + "; ".join(notes) + ")")


__all__ = [
    "ablations_table",
    "diagnostics_table",
    "freeze_pairs",
    "freeze_runs_table",
    "freeze_step",
    "plot_ablations",
    "plot_diagnostics",
    "plot_freeze_runs",
    "plot_norm_vs_t",
    "plot_phases",
    "plot_sequence",
    "split_table",
    "summary_table",
]
