"""Chapter 8's study: plastic features, the follow-up paper's answer, tested where ``Q*`` is known.

The monolithic critic and the flow critic (``K = 8``, ``kappa = 0.1``) of chapter 7, at equal width, on chapter
3's maze (one-hot states) and on the 11x11 maze of chapter 7 (coordinates), 5 seeds vmapped. Four experiments, each
a *cell* per (problem, critic):

``freeze``      train ``N`` steps; once as usual, once with the features frozen after ``N / 4`` steps (only the head
                and its target learn from then on). Does the error keep falling with frozen features?
``moved-goal``  train ``N`` steps on the maze's goal, then ``N`` steps on the same maze with another goal (a new
                ``Q*``): with the features frozen, with all parameters learning, and a fresh critic for comparison.
                Can the old features represent the new target?
``sequence``    a sequence of 4 goals, ``N / 2`` steps each, every parameter learning all along (non-stationary
                targets without freezing, the capacity-loss setting of Lyle et al., 2022); after each goal, the
                error on it next to a fresh critic's after the same number of steps.
``replay``      a small fixed dataset (one transition per state-action pair) trained for ``2 N`` steps, many updates
                per transition (the offline analogue of a high update-to-data ratio), next to the exact dataset.
                The error is measured against the true ``Q*`` and against the ``Q*`` of the dataset's own
                (empirical) MDP.

A fifth experiment, on the 11x11 maze only, asks the follow-up's other questions (its section 6):

``ablations``   train ``N`` steps as usual (``baseline``), with ``Unif[-m, m]`` noise on every regression target for
                each ``m`` of :data:`NOISE_LEVELS` (both critics), and, for the flow critic, with the network
                regressing the final value instead of the velocity, and with the distributional backup (one TD target
                per noise draw) instead of the expected one.

The plasticity diagnostics (srank and dormant fraction of each hidden layer, the feature norm, for the flow critic
also per Euler step) are tracked over training in ``freeze``, ``moved-goal`` and ``sequence``.

:func:`run_study` writes one JSON per cell (a stopped study resumes) and the merged artifact
``floq_lite.plasticity/1``; the chapter plots the committed one and re-runs the ``teach`` plan live.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from floq_lite.studies import iterative_compute as ic
from floq_lite.studies import mdp as mdp_lib
from floq_lite.studies import tabular_td as td
from floq_lite.studies._sweep import config_json, rounded, run_cells, summary_only
from floq_lite.tiers import current_tier

FORMAT = "floq_lite.plasticity/1"
ARTIFACT = "plasticity.json"
EXPERIMENTS = ("freeze", "moved-goal", "sequence", "replay", "ablations")
CRITICS = ("monolithic", "flow")
NUM_GOALS = 4
# Half-widths of the target noise: about 10% and 40% of the 11x11 maze's Q* range (-20.5 to -0.2). The follow-up adds
# 4, 8 or 16 on tasks whose returns span about 200 (2-8% of the range, but 4-16 times the per-step reward of 1).
NOISE_LEVELS = (2.0, 8.0)
# The flow critic's two other variants (TDConfig fields), by phase name.
FLOW_VARIANTS = {"predicts the final value": {"predicts": "final"},
                 "distributional backup": {"backup": "distributional"}}


@dataclasses.dataclass(frozen=True)
class Cell:
    """One experiment for one critic on one problem (all seeds together)."""

    experiment: str
    problem: str
    critic: str
    steps: int  # N
    width: int = 64

    @property
    def key(self) -> str:
        return f"{self.experiment}__{self.problem}__{self.critic}"


def goal_cells(problem: str, count: int = NUM_GOALS) -> list[tuple[int, int]]:
    """``count`` goal cells of a problem's maze: its own goal first, then the free cells at about 1/3, 2/3 and all of
    the largest walking distance from it (deterministic)."""
    maze = ic.PROBLEMS[problem].mdp()
    layout = ic.PROBLEMS[problem].layout
    corridor = mdp_lib.make_maze(layout, slip=0.0)
    dist = -mdp_lib.value_iteration(corridor).max(axis=1)  # value of a deterministic walk ~ distance
    order = np.argsort(dist, kind="stable")
    picks = [maze.goal] + [int(order[min(int(round(f * (len(order) - 1))), len(order) - 1)])
                           for f in np.linspace(1 / (count - 1), 1.0, count - 1)]
    return [tuple(int(v) for v in maze.cells[s]) for s in picks]


def problem_with_goal(problem: str, cell: tuple[int, int]) -> mdp_lib.TabularMDP:
    return mdp_lib.make_maze(mdp_lib.with_goal(ic.PROBLEMS[problem].layout, cell))


def cell_config(cell: Cell, *, track: bool = True) -> td.TDConfig:
    """Chapter 7's setup (:func:`~floq_lite.studies.iterative_compute.base_config`) at ``K = 8``, no snapshot."""
    cfg = ic.base_config(ic.PROBLEMS[cell.problem], cell.width, cell.steps)
    return cfg.replace(snapshot_at=0, track_features=track)


