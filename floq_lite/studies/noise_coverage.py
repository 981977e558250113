"""Chapter 3's noise-coverage study: the flow critic trained with three noise intervals on chapter 3's maze.

floq draws the start of every integration from ``Unif[l, u]`` with ``[l, u] = kappa [r_min, r_max] / (1 - gamma)``.
This study trains chapter 3's flow critic (``K = 8``, a target table recomputed at every update) with
``kappa`` in 0.01, 0.1 and 1, all seeds and coverages vmapped in one compilation (the interval is data), and keeps
what the chapter plots and prints: the ``|Q - Q*|`` curve of every run, the final error and greedy-action agreement,
how much the integrated value depends on ``z0`` (its standard deviation over starts), and the value integrated from
evenly spaced starts for one pair, the greedy action in the state with the lowest value.

The chapter plots the committed artifact (``paper`` tier: 5 seeds, twice the chapter's live training length) and
trains ``kappa = 0.1`` live with its own settings (:func:`chapter_config`), the same code path.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from floq_lite.studies import mdp as mdp_lib
from floq_lite.studies import tabular_td as td
from floq_lite.studies._sweep import config_json, rounded, run_cells
from floq_lite.tiers import current_tier, pick

FORMAT = "floq_lite.noise_coverage/1"
ARTIFACT = "noise_coverage.json"
KAPPAS = (0.01, 0.1, 1.0)  # narrow, floq's default, the whole return range
NUM_STARTS = 64  # draws of z0 per pair when measuring how much the integrated value depends on the start


def chapter_config(tier: str | None = None) -> td.TDConfig:
    """Chapter 3's critics (both kinds share it). ``paper`` trains the ``teach`` sizes twice as long."""
    return td.TDConfig(
        hidden_dims=pick(smoke=(32, 32), teach=(64, 64), tier=tier),
        batch_size=pick(smoke=64, teach=128, tier=tier),
        lr=1e-3,
        tau=0.05,  # ten times floq's 0.005: a 2,000-transition table needs no slow target
        num_steps=pick(smoke=200, teach=1500, paper=3000, tier=tier),
        eval_every=pick(smoke=50, teach=75, paper=150, tier=tier),
        kappa=0.1,  # floq's default coverage
        flow_steps=8,  # K, floq's default
        noise_samples=pick(smoke=2, teach=4, tier=tier),  # R draws per transition and per target
        eval_noise_samples=pick(smoke=8, teach=32, tier=tier),
    )


def study_seeds(tier: str | None = None) -> tuple[int, ...]:
    return pick(smoke=(0, 1), teach=(0, 1, 2), paper=(0, 1, 2, 3, 4), tier=tier)


@dataclasses.dataclass(frozen=True)
class Cell:
    """The whole study is one cell: every coverage and seed train together."""

    tier: str

    @property
    def key(self) -> str:
        return f"maze6__flow-K8__kappas__{self.tier}"


def corner_pair(maze: mdp_lib.TabularMDP, q_star: np.ndarray) -> tuple[int, int]:
    """The greedy action in the state with the lowest value (the pair the chapter follows from every start)."""
    corner = int(np.argmin(q_star.max(axis=1)))
    return corner, int(q_star[corner].argmax())


def run_cell(cell: Cell, seeds: Sequence[int], progress: bool = False) -> dict[str, Any]:
    """Train every ``(kappa, seed)`` and measure it; returns a JSON-ready dict (rows ordered ``kappa``-major)."""
    maze = mdp_lib.make_maze()
    q_star = mdp_lib.value_iteration(maze)
    cfg = chapter_config(cell.tier)
    flows = td.train_flow(maze, cfg, seeds, kappas=KAPPAS, q_star=q_star, progress=progress)
    greedy = mdp_lib.greedy_actions(q_star)[maze.nonterminal]
    agree = [float(np.mean(mdp_lib.greedy_actions(q)[maze.nonterminal] == greedy)) for q in flows.q_table]
    _, q_std = td.flow_q_statistics(maze, flows, cfg.flow_steps, num_noise=NUM_STARTS)  # (n_runs, S, A)
    state, action = corner_pair(maze, q_star)
    _, q_of_z0 = td.q_along_noise(maze, flows, state, action, cfg.flow_steps)  # (n_runs, M)
    final = flows.q_error[:, -1]
    return {
        "cell": dataclasses.asdict(cell),
        "config": config_json(cfg),
        "kappas": [float(k) for k in flows.kappas],
        "seeds": [int(s) for s in flows.seeds],
        "steps": [int(s) for s in flows.steps],
        "q_error_curve": rounded(flows.q_error),
        "final_q_error": rounded(final),
        "greedy_agreement": rounded(agree),
        "z0_spread": rounded(q_std[:, maze.nonterminal].mean(axis=(1, 2))),  # (n_runs,)
        "pair": {"state": state, "action": action, "q_star": float(q_star[state, action]),
                 "q_of_z0": rounded(q_of_z0, 4)},
        "summary": ", ".join(f"kappa {k}: |Q - Q*| {final[np.isclose(flows.kappas, k)].mean():.3f}"
                             for k in KAPPAS),
    }


def run_study(out: str | os.PathLike[str], tier: str | None = None, *, progress: bool = True,
              log: Callable[[str], None] = print, resume_from: dict[str, Any] | None = None,
              jobs: int = 1) -> dict[str, Any]:
    """Train the study of ``tier`` into ``out/cells/`` (kept if already there), write ``out/noise_coverage.json``
    and return it. ``jobs`` is accepted for the command line's sake: the study is one cell (its runs are vmapped)."""
    tier = current_tier(tier)
    seeds = study_seeds(tier)
    header = {
        "format": FORMAT,
        "tier": tier,
        "seeds": list(seeds),
        "problems": {"maze6": {"description": "chapter 3's 6x6 maze, one-hot states"}},
        "command": f"floq-lite study noise-coverage --tier {tier} --out DIR",
    }
    return run_cells(out, [Cell(tier)], lambda cell: run_cell(cell, seeds, progress=progress), artifact=ARTIFACT,
                     header=header, log=log, resume_from=resume_from)


# --- reading a study ------------------------------------------------------------------------------------------------


def the_cell(study: dict[str, Any]) -> dict[str, Any]:
    """The study's one cell."""
    (cell,) = study["cells"].values()
    return cell


def by_kappa(cell: dict[str, Any], field: str) -> dict[float, np.ndarray]:
    """``{kappa: rows of field}`` (the rows of that coverage's seeds), e.g. ``by_kappa(cell, "q_error_curve")``;
    ``"q_of_z0"`` reads the followed pair's values from every start."""
    kappas = np.asarray(cell["kappas"])
    data = cell["pair"][field] if field == "q_of_z0" else cell[field]
    values = np.asarray(data)
    return {k: values[np.isclose(kappas, k)] for k in KAPPAS}


__all__ = [
    "ARTIFACT",
    "FORMAT",
    "KAPPAS",
    "Cell",
    "by_kappa",
    "chapter_config",
    "corner_pair",
    "run_cell",
    "run_study",
    "study_seeds",
    "the_cell",
]
