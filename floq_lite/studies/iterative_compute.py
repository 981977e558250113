"""Chapter 7's study: when do K integration steps pay? floq's scaling claim on mazes whose ``Q*`` is known.

One *cell* of the study is one critic trained on one problem with one network width, 5 seeds vmapped (the flow
critic at ``K = 8`` and width 64 on maze11 also over three noise coverages ``kappa``, which are data, not
compile-time constants). Per cell it keeps the ``|Q - Q*|`` curve of every seed, the final ``|Q - Q*|``,
greedy-action agreement and greedy-policy gap (exact policy evaluation), the FLOPs per Q-value, and for flow critics
the test-time recovery measurements and a few learned ``z_t`` paths.

The critics of a problem at width ``w`` (all with 2 hidden layers unless said):

==================  ===========================================================================================
``monolithic``      the ``Value`` MLP
``deep-mlp``        an MLP of width ``w`` with as many hidden layers as make its FLOPs per Q-value those of the
                    flow critic at ``K = 8`` (the paper's compute-matched comparison)
``resnet``          the official ResNet critic, as many residual blocks as match the same FLOPs
``flow-K{k}``       the flow critic trained (and evaluated) with ``K = k`` Euler steps, ``k`` in 1, 2, 4, 8, 16
``flow-t0``         floq's ablation: velocity supervised at ``t = 0`` only, one Euler step
==================  ===========================================================================================

The problems: chapter 3's maze (one-hot states) and two generated mazes whose states reach the networks as
coordinates, so that the walls make ``Q*`` jump between neighbouring inputs and a small network is short of capacity.

:func:`run_study` trains every cell of a tier's plan, writing one JSON per cell (a run that stops resumes where it
was: finished cells are skipped; ``jobs=2`` trains two at once), then merges them into one artifact
(``floq_lite.iterative_compute/1``). The ``long`` cells (the same critic trained ``LONG_FACTOR`` times as long)
continue their main runs' training states instead of starting again: the same result, a third less work. The
chapter plots the committed artifact and re-runs the ``teach`` plan live.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import pickle
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from floq_lite.atomic import atomic_write_bytes
from floq_lite.studies import mdp as mdp_lib
from floq_lite.studies import tabular_td as td
from floq_lite.studies._sweep import config_json, rounded, run_cells, summary_only
from floq_lite.tiers import current_tier

FORMAT = "floq_lite.iterative_compute/1"
ARTIFACT = "iterative_compute.json"
SEEDS = (0, 1, 2, 3, 4)
FLOW_KS = (1, 2, 4, 8, 16)
KAPPAS = (0.1, 0.25, 1.0)  # the flow-K8 cell of KAPPA_PROBLEM trains all three; every other flow cell the first
KAPPA_PROBLEM = "maze11"  # coverage on a coordinate maze (chapter 3 already compares coverages on maze6)
MATCH_K = 8  # the FLOP-matched critics match the flow critic at this K
LONG_FACTOR = 3  # the "long" cells train this many times the problem's steps
LONG_CRITICS = ("monolithic", "flow-K16")  # the MLP and the best flow critic, continued from their main runs
TARGET_EVERY = 20  # updates per target Q-table (at most; it must divide the evaluation interval)


@dataclasses.dataclass(frozen=True)
class Problem:
    """A maze and how its states reach the networks."""

    name: str
    layout: tuple[str, ...]
    inputs: str  # "onehot" or "coords"
    description: str

    def mdp(self) -> mdp_lib.TabularMDP:
        return mdp_lib.make_maze(self.layout)


PROBLEMS: dict[str, Problem] = {
    p.name: p for p in (
        Problem("maze6", mdp_lib.DEFAULT_LAYOUT, "onehot", "chapter 3's 6x6 maze, one-hot states"),
        Problem("maze11", mdp_lib.generated_layout(11, 11, seed=0), "coords", "a generated 11x11 maze, coordinates"),
        Problem("maze15", mdp_lib.generated_layout(15, 15, seed=1), "coords", "a generated 15x15 maze, coordinates"),
    )
}


@dataclasses.dataclass(frozen=True)
class Cell:
    """One critic on one problem at one width (all seeds together)."""

    problem: str
    critic: str  # monolithic, deep-mlp, resnet, flow-K{k}, flow-t0
    width: int
    steps: int
    tag: str = ""  # "long": the same critic trained LONG_FACTOR times longer (kept apart from the main map)

    @property
    def key(self) -> str:
        return f"{self.problem}__{self.critic}__w{self.width}" + (f"__{self.tag}" if self.tag else "")

    @property
    def kind(self) -> str:
        return {"monolithic": "monolithic", "deep-mlp": "monolithic", "resnet": "resnet"}.get(self.critic, "flow")

    @property
    def flow_steps(self) -> int:
        if self.critic == "flow-t0":
            return 1
        return int(self.critic.split("K")[1]) if self.critic.startswith("flow-K") else MATCH_K

    @property
    def kappas(self) -> tuple[float, ...]:
        sweep = self.critic == f"flow-K{MATCH_K}" and self.width == 64 and self.problem == KAPPA_PROBLEM
        return KAPPAS if sweep and not self.tag else KAPPAS[:1]

    @property
    def base(self) -> "Cell | None":
        """The main-run cell a ``long`` cell continues (its first ``steps / LONG_FACTOR`` steps), else None."""
        return dataclasses.replace(self, steps=self.steps // LONG_FACTOR, tag="") if self.tag == "long" else None

    @property
    def requires(self) -> str | None:
        """The key of the cell that must be trained first (:func:`~floq_lite.studies._sweep.run_cells`)."""
        return self.base.key if self.base else None

    @property
    def cost(self) -> float:
        """A rough training cost in update-milliseconds on a 2-core CPU (measured per critic on maze11 at width 64),
        so that parallel workers start the longest cells first. Only the order matters."""
        flow = 5.0 + 0.65 * self.flow_steps
        per_update = {"monolithic": 1.0, "deep-mlp": 12.5, "resnet": 14.0}.get(self.critic, flow)
        per_update *= max(self.width / 64, 0.7) * (0.6 if self.problem == "maze6" else 1.0) * len(self.kappas) ** 1.2
        return per_update * (self.steps - (self.base.steps if self.base else 0))


def base_config(problem: Problem, width: int, steps: int) -> td.TDConfig:
    """The shared training setup of every critic (chapter 3's, with a target table refreshed every 10 updates)."""
    return td.TDConfig(
        hidden_dims=(width, width),
        batch_size=128,
        lr=1e-3,
        tau=0.05,
        num_steps=steps,
        eval_every=steps // 20,
        kappa=KAPPAS[0],
        flow_steps=MATCH_K,
        noise_samples=4,
        eval_noise_samples=8,
        inputs=problem.inputs,
        target_every=min(10, steps // 20),
        snapshot_at=steps // 4 // (steps // 20) * (steps // 20),  # a stale copy at 25% (the follow-up freezes there)
    )


def cell_config(cell: Cell) -> td.TDConfig:
    """The :class:`~floq_lite.studies.tabular_td.TDConfig` of a cell (a ``long`` cell: its main run's, longer)."""
    if cell.base:
        return cell_config(cell.base).replace(num_steps=cell.steps)
    problem = PROBLEMS[cell.problem]
    cfg = base_config(problem, cell.width, cell.steps)
    # a target table per 20 updates, not 10 as in chapter 8's study: maze11, K = 8, 11.1 -> 8.7 ms per update
    cfg = cfg.replace(target_every=math.gcd(TARGET_EVERY, cfg.eval_every))
    if cell.kind == "flow":
        return cfg.replace(flow_steps=cell.flow_steps, train_at_zero_only=cell.critic == "flow-t0")
    if cell.critic == "monolithic":
        return cfg.replace(snapshot_at=0)
    target = td.flops_per_q("flow", problem.mdp(), cfg, flow_steps=MATCH_K)
    return td.flop_matched_config(cell.kind, problem.mdp(), cfg.replace(snapshot_at=0), target)


# --- the plans of the tiers -------------------------------------------------------------------------------------------


def plan(tier: str | None = None) -> list[Cell]:
    """The cells of a tier: ``paper`` is the committed sweep (about an hour on 2 cores), ``teach`` the chapter's live
    re-run (minutes), ``smoke`` a few seconds of the same code path."""
    tier = current_tier(tier)
    critics = ["monolithic", "deep-mlp", "resnet", *[f"flow-K{k}" for k in FLOW_KS], "flow-t0"]
    if tier == "smoke":
        return [Cell("maze6", c, 16, 40) for c in ("monolithic", "flow-K2")]
    if tier == "teach":
        # about 35 s on a 2-core CPU: chapter 3's maze, where K's effect and the gap to the MLP already show
        return [Cell("maze6", c, 64, 1000) for c in ("monolithic", "flow-K1", "flow-K4")]
    steps = {"maze6": 8000, "maze11": 20000, "maze15": 20000}
    cells = [Cell(p, c, 64, steps[p]) for p in ("maze6", "maze11") for c in critics]
    cells += [Cell("maze15", c, 64, steps["maze15"]) for c in ("monolithic", "deep-mlp", "flow-K1", "flow-K8")]
    cells += [Cell(p, c, w, steps[p]) for p in ("maze6", "maze11") for w in (16, 32, 128)
              for c in ("monolithic", f"flow-K{MATCH_K}")]
    # Does the gap close with training? The best flow critic and the MLP, 3x longer on maze11.
    cells += [Cell("maze11", c, 64, LONG_FACTOR * steps["maze11"], tag="long") for c in LONG_CRITICS]
    return cells


def study_seeds(tier: str | None = None) -> tuple[int, ...]:
    return (0, 1) if current_tier(tier) == "smoke" else SEEDS


# --- one cell ----------------------------------------------------------------------------------------------------------


def run_cell(cell: Cell, seeds: Sequence[int] = SEEDS, progress: bool = False,
             states: str | os.PathLike[str] | None = None, keep_states: Collection[str] = ()) -> dict[str, Any]:
    """Train one cell and measure it (see the module docstring). Returns a JSON-ready dict.

    ``states``: a directory where the cells named in ``keep_states`` (the main runs that ``long`` cells continue)
    leave their final training states, and where a ``long`` cell looks for its main run's: found, it trains only
    the extra steps (:func:`td.train_longer`, the same result); missing, it trains all its steps from the start.
    """
    problem = PROBLEMS[cell.problem]
    maze = problem.mdp()
    q_star = mdp_lib.value_iteration(maze)
    cfg = cell_config(cell)
    saved = Path(states) / f"{cell.base.key}.pkl" if states is not None and cell.base else None
    base = pickle.loads(saved.read_bytes()) if saved is not None and saved.exists() else None
    if base is not None and base.seeds.tolist() == list(seeds):
        result = td.train_longer(base, maze, cell.steps - cell.base.steps, q_star=q_star, progress=progress)
    else:
        result = td.train_critic(cell.kind, maze, cfg, seeds, kappas=cell.kappas if cell.kind == "flow" else None,
                                 q_star=q_star, progress=progress)
    if states is not None and cell.key in keep_states:
        atomic_write_bytes(Path(states) / f"{cell.key}.pkl", pickle.dumps(result._replace(diagnostics=None)))
    metrics = td.table_metrics(maze, result.q_table, q_star)
    out: dict[str, Any] = {
        "cell": dataclasses.asdict(cell),
        "kind": cell.kind,
        "config": config_json(cfg),
        "depth": len(cfg.hidden_dims) if cell.kind == "monolithic" else None,
        "resnet_blocks": cfg.resnet_blocks if cell.kind == "resnet" else None,
        "flops_per_q": td.flops_per_q(cell.kind, maze, cfg),
        "seeds": [int(s) for s in result.seeds],
        "kappas": [float(k) for k in result.kappas],
        "steps": [int(s) for s in result.steps],
        "q_error_curve": rounded(result.q_error),
        "final": {k: rounded(v) for k, v in metrics.items()},
        "summary": f"mean |Q - Q*| {metrics['q_error'].mean():.3f} (seeds {metrics['q_error'].min():.3f}-"
                   f"{metrics['q_error'].max():.3f})",
    }
    if cell.kind == "flow":
        first = result.select(cell.kappas[0])
        rec = td.recovery_errors(maze, first, q_star=q_star)
        out["recovery"] = {"steps_corrupted": rec["steps_corrupted"].tolist(), "stale_error": rounded(rec["stale_error"]),
                           "noise_gain": rounded(rec["noise_gain"]), "snapshot_at": cfg.snapshot_at}
        out["paths"] = _paths(maze, first, q_star)
    return out


def _paths(maze: mdp_lib.TabularMDP, result: td.TDResult, q_star: np.ndarray) -> dict[str, Any]:
    """``z_t`` paths of seed 0 at its most and its least accurate ``(s, a)`` pair."""
    err = np.abs(result.q_table[0] - q_star)
    err[maze.goal] = np.nan
    out = {}
    for name, flat in (("best", np.nanargmin(err)), ("worst", np.nanargmax(err))):
        s, a = np.unravel_index(flat, err.shape)
        t, z = td.z_paths(maze, result, int(s), int(a), run=0)
        out[name] = {"state": int(s), "action": int(a), "q_star": float(q_star[s, a]), "q": float(result.q_table[0, s, a]),
                     "t": rounded(t), "z": rounded(z, 4)}
    return out


# --- the sweep ------------------------------------------------------------------------------------------------------


def run_study(out: str | os.PathLike[str], tier: str | None = None, *, progress: bool = True,
              log: Callable[[str], None] = print, resume_from: dict[str, Any] | None = None,
              jobs: int = 1) -> dict[str, Any]:
    """Train every cell of ``plan(tier)`` into ``out/cells/`` (skipping cells already there, or in the
    earlier study ``resume_from``), ``jobs`` cells at a time, then write the merged
    artifact ``out/iterative_compute.json`` and return it."""
    tier = current_tier(tier)
    cells, seeds = plan(tier), study_seeds(tier)
    header = {
        "format": FORMAT,
        "tier": tier,
        "seeds": list(seeds),
        "problems": {name: {"layout": list(p.layout), "inputs": p.inputs, "description": p.description,
                            "states": p.mdp().num_states} for name, p in PROBLEMS.items()
                     if any(c.problem == name for c in cells)},
        "command": f"floq-lite study iterative-compute --tier {tier} --out DIR",
    }
    train = functools.partial(run_cell, seeds=seeds, progress=progress and jobs == 1, states=Path(out) / "states",
                              keep_states=frozenset(c.base.key for c in cells if c.base))
    return run_cells(out, cells, train, artifact=ARTIFACT, header=header, log=log, resume_from=resume_from, jobs=jobs)


# --- reading a study ------------------------------------------------------------------------------------------------


def cells_of(study: dict[str, Any], problem: str, width: int | None = None, tag: str = ""
             ) -> dict[str, dict[str, Any]]:
    """``{critic: cell}`` of one problem (at one width, default 64 if present); ``tag="long"`` gives the longer
    runs instead."""
    found = [c for c in study["cells"].values() if c["cell"]["problem"] == problem
             and c["cell"].get("tag", "") == tag]
    widths = sorted({c["cell"]["width"] for c in found})
    if not widths:
        return {}
    width = width if width is not None else (64 if 64 in widths else widths[0])
    return {c["cell"]["critic"]: c for c in found if c["cell"]["width"] == width}


def final_error(cell: dict[str, Any], kappa: float | None = None, metric: str = "q_error") -> np.ndarray:
    """Final ``metric`` per seed of a cell (flow-K8 cells: the runs with ``kappa``, default the first)."""
    values, kappas = np.asarray(cell["final"][metric]), np.asarray(cell["kappas"])
    kappa = kappas[0] if kappa is None else kappa
    return values[np.isclose(kappas, kappa)]


def error_map(study: dict[str, Any], metric: str = "q_error") -> list[dict[str, Any]]:
    """The map: per problem (width 64), every critic's final ``metric`` (mean, std over seeds), its FLOPs per
    Q-value, and which flow setting is best, against the monolithic and FLOP-matched critics."""
    rows = []
    for problem in study["problems"]:
        cells = cells_of(study, problem)
        for critic, cell in cells.items():
            v = final_error(cell, metric=metric)
            rows.append({"problem": problem, "critic": critic, "mean": float(v.mean()), "std": float(v.std()),
                         "flops_per_q": int(cell["flops_per_q"])})
    return rows


def width_gap(study: dict[str, Any], metric: str = "q_error") -> tuple[list[str], list[int], np.ndarray]:
    """``(problems, widths, gap)`` with ``gap[i, j]`` = mean final ``metric`` of the flow critic at ``K = 8``
    minus that of the monolithic critic, problem ``i``, width ``j`` (NaN where a cell is missing). Negative: the
    flow critic is better."""
    problems = [p for p in study["problems"]]
    widths = sorted({c["cell"]["width"] for c in study["cells"].values()})
    gap = np.full((len(problems), len(widths)), np.nan)
    for i, p in enumerate(problems):
        for j, w in enumerate(widths):
            cells = cells_of(study, p, w)
            flow, mono = cells.get(f"flow-K{MATCH_K}"), cells.get("monolithic")
            if flow and mono:
                gap[i, j] = final_error(flow, metric=metric).mean() - final_error(mono, metric=metric).mean()
    return problems, widths, gap


__all__ = [
    "ARTIFACT", "Cell", "FLOW_KS", "FORMAT", "KAPPAS", "MATCH_K", "PROBLEMS", "Problem", "base_config",
    "cell_config", "cells_of", "error_map", "final_error", "plan", "run_cell", "run_study", "study_seeds",
    "summary_only", "width_gap",
]