def plan(tier: str | None = None) -> list[Cell]:
    """``paper``: the committed study (both problems, every experiment; ``ablations`` on the 11x11 maze only);
    ``teach``: the chapter's live re-run (chapter 3's maze, the freeze); ``smoke``: seconds of the same
    code path."""
    tier = current_tier(tier)
    if tier == "smoke":
        return [Cell("freeze", "maze6", c, 40, width=16) for c in CRITICS]
    if tier == "teach":
        return [Cell("freeze", "maze6", c, 600) for c in CRITICS]  # about 45 s on a 2-core CPU, mostly compiling
    steps = {"maze6": 6000, "maze11": 12000}
    return [Cell(e, p, c, steps[p]) for p in ("maze6", "maze11") for e in EXPERIMENTS for c in CRITICS
            if e != "ablations" or p == "maze11"]


def study_seeds(tier: str | None = None) -> tuple[int, ...]:
    return (0, 1) if current_tier(tier) == "smoke" else ic.SEEDS


# --- one cell ----------------------------------------------------------------------------------------------------------


def _phase(result: td.TDResult, maze: mdp_lib.TabularMDP, q_star: np.ndarray) -> dict[str, Any]:
    """What a cell keeps of one training phase: curves, final metrics, diagnostics over training."""
    metrics = td.table_metrics(maze, result.q_table, q_star)
    out = {"steps": [int(s) for s in result.steps], "q_error_curve": rounded(result.q_error),
           "final": {k: rounded(v) for k, v in metrics.items()}}
    if result.diagnostics is not None:
        out["diagnostics"] = {k: rounded(v, 4) for k, v in result.diagnostics.items()}
    return out


def _train(kind: str, maze: mdp_lib.TabularMDP, cfg: td.TDConfig, seeds: Sequence[int], progress: bool,
           init: td.TDResult | None = None) -> tuple[td.TDResult, np.ndarray]:
    q_star = mdp_lib.value_iteration(maze)
    if init is not None:
        return td.continue_training(init, maze, cfg, q_star=q_star, progress=progress), q_star
    return td.train_critic(kind, maze, cfg, seeds, q_star=q_star, progress=progress), q_star


