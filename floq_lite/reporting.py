"""Small committed artifacts from big runs: learning curves, final numbers, dataset coverage, test-time K, speed.

A training run directory (:mod:`floq_lite.training`) or a generated dataset is far too big to commit; what a chapter
needs from it is small. This module turns them into JSON (or CSV) files of a few kilobytes under
``floq_lite/artifacts/`` and reads them back, so that a chapter can plot results that took hours to make and still
re-run a small version of the same code live.

Writers (each returns the dict it wrote; files are written atomically):

* :func:`export_runs`: one study (several agents, each a run directory with all its seeds) -> config, seeds, tier,
  env, steps, git commit, hardware, wall time, evaluation curves per seed, training-metric curves per seed (thinned),
  and the final success per seed = mean of the last ``last_n`` evaluations (as the FQL paper reports; floq's code
  evaluates the same way).
* :func:`export_coverage` (:func:`dataset_coverage`): an x-y histogram of a navigate dataset over its maze, the maze
  grid (so it can be drawn without MuJoCo), the number of transitions and episodes, the fraction of cells visited.
* :func:`export_k_eval`: a floq run evaluated with K = 1, 2, 4, ... Euler steps of the critic flow (what
  ``floq-lite eval RUN_DIR --flow-steps K`` prints, for several K at once).
* :func:`export_value_maps`: the critic microscope of trained runs (the value over the maze's x-y grid), so the
  maps of agents whose checkpoints are not committed can still be drawn.
* :func:`export_rollouts`: where trained agents go: evaluation episodes of each run's checkpoint as x-y paths, with
  success and the cells left to walk to the goal (:func:`cells_to_goal`) at the start, the end and the closest point.
* :func:`export_update_speed`: rows of ``benchmarks/update_speed.py`` (time per update) with where they were measured.
* :func:`export_expert_training`: the ant expert's evaluation curve (CSV) from its run directory.

Readers: :func:`load_artifact` (``.json`` -> dict, ``.csv`` -> dict of columns), :func:`list_artifacts`.

Also here: :func:`update_flops`, the matmul FLOPs of one floq / FQL update, used by the benchmark and the book;
:data:`PAPER_RESULTS`, the published antmaze-large numbers; :func:`config_table`, the knobs of a config as Markdown.

Layer: above :mod:`floq_lite.data`, :mod:`floq_lite.training` and :mod:`floq_lite.evaluation`, below
:mod:`floq_lite.plotting`. Importing it loads neither MuJoCo nor OGBench; the functions that need them import them.
"""

from __future__ import annotations

import csv
import dataclasses
import inspect
import io
import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from floq_lite.atomic import atomic_write_bytes
from floq_lite.networks.mlp import mlp_flops

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
"""Where the committed artifacts live (package data: ``floq_lite/artifacts/*.json`` and ``*.csv``)."""

RUNS_FORMAT = "floq_lite.runs/1"
COVERAGE_FORMAT = "floq_lite.coverage/1"
K_EVAL_FORMAT = "floq_lite.k_eval/1"
SPEED_FORMAT = "floq_lite.update_speed/1"
RANGE_FORMAT = "floq_lite.range/1"
ROLLOUTS_FORMAT = "floq_lite.rollouts/1"
DEFAULT_METRICS = ("critic/critic_loss", "actor/actor_loss", "actor/q_loss", "critic/q_mean")
"""Training metrics kept per seed by :func:`export_runs` (those a run did not log are skipped)."""
EXPERT_COLUMNS = ("step", "seed", "eval/unhealthy", "eval/length", "eval/return", "eval/return_per_100_steps")

PAPER_RESULTS: dict[str, Any] = {
    "env": "antmaze-large-navigate",
    "metric": "success rate (%), mean over the 5 tasks (3 seeds each for floq, 8 in the FQL paper); the FQL paper "
              "averages the last three evaluations, which evaluations floq averages is not stated in our sources",
    "five_task_mean": {"floq (default)": 91, "floq (best)": 91, "FQL (1M steps)": 79, "FQL (2M steps)": 83},
    "task1_fql": {"mean": 80, "std": 8},
    "source": "floq: the paper's main offline table (Agrawalla et al., 2026), second-hand: read from a third-party "
              "transcription of the paper (OpenReview m14YNdmPAh); FQL task 1: the FQL paper, Table 3 (Park et al., "
              "2025). Paper runs: 4x512 networks, batch 256, 1M (FQL) / 2M (floq) gradient steps, the official "
              "OGBench data, 50 evaluation episodes per checkpoint.",
}
"""The published numbers chapter 6 compares with (antmaze-large; task 1 is the ``-singletask-v0`` default task)."""


class ArtifactMissingError(FileNotFoundError):
    """An artifact is not in ``floq_lite/artifacts``; the message lists the ones that are."""


# --- small helpers ------------------------------------------------------------------------------------------------


def _clean(value: Any, digits: int = 6) -> Any:
    """JSON-safe copy: numpy scalars and arrays to Python, floats to ``digits`` significant digits, NaN/inf to None."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist(), digits)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    if value is None or isinstance(value, str):
        return value
    return str(value)


def write_artifact(data: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as compact JSON (floats to 6 significant digits) atomically; returns the path."""
    text = json.dumps(_clean(data), separators=(",", ":"), sort_keys=False)
    return atomic_write_bytes(Path(path), (text + "\n").encode())


