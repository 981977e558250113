"""Figures of chapter 5: floq vs FQL on an OGBench point maze.

* learning curves (success rate, critic loss) read from the run directories that :func:`floq_lite.training.train`
  writes, mean over seeds with a min..max band;
* the "critic microscope": Q over the maze's (x, y) grid for one fixed action, drawn over the maze walls;
* z_t trajectories of the flow critic, and the flow-Q at visited states as a function of the number of Euler steps K;
* a short rollout GIF (headless MuJoCo, the renderer of ``floq-lite render``).

The point-maze observation is the agent's (x, y) position, so a Q-value "at a position" needs no other state.
Functions that draw return the matplotlib ``Figure``; training figures print the compute tier in their title.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from floq_lite.data.navigate import MazeGrid
from floq_lite.plotting.bands import AGENT_COLORS as _COLORS, seed_band
from floq_lite.reporting import grid_points
from floq_lite.plotting.legibility import legend_below


# --- run logs ---------------------------------------------------------------------------------------------------------


def read_log(run_dir: str | os.PathLike[str], name: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps (T,), values (S, T))`` of ``column`` in ``<run_dir>/<name>.csv`` (``name``: "eval" or "metrics")."""
    with open(Path(run_dir) / f"{name}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    steps = sorted({int(r["step"]) for r in rows})
    seeds = sorted({int(r["seed"]) for r in rows})
    table = {(int(r["step"]), int(r["seed"])): float(r[column]) for r in rows}
    values = np.array([[table.get((t, s), np.nan) for t in steps] for s in seeds])
    return np.asarray(steps), values


def final_success(run_dir: str | os.PathLike[str]) -> dict[int, float]:
    """Success rate of every seed at the last evaluation of a run: ``{seed: rate}``."""
    with open(Path(run_dir) / "eval.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    last = max(int(r["step"]) for r in rows)
    return {int(r["seed"]): float(r["success_rate"]) for r in rows if int(r["step"]) == last}


def success_table(runs: Mapping[str, str | os.PathLike[str]]) -> str:
    """A Markdown table: one row per agent, the final success rate of each seed and their mean."""
    finals = {name: final_success(d) for name, d in runs.items()}
    seeds = sorted({s for f in finals.values() for s in f})
    lines = ["| agent | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
             "|---|" + "---|" * (len(seeds) + 1)]
    for name, f in finals.items():
        cells = [f"{f[s]:.2f}" if s in f else "" for s in seeds]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {np.mean(list(f.values())):.2f} |")
    return "\n".join(lines)


def plot_learning_curves(runs: Mapping[str, str | os.PathLike[str]], *, tier: str):
    """Success rate and critic loss vs training step for each agent's run (mean over seeds, min..max band)."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7.8, 3.6))
    for name, run_dir in runs.items():
        color = _COLORS.get(name, None)
        seed_band(ax0, *read_log(run_dir, "eval", "success_rate"), color=color, label=name)
        seed_band(ax1, *read_log(run_dir, "metrics", "critic/critic_loss"), color=color, label=name)
    ax0.set(xlabel="training step", ylabel="success rate", ylim=(-0.05, 1.05), title=f"Evaluation  [tier: {tier}]")
    ax1.set(xlabel="training step", ylabel="critic loss", yscale="log", title=f"Critic loss  [tier: {tier}]")
    ax0.legend(fontsize=8)
    ax1.text(0.02, 0.02, "floq: flow matching + distillation loss\nFQL: TD regression loss", transform=ax1.transAxes,
             fontsize=7, va="bottom")
    fig.tight_layout()
    return fig


# --- the critic microscope --------------------------------------------------------------------------------------------


def xy_grid(grid: MazeGrid, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points covering the maze: ``xs (W',)``, ``ys (H',)`` and a mask ``free (H', W')`` (False inside walls)."""
    return grid_points(grid.walls, grid.unit, grid.offset_x, grid.offset_y, resolution)


def q_on_grid(agent: Any, xs: np.ndarray, ys: np.ndarray, action: Sequence[float], *, flow_steps: int | None = None,
              seed: int = 0, noise_draws: int = 8) -> np.ndarray:
    """Q(s=(x, y), a) over the grid, ``(len(ys), len(xs))``, mean over the critic ensemble.

    ``agent`` is one (unbatched) agent. ``flow_steps=None`` reads the distilled critic (floq) or the critic (FQL);
    an integer integrates floq's flow critic with that many Euler steps, averaged over ``noise_draws`` starts z_0.
    """
    X, Y = np.meshgrid(xs, ys)
    obs = jnp.asarray(np.stack([X.ravel(), Y.ravel()], -1), jnp.float32)
    act = jnp.broadcast_to(jnp.asarray(action, jnp.float32), (obs.shape[0], len(action)))
    if flow_steps is None:
        q = agent.distilled_q(obs, act) if hasattr(agent, "distilled_q") else agent.q_values(obs, act)
        q = np.asarray(q).mean(0)
    else:
        keys = jax.random.split(jax.random.PRNGKey(seed), noise_draws)
        q = np.mean([np.asarray(agent.flow_q(obs, act, k, num_steps=flow_steps)).mean(0) for k in keys], axis=0)
    return q.reshape(X.shape)


def draw_walls(ax, grid: MazeGrid) -> None:
    """The maze's wall blocks as dark squares (x-y coordinates)."""
    for i, j in zip(*np.nonzero(grid.walls), strict=True):
        cx, cy = grid.center_of((int(i), int(j)))
        ax.add_patch(Rectangle((cx - grid.unit / 2, cy - grid.unit / 2), grid.unit, grid.unit, color="0.2", lw=0))


def plot_q_maps(grid: MazeGrid, xs: np.ndarray, ys: np.ndarray, free: np.ndarray, maps: Mapping[str, np.ndarray], *,
                goal_xy: Sequence[float], action: Sequence[float], tier: str):
    """One heat map per entry of ``maps`` over the maze, on a shared colour scale, with the goal marked."""
    vals = np.concatenate([m[free] for m in maps.values()])
    vmin, vmax = np.percentile(vals, 1), np.percentile(vals, 99)
    fig, axes = plt.subplots(1, len(maps), figsize=(min(7.8, 2.4 * len(maps) + 0.8), 2.8), squeeze=False)
    extent = (xs[0] - (xs[1] - xs[0]) / 2, xs[-1] + (xs[1] - xs[0]) / 2,
              ys[0] - (ys[1] - ys[0]) / 2, ys[-1] + (ys[1] - ys[0]) / 2)
    for ax, (name, m) in zip(axes[0], maps.items(), strict=True):
        im = ax.imshow(np.where(free, m, np.nan), origin="lower", extent=extent, cmap="viridis", vmin=vmin, vmax=vmax)
        draw_walls(ax, grid)
        ax.plot(*goal_xy, marker="*", color="red", markersize=14, markeredgecolor="white")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.85, label="Q")
    fig.suptitle(f"Q(s, a) over the maze for the fixed action a = ({action[0]:+.1f}, {action[1]:+.1f}), "
                 f"goal = red star  [tier: {tier}]", fontsize=10)
    return fig


# --- z_t trajectories and K -------------------------------------------------------------------------------------------


def flow_trajectories(agent: Any, observations: Any, actions: Any, num_steps: int, *, num_starts: int = 16,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Euler paths of floq's flow critic: ``ts (K+1,)`` and ``zs (K+1, N, num_starts)`` (mean over the ensemble)
    from ``num_starts`` evenly spaced starts z_0 in [l, u] for each of the N (s, a) pairs."""
    from floq_lite.critic.floq import tile_ensemble
    from floq_lite.flow.solvers import trajectory
    from floq_lite.networks.critics import split_field

    cfg = agent.config
    obs = jnp.repeat(jnp.asarray(observations, jnp.float32), num_starts, axis=0)
    act = jnp.repeat(jnp.asarray(actions, jnp.float32), num_starts, axis=0)
    starts = jnp.linspace(cfg.noise_min, cfg.noise_max, num_starts + 2)[1:-1]
    z0 = tile_ensemble(jnp.tile(starts, len(observations))[:, None], cfg.flow_num_ensembles)  # (E, N*M, 1)
    field = split_field(agent.networks()["vf"], cfg.member_matmul)
    params = agent.params["vf"]
    ctx = field.prepare(params, obs, act)
    ts, zs = trajectory(lambda t, z: field.velocity(params, ctx, z, t), z0, num_steps)  # (K+1, E, N*M, 1)
    zs = np.asarray(zs)[..., 0].mean(1).reshape(num_steps + 1, len(observations), num_starts)
    del seed  # the starts are deterministic; kept for a uniform signature
    return np.asarray(ts), zs


def plot_trajectories(ts: np.ndarray, zs: np.ndarray, labels: Sequence[str], q_distilled: Sequence[float], *,
                      tier: str):
    """z_t against t for each (s, a) pair (one panel per pair), with the distilled critic's value as a dashed line."""
    n = zs.shape[1]
    fig, axes = plt.subplots(1, n, figsize=(min(7.8, 2.7 * n), 3.0), sharey=True, squeeze=False)
    for k, ax in enumerate(axes[0]):
        ax.plot(ts, zs[:, k, :], color="tab:blue", alpha=0.6, marker=".", markersize=3, lw=1)
        ax.axhline(q_distilled[k], color="k", ls="--", lw=1, label="distilled Q")
        ax.plot([], [], color="tab:blue", label="z_t from evenly spaced z_0")
        ax.set(xlabel="t", title=labels[k])
        ax.title.set_fontsize(9)
    axes[0][0].set_ylabel("z_t")
    fig.suptitle(f"Euler paths of the flow critic  [tier: {tier}]", fontsize=10)
    legend_below(fig, axes[0][0], fontsize=7)
    return fig


def flow_q_vs_k(agent: Any, observations: Any, actions: Any, ks: Sequence[int], *, seed: int = 0,
                noise_draws: int = 4) -> np.ndarray:
    """Mean flow-Q at the given (s, a) pairs for each K in ``ks`` (the same starts z_0 for every K): ``(len(ks),)``."""
    obs, act = jnp.asarray(observations, jnp.float32), jnp.asarray(actions, jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(seed), noise_draws)
    return np.array([np.mean([np.asarray(agent.flow_q(obs, act, key, num_steps=int(k))).mean() for key in keys])
                     for k in ks])


def plot_q_vs_k(ks: Sequence[int], q_by_seed: np.ndarray, q_distilled: np.ndarray, *, train_k: int, tier: str):
    """Flow-Q at visited states vs K (one line per seed), the distilled critic as dashed lines."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for i, (q, d) in enumerate(zip(q_by_seed, q_distilled, strict=True)):
        line, = ax.plot(ks, q, marker="o", label=f"flow-Q, seed {i}")
        ax.axhline(d, color=line.get_color(), ls="--", lw=1)
    ax.axvline(train_k, color="0.5", ls=":", label=f"training K = {train_k}")
    ax.set(xscale="log", xlabel="Euler steps K at evaluation", ylabel="mean Q at visited (s, a)",
           title=f"Flow-Q vs K (dashed: distilled critic)  [tier: {tier}]")
    ax.set_xticks(list(ks), [str(k) for k in ks])
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --- states visited by the policy, and a GIF ----------------------------------------------------------------------------


def rollout_pairs(agent_state: Any, env_name: str, seed: int, *, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(s, a)`` pairs of one evaluation episode of a single-seed (vmapped) agent state, up to ``max_steps``."""
    from floq_lite import evaluation

    env = evaluation.make_env(env_name, max_steps)
    ob, _ = evaluation.seeded_reset(env, evaluation._reset_seed(seed, 0, 0))
    obs, acts, done, t = [], [], False, 0
    while not done:
        action = evaluation.act(agent_state, ob, seed=seed, t=t)
        obs.append(np.asarray(ob, np.float32))
        acts.append(action)
        ob, _, terminated, truncated, _ = env.step(action)
        done, t = terminated or truncated, t + 1
    env.close()
    return np.stack(obs), np.stack(acts)


def rollout_gif(agent_state: Any, env_name: str, path: str | os.PathLike[str], *, seed: int = 0, size: int = 160,
                every: int = 8, max_episode_steps: int | None = None, fps: int = 20) -> tuple[Path, float]:
    """Render one episode of a single-seed (vmapped) agent state to a GIF; returns ``(path, success)``.

    Set ``MUJOCO_GL=egl`` (or ``osmesa``) before MuJoCo is first imported.
    """
    import imageio.v2 as imageio

    from floq_lite.cli.render import render_frames

    frames, successes = render_frames(agent_state, env_name, seed, 1, size, every, max_episode_steps)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    return path, successes[0]


def plot_rollout_paths(grid: MazeGrid, paths: Mapping[str, np.ndarray], goal_xy: Sequence[float], *, title: str):
    """The x-y path of one or more episodes over the maze: start (circle), end (square), goal (star); one panel
    per entry of ``paths`` (``{label: (T, 2)}``). Drawn at the column's width so that the agent can be followed."""
    fig, axes = plt.subplots(1, len(paths), figsize=(min(7.8, 3.9 * len(paths)), 3.9), squeeze=False)
    for ax, (label, xy) in zip(axes[0], paths.items(), strict=True):
        xy = np.asarray(xy)
        draw_walls(ax, grid)
        ax.plot(xy[:, 0], xy[:, 1], color="tab:blue", lw=1.5)
        ax.plot(*xy[0], "o", color="tab:green", ms=8, label="start")
        ax.plot(*xy[-1], "s", color="tab:blue", ms=7, label="end")
        ax.plot(*goal_xy, "*", color="red", ms=14, label="goal")
        ax.set_aspect("equal")
        ax.autoscale()
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{label} (ends at step {len(xy) - 1})", fontsize=9)
    fig.suptitle(title, fontsize=9)
    legend_below(fig, axes[0][0], ncol=3)  # under the maze, where it hides no wall, path or goal
    return fig


__all__ = [
    "draw_walls",
    "plot_rollout_paths",
    "final_success",
    "flow_q_vs_k",
    "flow_trajectories",
    "plot_learning_curves",
    "plot_q_maps",
    "plot_q_vs_k",
    "plot_trajectories",
    "q_on_grid",
    "read_log",
    "rollout_gif",
    "rollout_pairs",
    "success_table",
    "xy_grid",
]