def run_cell(cell: Cell, seeds: Sequence[int] = ic.SEEDS, progress: bool = False) -> dict[str, Any]:
    """Train one cell's phases (see the module docstring) and return a JSON-ready dict."""
    kind = "monolithic" if cell.critic == "monolithic" else "flow"
    cfg = cell_config(cell)
    goals = goal_cells(cell.problem)
    maze = problem_with_goal(cell.problem, goals[0])
    out: dict[str, Any] = {"cell": dataclasses.asdict(cell), "kind": kind, "seeds": list(seeds),
                           "goals": [list(g) for g in goals], "config": config_json(cfg)}
    if cell.experiment == "freeze":
        plain, q_star = _train(kind, maze, cfg, seeds, progress)
        frozen, _ = _train(kind, maze, cfg.replace(freeze_features_at=cell.steps // 4), seeds, progress)
        out["phases"] = {"plain": _phase(plain, maze, q_star), "frozen": _phase(frozen, maze, q_star)}
        out["freeze_at"] = cell.steps // 4
        summary = (plain.q_error[:, -1], frozen.q_error[:, -1])
        out["summary"] = f"final |Q - Q*| plain {summary[0].mean():.3f}, frozen at 25% {summary[1].mean():.3f}"
    elif cell.experiment == "moved-goal":
        first, q_a = _train(kind, maze, cfg, seeds, progress)
        moved = problem_with_goal(cell.problem, goals[1])
        frozen, q_b = _train(kind, moved, cfg.replace(freeze_features_at=0), seeds, progress, init=first)
        learning, _ = _train(kind, moved, cfg, seeds, progress, init=first)
        fresh, _ = _train(kind, moved, cfg, seeds, progress)
        out["phases"] = {"first goal": _phase(first, maze, q_a), "moved, frozen features": _phase(frozen, moved, q_b),
                         "moved, all learning": _phase(learning, moved, q_b), "moved, fresh": _phase(fresh, moved, q_b)}
        out["summary"] = (f"new goal: frozen {frozen.q_error[:, -1].mean():.3f}, learning "
                          f"{learning.q_error[:, -1].mean():.3f}, fresh {fresh.q_error[:, -1].mean():.3f}")
    elif cell.experiment == "sequence":
        seq_cfg = cfg.replace(num_steps=cell.steps // 2)
        phases, previous = {}, None
        for i, goal in enumerate(goals):
            task = problem_with_goal(cell.problem, goal)
            previous, q_star = _train(kind, task, seq_cfg, seeds, progress, init=previous)
            fresh, _ = _train(kind, task, seq_cfg, seeds, progress)
            phases[f"goal {i + 1}"] = _phase(previous, task, q_star)
            phases[f"goal {i + 1}, fresh"] = _phase(fresh, task, q_star)
        out["phases"] = phases
        last = NUM_GOALS
        out["summary"] = (f"goal {last}: after the sequence {phases[f'goal {last}']['q_error_curve'][0][-1]:.3f} "
                          f"(seed 0), fresh {phases[f'goal {last}, fresh']['q_error_curve'][0][-1]:.3f}")
    elif cell.experiment == "replay":
        long_cfg = cfg.replace(num_steps=2 * cell.steps, eval_every=2 * cfg.eval_every, track_features=False)
        small_cfg = long_cfg.replace(dataset_size=(maze.num_states - 1) * maze.num_actions, dataset_seed=0)
        full, q_star = _train(kind, maze, long_cfg, seeds, progress)
        small, _ = _train(kind, maze, small_cfg, seeds, progress)
        empirical = mdp_lib.empirical_mdp(maze, mdp_lib.sampled_dataset(maze, small_cfg.dataset_size, seed=0))
        q_emp = mdp_lib.value_iteration(empirical)
        out["phases"] = {"exact dataset": _phase(full, maze, q_star), "small dataset": _phase(small, maze, q_star)}
        out["small_vs_empirical_q"] = rounded([mdp_lib.q_error(maze, q, q_emp) for q in small.q_table])
        out["empirical_vs_true_q"] = round(mdp_lib.q_error(maze, q_emp, q_star), 5)
        out["dataset_rows"] = {"exact": int(len(mdp_lib.transition_dataset(maze)["state"])),
                               "small": int(small_cfg.dataset_size)}
        out["summary"] = (f"small dataset: |Q - Q*| {small.q_error[:, -1].mean():.3f} (exact dataset "
                          f"{full.q_error[:, -1].mean():.3f})")
    elif cell.experiment == "ablations":
        base = cfg.replace(track_features=False)
        variants = {"baseline": base, **{noise_phase(m): base.replace(target_noise=m) for m in NOISE_LEVELS}}
        if kind == "flow":
            variants.update({name: base.replace(**fields) for name, fields in FLOW_VARIANTS.items()})
        phases = {}
        for name, variant in variants.items():
            result, q_star = _train(kind, maze, variant, seeds, progress)
            phases[name] = _phase(result, maze, q_star)
        out["phases"] = phases
        out["noise_levels"] = list(NOISE_LEVELS)
        out["summary"] = "; ".join(f"{name} {np.mean(final(p)):.3f}" for name, p in phases.items())
    else:
        raise ValueError(f"Unknown experiment {cell.experiment!r}; choose one of {', '.join(EXPERIMENTS)}.")
    return out


def noise_phase(m: float) -> str:
    """The phase name of a target-noise level of ``ablations``."""
    return f"target noise ±{m:g}"


def run_study(out: str | os.PathLike[str], tier: str | None = None, *, progress: bool = True,
              log: Callable[[str], None] = print, resume_from: dict[str, Any] | None = None,
              jobs: int = 1) -> dict[str, Any]:
    """Train every cell of ``plan(tier)`` into ``out/cells/`` (skipping cells already there, or in the
    earlier study ``resume_from``), ``jobs`` cells at a time, then write
    ``out/plasticity.json`` and return it."""
    tier = current_tier(tier)
    cells, seeds = plan(tier), study_seeds(tier)
    header = {
        "format": FORMAT,
        "tier": tier,
        "seeds": list(seeds),
        "problems": {name: {"description": ic.PROBLEMS[name].description, "goals": [list(g) for g in goal_cells(name)]}
                     for name in sorted({c.problem for c in cells})},
        "command": f"floq-lite study plasticity --tier {tier} --out DIR",
    }
    train = functools.partial(run_cell, seeds=seeds, progress=progress and jobs == 1)
    return run_cells(out, cells, train, artifact=ARTIFACT, header=header, log=log, resume_from=resume_from, jobs=jobs)


# --- reading a study ------------------------------------------------------------------------------------------------


def cell_of(study: dict[str, Any], experiment: str, problem: str, critic: str) -> dict[str, Any]:
    return study["cells"][Cell(experiment, problem, critic, 0).key]


def final(phase: dict[str, Any], metric: str = "q_error") -> np.ndarray:
    """Final ``metric`` per seed of a phase."""
    return np.asarray(phase["final"][metric])


__all__ = [
    "ARTIFACT",
    "CRITICS",
    "Cell",
    "EXPERIMENTS",
    "FLOW_VARIANTS",
    "FORMAT",
    "NOISE_LEVELS",
    "cell_config",
    "cell_of",
    "final",
    "goal_cells",
    "noise_phase",
    "plan",
    "problem_with_goal",
    "run_cell",
    "run_study",
    "study_seeds",
    "summary_only",
]