def _provenance() -> dict[str, Any]:
    from floq_lite.training import git_commit, hardware

    return {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": git_commit(), "hardware": hardware()}


def thin_indices(n: int, max_points: int) -> np.ndarray:
    """At most ``max_points`` indices into ``range(n)``, evenly spaced, always keeping the first and the last."""
    if max_points < 2:
        raise ValueError(f"max_points must be >= 2, got {max_points}.")
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _curves(rows: list[dict[str, str]], seeds: Sequence[int], columns: Iterable[str]) -> tuple[list[int], dict]:
    """``(steps, {column: values (S, T) with None where a seed lacks the step})`` from a run's CSV rows."""
    steps = sorted({int(r["step"]) for r in rows})
    pos = {s: i for i, s in enumerate(steps)}
    out: dict[str, list[list[float | None]]] = {}
    for col in columns:
        if not rows or col not in rows[0]:
            continue
        table = [[None] * len(steps) for _ in seeds]
        seed_pos = {int(s): i for i, s in enumerate(seeds)}
        for r in rows:
            s = int(r["seed"])
            if s in seed_pos and r[col] != "":
                table[seed_pos[s]][pos[int(r["step"])]] = float(r[col])
        out[col] = table
    return steps, out


def final_success(steps: Sequence[int], success: Sequence[Sequence[float | None]], last_n: int = 3) -> np.ndarray:
    """Per seed, the mean success over its last ``last_n`` evaluations (fewer if it has fewer): ``(S,)``.

    ``steps`` (T,) are the evaluation steps, ``success`` (S, T) the success rate of each seed at each of them
    (None or NaN where a seed has no evaluation).
    """
    if last_n < 1:
        raise ValueError(f"last_n must be >= 1, got {last_n}.")
    order = np.argsort(np.asarray(steps))
    arr = np.asarray([[np.nan if v is None else v for v in row] for row in success], float)[:, order]
    finals = []
    for row in arr:
        kept = row[np.isfinite(row)]
        finals.append(kept[-last_n:].mean() if kept.size else np.nan)
    return np.asarray(finals)


# --- training runs ------------------------------------------------------------------------------------------------


def run_summary(run_dir: str | os.PathLike[str], *, last_n: int = 3, metrics: Sequence[str] = DEFAULT_METRICS,
                max_points: int = 200) -> dict[str, Any]:
    """Everything :func:`export_runs` keeps of one run directory (see there)."""
    from floq_lite.training import CONFIG, load_run

    run_dir = Path(run_dir)
    meta = load_run(run_dir)
    meta.pop("config_obj")
    seeds = [int(s) for s in meta["seeds"]]
    eval_rows = _read_csv(run_dir / "eval.csv")
    metric_rows = _read_csv(run_dir / "metrics.csv")
    if not eval_rows:
        raise ValueError(f"{run_dir} has no evaluations yet (eval.csv is missing or empty).")
    ev_steps, ev = _curves(eval_rows, seeds, ("success_rate", "return_mean", "episode_length_mean"))
    m_steps, m = _curves(metric_rows, seeds, metrics)
    keep = thin_indices(len(m_steps), max_points) if m_steps else np.arange(0)
    finals = final_success(ev_steps, ev["success_rate"], last_n)
    counted = sorted(ev_steps)[-last_n:]
    return {
        "run_name": run_dir.name,  # not the path: artifacts hold no machine-specific paths
        "agent": meta["agent"],
        "env_name": meta["env_name"],
        "tier": meta["tier"],
        "seeds": seeds,
        "steps": int(meta.get("steps_done", 0)),
        "status": meta.get("status"),
        "wall_time_s": meta.get("wall_time_s"),
        "started": meta.get("started"),
        "git": meta.get("git"),
        "hardware": meta.get("hardware"),
        "segments": meta.get("segments", []),  # one per start or resume: steps, wall time, commit, hardware
        "config": meta["config"],
        "overrides": meta.get("overrides", {}),
        "dataset": {k: v for k, v in (meta.get("dataset") or {}).items() if k != "dataset_dir"},
        "eval_max_episode_steps": meta.get("eval_max_episode_steps"),
        "eval": {"steps": ev_steps, **{k: v for k, v in ev.items()}},
        "metrics": {"steps": [m_steps[i] for i in keep], "thinned_from": len(m_steps),
                    **{k: [[row[i] for i in keep] for row in v] for k, v in m.items()}},
        "final": {"last_n": last_n, "eval_steps": counted, "per_seed": finals,
                  "mean": float(np.nanmean(finals)), "std": float(np.nanstd(finals)),
                  "rule": f"per seed, the mean success rate over the last {last_n} evaluations; then the mean over "
                          "seeds"},
        "source_file": CONFIG,
    }


def export_runs(runs: Mapping[str, str | os.PathLike[str]], path: str | os.PathLike[str], *, last_n: int = 3,
                extra: Mapping[str, Any] | None = None, metrics: Sequence[str] = DEFAULT_METRICS,
                max_points: int = 200) -> dict[str, Any]:
    """Write one JSON file for a study: ``runs`` maps an agent label (``"floq"``, ``"fql"``) to its run directory.

    Per agent: config, seeds, tier, env, steps done, git commit, hardware and wall time (from the run's
    ``config.json``); the evaluation curves per seed (success rate, return, episode length at every evaluation); the
    training metrics per seed, thinned to at most ``max_points`` logged steps (first and last kept); the final
    success per seed (mean of the last ``last_n`` evaluations) and its mean and std over seeds. ``extra`` is stored
    as is (e.g. the command lines that made the runs, notes). Returns the dict written.
    """
    if not runs:
        raise ValueError("export_runs needs at least one run directory.")
    study = {
        "format": RUNS_FORMAT,
        **_provenance(),
        "last_n": last_n,
        "agents": {name: run_summary(d, last_n=last_n, metrics=metrics, max_points=max_points)
                   for name, d in runs.items()},
        "extra": dict(extra or {}),
    }
    write_artifact(study, path)
    return json.loads(json.dumps(_clean(study)))


def update_runs(path: str | os.PathLike[str], runs: Mapping[str, str | os.PathLike[str]], *,
                extra: Mapping[str, Any] | None = None, metrics: Sequence[str] = DEFAULT_METRICS,
                max_points: int = 200) -> dict[str, Any]:
    """Replace (or add) the agents ``runs`` of an existing :func:`export_runs` artifact at ``path`` and keep the others:
    a run that was extended or redone after its siblings' directories were lost. Every agent entry carries its own
    commit, hardware and wall time, so the kept ones stay attributable; the top-level provenance becomes this call's
    and ``extra["updated"]`` lists every agent replaced so far. Same ``last_n`` as the artifact; pass the
    ``metrics`` and ``max_points`` it was exported with if they were not :func:`export_runs`'s defaults."""
    base = json.loads(Path(path).read_text())
    if base.get("format") != RUNS_FORMAT:
        raise ValueError(f"{path} is not a runs artifact (format {base.get('format')!r}, expected {RUNS_FORMAT!r}).")
    last_n = base.get("last_n", 3)
    agents = dict(base["agents"])
    agents.update({name: run_summary(d, last_n=last_n, metrics=metrics, max_points=max_points)
                   for name, d in runs.items()})
    updated = sorted({*base.get("extra", {}).get("updated", []), *runs})
    study = {**base, **_provenance(), "agents": agents,
             "extra": {**base.get("extra", {}), **dict(extra or {}), "updated": updated}}
    write_artifact(study, path)
    return json.loads(json.dumps(_clean(study)))


# --- dataset coverage ---------------------------------------------------------------------------------------------


def _grid_extent(walls_shape: tuple[int, int], unit: float, offset_x: float, offset_y: float):
    h, w = walls_shape
    x0, y0 = -offset_x - unit / 2, -offset_y - unit / 2
    return x0, x0 + w * unit, y0, y0 + h * unit


def dataset_coverage(dataset_name: str, dataset_dir: str | os.PathLike[str] | None = None, *, bins_per_cell: int = 8,
                     sample_episodes: int = 3, sample_every: int = 10,
                     extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Where the agent of a navigate dataset's train file went, small enough to commit.

    Reads ``qpos[:, :2]`` (x-y) and ``terminals`` of ``<dataset_dir>/<dataset_name>.npz`` and returns: the maze
    (walls, unit, offsets: enough to draw it without MuJoCo) and its singletask goals; an x-y histogram with
    ``bins_per_cell`` bins per cell side (rows = y, columns = x); per-cell counts; the number of transitions and
    episodes; the fraction of free cells visited; the rows each singletask task rewards; a few episodes' paths (every ``sample_every``-th row of the first
    ``sample_episodes`` episodes). ``extra`` (how the data was made) is stored as is.
    """
    from floq_lite.data import MazeGrid, cell_coverage, dataset_paths
    from floq_lite.evaluation import make_env

    train_path, _ = dataset_paths(dataset_name, dataset_dir)
    if not train_path.exists():
        raise FileNotFoundError(f"{train_path} does not exist; generate it with `floq-lite data generate "
                                f"{dataset_name}` (add --dataset-dir DIR for another directory).")
    with np.load(train_path) as f:
        xy = np.asarray(f["qpos"][:, :2], np.float64)
        terminals = np.asarray(f["terminals"], bool)
    env = make_env(dataset_name)
    grid = MazeGrid.from_env(env)
    maze = env.unwrapped
    goals = [[float(v) for v in maze.ij_to_xy(t["goal_ij"])] for t in getattr(maze, "task_infos", [])]
    starts = [[float(v) for v in maze.ij_to_xy(t["init_ij"])] for t in getattr(maze, "task_infos", [])]
    goal_tol = float(maze._goal_tol)  # the singletask relabelling's success radius (0.5 ant, 1.0 point)
    env.close()

    h, w = grid.walls.shape
    x0, x1, y0, y1 = _grid_extent((h, w), grid.unit, grid.offset_x, grid.offset_y)
    hist, _, _ = np.histogram2d(xy[:, 1], xy[:, 0], bins=(h * bins_per_cell, w * bins_per_cell),
                                range=((y0, y1), (x0, x1)))
    cells = hist.reshape(h, bins_per_cell, w, bins_per_cell).sum(axis=(1, 3))
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    ends = np.flatnonzero(terminals)
    bounds = np.concatenate([[0], ends + 1])
    paths = [xy[bounds[e]:bounds[e + 1]:sample_every].round(2).tolist()
             for e in range(min(sample_episodes, len(ends)))]
    return {
        "format": COVERAGE_FORMAT,
        **_provenance(),
        "dataset_name": dataset_name,
        "file": train_path.name,
        "transitions": len(xy),
        "episodes": int(terminals.sum()),
        "episode_length": int(len(xy) // max(1, int(terminals.sum()))),
        "outside_maze": int((~inside).sum()),
        "cells_visited_fraction": cell_coverage(grid, xy),
        "maze": {"walls": grid.walls.astype(int).tolist(), "unit": grid.unit, "offset_x": grid.offset_x,
                 "offset_y": grid.offset_y, "jitter": grid.jitter},
        "task_goals_xy": goals,
        "task_starts_xy": starts,
        "goal_tolerance": goal_tol,
        # Rows the singletask relabelling rewards (within goal_tol of each task's goal), one count per task.
        "task_goal_rows": [int((np.linalg.norm(xy - np.asarray(g), axis=1) <= goal_tol).sum()) for g in goals],
        "histogram": {"bins_per_cell": bins_per_cell, "x_range": [x0, x1], "y_range": [y0, y1],
                      "counts": hist.astype(int).tolist()},
        "cell_counts": cells.astype(int).tolist(),
        "sample_paths": {"every": sample_every, "xy": paths},
        "extra": dict(extra or {}),
    }


def export_coverage(dataset_name: str, path: str | os.PathLike[str], dataset_dir: str | os.PathLike[str] | None = None,
                    **kwargs: Any) -> dict[str, Any]:
    """:func:`dataset_coverage` written to ``path`` (JSON, atomic); returns the dict."""
    data = dataset_coverage(dataset_name, dataset_dir, **kwargs)
    write_artifact(data, path)
    return json.loads(json.dumps(_clean(data)))


# --- range: success by start distance -----------------------------------------------------------------------------


def export_range(runs: Mapping[str, str | os.PathLike[str]], path: str | os.PathLike[str], *, max_steps: int,
                 extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Start each run's final checkpoint at every free cell of its maze (``evaluation.success_by_start_distance``)
    and write, per run, the success rate of every seed for each walking distance to the goal (in cells)."""
    from floq_lite import evaluation

    out = {}
    t0 = time.perf_counter()
    for name, run_dir in runs.items():
        meta, agents, step = load_run_agents(run_dir)
        seeds = [int(s) for s in meta["seeds"]]
        reach = evaluation.success_by_start_distance(agents, meta["env_name"], seeds, max_steps)
        out[name] = {"run_name": Path(run_dir).name, "env_name": meta["env_name"], "checkpoint_step": step,
                     "seeds": seeds, "distances": sorted(reach), "success": [reach[d].tolist() for d in sorted(reach)]}
    study = {"format": RANGE_FORMAT, **_provenance(), "max_steps": int(max_steps), "runs": out,
             "eval_wall_time_s": round(time.perf_counter() - t0, 1), "extra": dict(extra or {})}
    write_artifact(study, path)
    return json.loads(json.dumps(_clean(study)))


def range_table(study: Mapping[str, Any]) -> str:
    """Markdown: success from the cells at each walking distance, mean over seeds (and how many seeds got there at
    all), one row per run of a :func:`export_range` artifact."""
    runs = study["runs"]
    dists = sorted({d for r in runs.values() for d in r["distances"]})
    lines = ["| agent | " + " | ".join(f"d={d}" for d in dists) + " |", "|---|" + "---|" * len(dists)]
    for name, r in runs.items():
        by_d = dict(zip(r["distances"], r["success"]))
        cells = []
        for d in dists:
            v = np.asarray(by_d.get(d, []), float)
            cells.append(f"{v.mean():.2f} ({int((v > 0).sum())}/{len(v)})" if v.size else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- test-time K --------------------------------------------------------------------------------------------------


def export_k_eval(run_dir: str | os.PathLike[str], path: str | os.PathLike[str], *,
                  ks: Sequence[int] = (1, 2, 4, 8, 16, 32), episodes: int | None = None,
                  max_episode_steps: int | None = None, eval_seed: int = 0,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate a floq run's checkpoint once per K in ``ks`` and write the results (one row per K and seed).

    Each row holds what ``floq-lite eval RUN_DIR --flow-steps K`` reports: the success rate (the actor never
    integrates the flow, so it is the same for every K), the mean flow-Q with K Euler steps at the visited
    ``(s, a)`` pairs, the flow-Q with the training K, the distilled critic, and their mean absolute gap.
    """
    from floq_lite import evaluation

    meta, agents, step = load_run_agents(run_dir)
    if meta["agent"] != "floq":
        raise ValueError(f"{run_dir} is a {meta['agent']} run; K at evaluation time needs a floq run.")
    seeds = [int(s) for s in meta["seeds"]]
    episodes = int(episodes or meta["config"]["eval_episodes"])
    envs = evaluation.make_envs(meta["env_name"], len(seeds) * episodes, max_episode_steps)
    rows = []
    t0 = time.perf_counter()
    for k in ks:
        for r in evaluation.evaluate(agents, episodes=episodes, seeds=seeds, step=eval_seed, envs=envs,
                                     flow_steps=int(k)):
            rows.append({"K": int(k), **r.row()})
    for env in envs:
        env.close()
    study = {
        "format": K_EVAL_FORMAT,
        **_provenance(),
        "run_name": Path(run_dir).name,
        "env_name": meta["env_name"],
        "tier": meta["tier"],
        "seeds": seeds,
        "checkpoint_step": step,
        "train_k": int(meta["config"]["critic_flow_steps"]),
        "run_hardware": meta.get("hardware"),
        "ks": [int(k) for k in ks],
        "episodes": episodes,
        "max_episode_steps": max_episode_steps,
        "eval_seed": eval_seed,
        "eval_wall_time_s": time.perf_counter() - t0,
        "rows": rows,
        "extra": dict(extra or {}),
    }
    write_artifact(study, path)
    return json.loads(json.dumps(_clean(study)))


def k_table(study: Mapping[str, Any], column: str) -> tuple[list[int], list[int], np.ndarray]:
    """``(ks, seeds, values (S, len(ks)))`` of ``column`` (e.g. ``"flow_q_mean"``) from a K artifact."""
    ks, seeds = list(study["ks"]), list(study["seeds"])
    table = np.full((len(seeds), len(ks)), np.nan)
    for r in study["rows"]:
        if r.get(column) is not None:
            table[seeds.index(int(r["seed"])), ks.index(int(r["K"]))] = float(r[column])
    return ks, seeds, table


# --- the critic over the maze -------------------------------------------------------------------------------------


def grid_points(walls: np.ndarray, unit: float, offset_x: float, offset_y: float,
                resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points covering a maze, ``resolution`` per cell side: ``xs (W',)``, ``ys (H',)`` and ``free (H', W')``
    (False inside walls). The maze is given as in a coverage artifact (``walls`` bool (H, W), row i = y)."""
    walls = np.asarray(walls, bool)
    h, w = walls.shape
    x0, _, y0, _ = _grid_extent((h, w), unit, offset_x, offset_y)
    xs = x0 + (np.arange(resolution * w) + 0.5) * unit / resolution
    ys = y0 + (np.arange(resolution * h) + 0.5) * unit / resolution
    free = ~walls[np.repeat(np.arange(h), resolution)][:, np.repeat(np.arange(w), resolution)]
    return xs, ys, free


def body_observation(env_name: str, seed: int = 0) -> np.ndarray:
    """A representative ant observation (29,): the env's seeded reset state (upright, nearly still). Its first two
    entries are the x-y position; the critic maps replace them by grid points."""
    from floq_lite.evaluation import make_env, seeded_reset

    env = make_env(env_name)
    ob, _ = seeded_reset(env, seed)
    env.close()
    return np.asarray(ob, np.float32)


def observations_at(body: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``(len(ys) * len(xs), d_s)`` copies of ``body`` with x-y set to every grid point (row-major, y outer)."""
    X, Y = np.meshgrid(xs, ys)
    obs = np.repeat(np.asarray(body, np.float32)[None], X.size, axis=0)
    obs[:, 0], obs[:, 1] = X.ravel(), Y.ravel()
    return obs


def value_on_grid(agent: Any, body: np.ndarray, xs: np.ndarray, ys: np.ndarray, *, flow_steps: int | None = None,
                  seed: int = 0, noise_draws: int = 4) -> np.ndarray:
    """``Q(s, a)`` with ``s`` = ``body`` moved to each grid point and ``a`` = the agent's own one-step-policy action
    there (one noise draw per point, fixed by ``seed``): an estimate of the policy's value ``V(s)``; shape
    ``(len(ys), len(xs))``, mean over the critic ensemble.

    ``agent`` is one (unbatched) agent. ``flow_steps=None`` reads floq's distilled critic or FQL's critic; an integer
    integrates floq's flow critic with that many Euler steps, averaged over ``noise_draws`` starts z_0.
    """
    import jax
    import jax.numpy as jnp

    obs = jnp.asarray(observations_at(body, xs, ys))
    act = agent.sample_actions(obs, jax.random.PRNGKey(seed))
    if flow_steps is None:
        q = agent.distilled_q(obs, act) if hasattr(agent, "distilled_q") else agent.q_values(obs, act)
        q = np.asarray(q).mean(0)
    else:
        keys = jax.random.split(jax.random.PRNGKey(seed + 1), noise_draws)
        q = np.mean([np.asarray(agent.flow_q(obs, act, k, num_steps=int(flow_steps))).mean(0) for k in keys], 0)
    return q.reshape(len(ys), len(xs))


def load_run_agents(run_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], Any, int]:
    """``(meta, agents, step)``: a run's ``config.json`` and its checkpoint, all seeds (vmapped, seed axis first)."""
    from floq_lite import training

    meta = training.load_run(run_dir)
    data = meta["dataset"]
    template = training.template_agents(meta["agent"], meta["config_obj"], meta["seeds"], data["obs_dim"],
                                        data["action_dim"])
    agents, step, _ = training.load_checkpoint(Path(run_dir), template)
    return meta, agents, step


def export_value_maps(runs: Mapping[str, str | os.PathLike[str]], path: str | os.PathLike[str], *,
                      resolution: int = 4, seed_index: int = 0, extra: Mapping[str, Any] | None = None
                      ) -> dict[str, Any]:
    """The critic microscope of trained runs as an artifact: for each run (``{"floq": dir, "fql": dir}``), seed
    ``seed_index``'s value map over the maze (:func:`value_on_grid`); floq gets its distilled critic and its flow
    critic with the training K. Holds the maze, the grid, the goal and each run's tier, steps and hardware."""
    from floq_lite.evaluation import select_seed

    maps: dict[str, Any] = {}
    info: dict[str, Any] = {}
    env_name = None
    for name, run_dir in runs.items():
        meta, agents, step = load_run_agents(run_dir)
        agent = select_seed(agents, seed_index)
        if env_name is None:
            env_name = meta["env_name"]
            _, maze, goal = _maze_and_goal(env_name)
            body = body_observation(env_name)
            xs, ys, free = grid_points(maze["walls"], maze["unit"], maze["offset_x"], maze["offset_y"], resolution)
        info[name] = {"agent": meta["agent"], "tier": meta["tier"], "checkpoint_step": step,
                      "seed": meta["seeds"][seed_index], "hardware": meta.get("hardware"), "run_name": Path(run_dir).name}
        if meta["agent"] == "floq":
            k = int(meta["config"]["critic_flow_steps"])
            maps[f"{name}, distilled critic"] = value_on_grid(agent, body, xs, ys)
            maps[f"{name}, flow critic, K = {k}"] = value_on_grid(agent, body, xs, ys, flow_steps=k)
        else:
            maps[f"{name}, critic"] = value_on_grid(agent, body, xs, ys)
    study = {
        "format": "floq_lite.value_maps/1",
        **_provenance(),
        "env_name": env_name,
        "runs": info,
        "maze": maze,
        "goal_xy": goal,
        "body": {"observation": body, "how": "the env's reset state (seed 0), x-y replaced by each grid point"},
        "action": "the agent's one-step policy action at each point (one fixed noise draw)",
        "resolution": resolution,
        "xs": xs, "ys": ys,
        "maps": {k: np.where(free, v, np.nan) for k, v in maps.items()},
        "extra": dict(extra or {}),
    }
    write_artifact(study, path)
    return json.loads(json.dumps(_clean(study)))


def _maze_and_goal(env_name: str) -> tuple[Any, dict[str, Any], list[float]]:
    """The :class:`~floq_lite.data.MazeGrid` of a singletask env, the maze as in a coverage artifact (walls, unit,
    offsets) and the task's goal x-y."""
    from floq_lite.data import MazeGrid
    from floq_lite.evaluation import make_env

    env = make_env(env_name)
    env.reset(seed=0)
    grid = MazeGrid.from_env(env)
    goal = [float(v) for v in env.unwrapped.cur_goal_xy]
    env.close()
    maze = {"walls": grid.walls.astype(int).tolist(), "unit": grid.unit, "offset_x": grid.offset_x,
            "offset_y": grid.offset_y}
    return grid, maze, goal


def cells_to_goal(grid: Any, goal_xy: Sequence[float], xy: np.ndarray) -> np.ndarray:
    """Walking distance to the goal's cell, in cells (BFS over free cells), of each x-y point ``(P, 2)``: ``(P,)``
    float, NaN for a point outside the free cells. Unlike the straight-line distance, it counts the detours."""
    dist = grid.distances_to(grid.cell_of(goal_xy))  # (H, W), -1 for walls
    out = np.full(len(xy), np.nan)
    for n, point in enumerate(np.asarray(xy)):
        i, j = grid.cell_of(point)
        if grid.inside(i, j) and dist[i, j] >= 0:
            out[n] = dist[i, j]
    return out


def export_rollouts(runs: Mapping[str, str | os.PathLike[str]], path: str | os.PathLike[str], *,
                    episodes: int | None = None, every: int = 10, max_episode_steps: int | None = None,
                    eval_seed: int = 0, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Where trained agents go: evaluation episodes of each run's checkpoint (``{"floq": dir, "fql": dir}``), all
    seeds, with each episode's x-y path every ``every`` steps and its end point (:func:`floq_lite.evaluation.evaluate`
    with ``path_every``). Per episode: seed, success, and the walking distance to the goal in cells
    (:func:`cells_to_goal`) at its start, at its end and at its closest approach (on the kept points). Holds the maze
    and the goal; x-y rounded to 0.1 (a maze cell is 1 to 4 wide), about 35 kB per run of 30 antmaze episodes.
    """
    from floq_lite import evaluation

    out: dict[str, Any] = {}
    env_name = None
    t0 = time.perf_counter()
    for name, run_dir in runs.items():
        meta, agents, step = load_run_agents(run_dir)
        if env_name is None:
            env_name = meta["env_name"]
            grid, maze, goal = _maze_and_goal(env_name)
        elif meta["env_name"] != env_name:
            raise ValueError(f"{run_dir} is a run on {meta['env_name']}, not {env_name}: one environment per study.")
        seeds = [int(s) for s in meta["seeds"]]
        n = int(episodes or meta["config"]["eval_episodes"])
        results = evaluation.evaluate(agents, env_name, n, seeds=seeds, step=eval_seed,
                                      max_episode_steps=max_episode_steps, path_every=every)
        rows = []
        for r in results:
            for e, (xy, success) in enumerate(zip(r.paths, r.successes, strict=True)):
                cells = cells_to_goal(grid, goal, xy)  # (P,)
                rows.append({"seed": r.seed, "episode": e, "success": bool(success), "start_cells": cells[0],
                             "end_cells": cells[-1], "closest_cells": float(np.nanmin(cells)),
                             "path": np.round(xy, 1).tolist()})
        out[name] = {"agent": meta["agent"], "tier": meta["tier"], "checkpoint_step": step, "seeds": seeds,
                     "hardware": meta.get("hardware"), "run_name": Path(run_dir).name, "episodes": rows}
    study = {
        "format": ROLLOUTS_FORMAT,
        **_provenance(),
        "env_name": env_name,
        "maze": maze,
        "goal_xy": goal,
        "every": every,
        "max_episode_steps": max_episode_steps,
        "eval_seed": eval_seed,
        "eval_wall_time_s": time.perf_counter() - t0,
        "runs": out,
        "extra": dict(extra or {}),
    }
    write_artifact(study, path)
    return json.loads(json.dumps(_clean(study)))


# --- compute cost -------------------------------------------------------------------------------------------------


def update_flops(agent: str, cfg: Any, obs_dim: int, action_dim: int) -> tuple[int, int]:
    """``(flops, saved)``: matmul FLOPs of one gradient update of ``agent`` with config ``cfg``, counted as the
    official code computes it, and what floq_lite's cached first-layer ``(s, a)`` block saves in the integrations.

    Every Dense layer costs ``2 * in * out`` per row in a forward pass; a trained pass costs 3x (forward, input
    gradients, weight gradients); the actor's Q term costs 2x through the critic (forward and input gradients).
    Per update (B transitions, R noise samples, E members, K critic Euler steps, the actor's Euler steps):

    * floq: next actions on B*R rows; the target integration K*E field passes on B*R rows; the distillation-target
      integration K*E on B*R; the flow-matching loss 3*E on B*R; the distilled critic 3*E on B; the actor.
    * FQL: next actions on B; the target critic E on B; the critic 3*E on B; the actor.
    * actor (both): BC flow loss 3x on B; its Euler passes on B; the one-step policy 3x on B; the Q term 2*E on B;
      one logged sample 1x on B.
    """
    from floq_lite.networks.embeddings import time_embed_dim, z_embed_dim

    ds, da, B = obs_dim, action_dim, cfg.batch_size
    A = list(cfg.actor_hidden_dims)
    onestep, bc = [ds + da, *A, da], [ds + da + 1, *A, da]
    value = [ds + da, *cfg.value_hidden_dims, 1]
    E = cfg.flow_num_ensembles if agent == "floq" else cfg.value_num_ensembles
    actor = (3 * mlp_flops(bc, B) + cfg.actor_flow_steps * mlp_flops(bc, B) + 3 * mlp_flops(onestep, B)
             + 2 * E * mlp_flops(value, B) + mlp_flops(onestep, B))
    if agent == "fql":
        return actor + mlp_flops(onestep, B) + E * mlp_flops(value, B) + 3 * E * mlp_flops(value, B), 0
    R, K = cfg.noise_samples, cfg.critic_flow_steps
    zt = z_embed_dim(cfg.z_embed, cfg.num_bins) + time_embed_dim(cfg.time_embed, cfg.time_embed_dim)
    vf = [ds + da + zt, *cfg.vf_hidden_dims, 1]
    critic = (mlp_flops(onestep, B * R) + 2 * K * E * mlp_flops(vf, B * R) + 3 * E * mlp_flops(vf, B * R)
              + 3 * E * mlp_flops(value, B))
    saved = 2 * (K - 1) * E * 2 * (ds + da) * cfg.block_width * B * R
    return actor + critic, saved


def export_update_speed(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str], *, source: str,
                        extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write rows of ``benchmarks/update_speed.py`` (``agent``, ``size``, ``ms_per_update``, ...) with ``source``
    (how and where they were measured) and this machine's provenance."""
    study = {"format": SPEED_FORMAT, **_provenance(), "source": source, "rows": [dict(r) for r in rows],
             "extra": dict(extra or {})}
    write_artifact(study, path)
    return json.loads(json.dumps(_clean(study)))


# --- the ant expert's learning curve ------------------------------------------------------------------------------


def export_expert_training(run_dir: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Copy the evaluation curve of an ant-expert run (``floq-lite expert train --out RUN_DIR``) to a CSV artifact
    with the columns :data:`EXPERT_COLUMNS`."""
    rows = _read_csv(Path(run_dir) / "eval.csv")
    if not rows:
        raise ValueError(f"{run_dir} has no eval.csv rows; is it an ant-expert run directory?")
    missing = [c for c in EXPERT_COLUMNS if c not in rows[0]]
    if missing:
        raise ValueError(f"{run_dir}/eval.csv lacks the column(s) {missing}.")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EXPERT_COLUMNS)
    for r in rows:
        writer.writerow([r[c] for c in EXPERT_COLUMNS])
    return atomic_write_bytes(Path(path), buf.getvalue().encode())


# --- reading artifacts --------------------------------------------------------------------------------------------


def list_artifacts(directory: str | os.PathLike[str] | None = None) -> list[str]:
    """File names of the artifacts in ``directory`` (default: the package's ``artifacts`` folder)."""
    root = Path(directory) if directory is not None else ARTIFACTS_DIR
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.suffix in (".json", ".csv") and not p.name.startswith("."))


def artifact_path(name: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """Path of artifact ``name`` (``"x"`` means ``"x.json"``), or :class:`ArtifactMissingError` naming the ones
    that exist."""
    root = Path(directory) if directory is not None else ARTIFACTS_DIR
    file = name if Path(name).suffix in (".json", ".csv") else f"{name}.json"
    path = root / file
    if not path.is_file():
        available = list_artifacts(root)
        raise ArtifactMissingError(
            f"No artifact {file!r} in {root}. Available: {', '.join(available) if available else '(none)'}. "
            "Artifacts are made by the export_* functions of floq_lite.reporting from run directories and datasets."
        )
    return path


def load_artifact(name: str, directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read ``floq_lite/artifacts/<name>.json`` (a dict), or ``<name>.csv`` as ``{column: numpy array}``."""
    path = artifact_path(name, directory)
    if path.suffix == ".csv":
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        cols = list(rows[0]) if rows else []
        return {c: np.asarray([float(r[c]) if r[c] != "" else np.nan for r in rows]) for c in cols}
    return json.loads(path.read_text())


# --- the knobs of a config ----------------------------------------------------------------------------------------


def config_comments(cls: type) -> dict[str, str]:
    """``{field: comment}`` from the one-line comments after each field of a config dataclass's source."""
    comments = {}
    for line in inspect.getsource(cls).splitlines():
        m = re.match(r"\s+(\w+): [^=]+=.*?  # (.*)$", line)
        if m:
            comments[m.group(1)] = m.group(2).strip()
    return comments


def _fmt_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        return "×".join(str(v) for v in value) if len(set(value)) > 1 else f"{len(value)}×{value[0]}"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_table(columns: Mapping[str, Mapping[str, Any]], cls: type, *, fields: Sequence[str] | None = None,
                 skip: Sequence[str] = ("agent_name", "r_min", "r_max", "fused_integration", "member_matmul")) -> str:
    """A Markdown table of config knobs: one row per field of ``cls`` (in ``fields`` order if given), one column per
    entry of ``columns`` (a config as a dict, e.g. ``dataclasses.asdict(cfg)`` or a run artifact's ``config``), and
    the field's comment from the source."""
    comments = config_comments(cls)
    names = list(fields) if fields is not None else [f.name for f in dataclasses.fields(cls) if f.name not in skip]
    head = "| knob | " + " | ".join(columns) + " | what it does |"
    lines = [head, "|---|" + "---|" * len(columns) + "---|"]
    for name in names:
        cells = [_fmt_value(c[name]) if name in c else "—" for c in columns.values()]
        comment = comments.get(name, "").replace("|", "\\|")  # a bare | would end the table cell
        lines.append(f"| `{name}` | " + " | ".join(cells) + f" | {comment} |")
    return "\n".join(lines)


# Fields that change what the agents compute (the rest set sizes and schedules); r_min / r_max are read off the data.
ALGORITHMIC_KNOBS = ("lr", "discount", "tau", "q_agg", "alpha", "noise_coverage", "z_embed", "time_embed", "num_bins",
                     "sigma", "reward_offset", "layer_norm", "normalize_q_loss", "value_num_ensembles",
                     "flow_num_ensembles")


def paper_config(agent: str, env_name: str) -> dict[str, Any]:
    """The paper-tier config of ``agent`` for ``env_name`` in the JSON form run artifacts store (tuples as lists)."""
    from floq_lite.config import make_config

    return json.loads(json.dumps(dataclasses.asdict(make_config(agent, tier="paper", env_name=env_name))))


def config_changes(paper: Mapping[str, Any], ours: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``(changed, algorithmic)``: the fields where ``ours`` differs from ``paper``, and those among them that are in
    :data:`ALGORITHMIC_KNOBS` (an empty second list means only sizes and schedules changed)."""
    changed = [k for k in paper if k in ours and ours[k] != paper[k] and k not in ("r_min", "r_max")]
    return changed, [k for k in changed if k in ALGORITHMIC_KNOBS]


__all__ = [
    "ALGORITHMIC_KNOBS",
    "ARTIFACTS_DIR",
    "DEFAULT_METRICS",
    "PAPER_RESULTS",
    "ArtifactMissingError",
    "artifact_path",
    "body_observation",
    "cells_to_goal",
    "config_changes",
    "config_comments",
    "config_table",
    "range_table",
    "update_runs",
    "dataset_coverage",
    "export_coverage",
    "export_range",
    "export_expert_training",
    "export_k_eval",
    "export_runs",
    "export_rollouts",
    "export_update_speed",
    "export_value_maps",
    "final_success",
    "grid_points",
    "k_table",
    "list_artifacts",
    "load_artifact",
    "load_run_agents",
    "observations_at",
    "paper_config",
    "run_summary",
    "thin_indices",
    "update_flops",
    "value_on_grid",
    "write_artifact",
]
