"""Evaluate trained agents on their OGBench environment: binary success rate over episodes, as the papers report.

The protocol follows the official ``utils/evaluation.py`` of FQL/floq: the agent acts with its one-step policy
``clip(mu(s, xi), -1, 1)``; an episode ends when the env says ``terminated`` (OGBench singletask envs terminate on
success) or ``truncated`` (time limit); the episode counts as a success if ``info["success"]`` of its last step is 1.
The success rate is the mean over episodes.

Several seeds of a vmapped agent state (leading seed axis, as made by ``Agent.create_seeds``) are evaluated in
lockstep: one env per seed, one jitted policy call per time step for all of them, the env loop in Python.

Everything is a function of ``(seed, step, episode, t)``: env resets are seeded and the policy noise key is
``fold_in`` of those numbers, so evaluating the same state twice gives the same numbers (resumed runs reproduce).

Test-time compute (``flow_steps``): the actor never integrates the critic flow (it reads the distilled critic only
while training), so the success rate does not depend on K. What K changes is the flow critic's value estimate;
:func:`evaluate` can report the flow-Q at the visited ``(s, a)`` pairs with K Euler steps next to the distilled critic
and the flow-Q with the training K.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

EVAL_KEY_SALT = 0xE7A1  # separates evaluation randomness from training randomness of the same seed
MAX_DIAGNOSTIC_ROWS = 2048  # visited (s, a) pairs kept per seed for the flow-Q diagnostics


@dataclass
class SeedEval:
    """Evaluation result of one seed."""

    seed: int
    success_rate: float
    return_mean: float
    episode_length_mean: float
    successes: list[float] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    q_diagnostics: dict[str, float] = field(default_factory=dict)
    paths: list[np.ndarray] = field(default_factory=list)  # per episode (P, 2) x-y, with ``path_every``

    def row(self) -> dict[str, Any]:
        """A flat dict for CSV/JSON logs (per-episode lists left out)."""
        out = {
            "seed": self.seed,
            "success_rate": self.success_rate,
            "return_mean": self.return_mean,
            "episode_length_mean": self.episode_length_mean,
            "episodes": len(self.successes),
        }
        out.update(self.q_diagnostics)
        return out


def make_env(env_name: str, max_episode_steps: int | None = None, **env_kwargs: Any):
    """An OGBench env (no dataset) via the official ``make_env_and_datasets(..., env_only=True)``."""
    import ogbench

    if max_episode_steps is not None:
        env_kwargs["max_episode_steps"] = int(max_episode_steps)
    with warnings.catch_warnings():
        # gymnasium warns when a float64 Box bound is cast to float32 ("Box ... precision lowered"): harmless here,
        # and any stderr output fails the book build (-W).
        warnings.filterwarnings("ignore", message=r".*precision lowered.*", category=UserWarning)
        return ogbench.make_env_and_datasets(env_name, env_only=True, **env_kwargs)


def select_seeds(agents: Any, indices: Sequence[int]) -> Any:
    """The sub-state of a vmapped agent state holding the seeds at ``indices`` (still with a seed axis)."""
    idx = np.asarray(list(indices), dtype=np.int32)
    return jax.tree.map(lambda x: x[idx], agents)


def select_seed(agents: Any, index: int) -> Any:
    """One seed of a vmapped agent state, as a plain (unbatched) agent."""
    return jax.tree.map(lambda x: x[index], agents)


def _action_key(seed, step, episode, t):
    """The policy-noise key of one action: a function of ``(seed, step, episode, t)`` only."""
    key = jax.random.fold_in(jax.random.PRNGKey(seed), EVAL_KEY_SALT)
    for value in (step, episode, t):
        key = jax.random.fold_in(key, value)
    return key


@jax.jit
def _act(agents, observations, seeds, step, episodes, times):
    """One action per (seed, slot): ``observations`` (S, W, d_s) -> (S, W, d_a).

    Slot ``w`` of seed ``s`` runs its own episode; its noise key depends on (seed, step, episode, t) only, so the
    actions do not depend on how many episodes run side by side.
    """

    steps = jnp.broadcast_to(step, episodes.shape)  # a scalar, or one per (seed, slot)

    def one_seed(agent, obs, seed, sts, eps, ts):  # obs (W, d_s); sts, eps, ts (W,)
        def one_slot(o, st, episode, t):
            return agent.sample_actions(o[None], _action_key(seed, st, episode, t))[0]

        return jax.vmap(one_slot)(obs, sts, eps, ts)

    return jax.vmap(one_seed)(agents, observations, seeds, steps, episodes, times)


def act(agent_state: Any, observation: np.ndarray, *, seed: int, step: int = 0, episode: int = 0, t: int = 0) -> np.ndarray:
    """The clipped action of a single-seed (vmapped) agent state at one observation, with the noise key
    :func:`evaluate` would use for ``(seed, step, episode, t)``: for rollouts outside :func:`evaluate`."""
    obs = jnp.asarray(np.asarray(observation, np.float32)[None, None])  # (1, 1, d_s)
    one = jnp.asarray([[0]], jnp.int32)
    action = _act(agent_state, obs, jnp.asarray([seed], jnp.int32), step, one + episode, one + t)[0, 0]
    return np.clip(np.asarray(action), -1.0, 1.0)


def _reset_seed(seed: int, step: int, episode: int) -> int:
    return int((1_000_003 * seed + 7_919 * step + 104_729 * episode + 17) % (2**31 - 1))


def seeded_reset(env: Any, seed: int):
    """``env.reset(seed=seed)`` made fully deterministic: OGBench draws the start-position noise from the *global*
    ``np.random`` and its settling steps from ``action_space.sample()``, so both are seeded too (the caller's global
    numpy state is restored afterwards)."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        env.action_space.seed(seed)
        return env.reset(seed=seed)
    finally:
        np.random.set_state(state)


def make_envs(env_name: str, count: int, max_episode_steps: int | None = None) -> list[Any]:
    """``count`` fresh envs of ``env_name`` (one per seed and parallel episode slot)."""
    return [make_env(env_name, max_episode_steps) for _ in range(count)]


def evaluate(
    agents: Any,
    env_name: str | None = None,
    episodes: int = 10,
    *,
    seeds: Sequence[int],
    step: int = 0,
    envs: Sequence[Any] | None = None,
    max_episode_steps: int | None = None,
    flow_steps: int | None = None,
    path_every: int | None = None,
    progress: bool = False,
) -> list[SeedEval]:
    """Run ``episodes`` episodes per seed and return one :class:`SeedEval` per seed.

    The episodes of all seeds run side by side: with ``W`` envs per seed, every time step is one jitted policy call
    for ``S * W`` observations, and slot ``w`` of a seed plays its episodes ``w, w + W, w + 2W, ...``. The numbers
    do not depend on ``W``: episode ``e`` of seed ``s`` always starts from the reset seed of ``(s, step, e)`` and
    draws its policy noise from ``(s, step, e, t)``.

    Args:
      agents: a vmapped agent state with a leading seed axis of length ``len(seeds)``
        (use ``jax.tree.map(lambda x: x[None], agent)`` for a single agent).
      env_name: OGBench env name (used to make the envs when ``envs`` is not given).
      episodes: episodes per seed.
      seeds: the training seed of each entry (keys the policy noise and env resets).
      step: the training step (part of the randomness, so evaluations at different steps differ).
      envs: envs to reuse, ``W`` per seed (``len(envs) = S * W``; ``envs[i * W + w]`` is slot ``w`` of seed ``i``).
        Default: :func:`make_envs` with ``W = episodes`` (every episode at once).
      max_episode_steps: time limit override (default: the env's registered limit, 1000 on the mazes).
      flow_steps: floq only: also report the flow-Q with this many Euler steps at the visited (s, a) pairs,
        next to the distilled critic and the flow-Q with the training K. Does not change the actions.
      path_every: also keep each episode's x-y path (the first two observation entries), every ``path_every``
        steps from the start plus the position where the episode ended, in :attr:`SeedEval.paths`.
      progress: show a tqdm bar over env steps.
    """
    seeds = [int(s) for s in seeds]
    S = len(seeds)
    leaves = jax.tree.leaves(agents)
    if not leaves or leaves[0].shape[0] != S:
        raise ValueError(f"agents must have a leading seed axis of length {S} (one per seed).")
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    if path_every is not None and path_every < 1:
        raise ValueError(f"path_every must be >= 1 step (or None), got {path_every}.")
    if envs is None:
        if env_name is None:
            raise ValueError("give env_name or envs.")
        envs = make_envs(env_name, S * episodes, max_episode_steps)
    if not envs or len(envs) % S:
        raise ValueError(f"need W envs per seed (a multiple of {S} envs), got {len(envs)}.")
    W = min(len(envs) // S, episodes)
    slot_envs = [[envs[i * (len(envs) // S) + w] for w in range(W)] for i in range(S)]

    keep_visited = flow_steps is not None and hasattr(agents, "flow_q")
    seed_arr = jnp.asarray(seeds, jnp.int32)
    # Per seed and episode: success, return, length, and the visited (s, a) pairs (for the flow-Q diagnostics).
    successes = np.zeros((S, episodes))
    returns = np.zeros((S, episodes))
    lengths = np.zeros((S, episodes), np.int64)
    visited: list[list[list[tuple[np.ndarray, np.ndarray]]]] = [[[] for _ in range(episodes)] for _ in range(S)]
    paths: list[list[list[np.ndarray]]] = [[[] for _ in range(episodes)] for _ in range(S)]  # x-y (2,) points

    ep = np.tile(np.arange(W, dtype=np.int32), (S, 1))  # (S, W) the episode each slot plays
    t = np.zeros((S, W), np.int32)
    ret = np.zeros((S, W))
    obs = np.stack([np.stack([np.asarray(seeded_reset(slot_envs[i][w], _reset_seed(seeds[i], step, w))[0],
                                         np.float32) for w in range(W)]) for i in range(S)])  # (S, W, d_s)
    active = np.ones((S, W), bool)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="eval", unit="step", leave=False)
    while active.any():
        actions = np.asarray(_act(agents, jnp.asarray(obs), seed_arr, step, jnp.asarray(ep), jnp.asarray(t)))
        for i, w in zip(*np.nonzero(active)):
            e, env = int(ep[i, w]), slot_envs[i][w]
            action = np.clip(actions[i, w], -1.0, 1.0)
            if keep_visited:
                visited[i][e].append((obs[i, w].copy(), action))
            if path_every and t[i, w] % path_every == 0:
                paths[i][e].append(obs[i, w, :2].copy())
            ob, reward, terminated, truncated, info = env.step(action)
            ret[i, w] += float(reward)
            t[i, w] += 1
            if terminated or truncated:
                successes[i, e], returns[i, e], lengths[i, e] = float(info.get("success", 0.0)), ret[i, w], t[i, w]
                if path_every:
                    paths[i][e].append(np.asarray(ob[:2], np.float32))  # where the episode ended
                ep[i, w] += W
                t[i, w], ret[i, w] = 0, 0.0
                if ep[i, w] >= episodes:
                    active[i, w] = False
                    continue
                ob, _ = seeded_reset(env, _reset_seed(seeds[i], step, int(ep[i, w])))
            obs[i, w] = ob  # copied: envs may reuse their observation buffer
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()

    results = []
    for i in range(S):
        diag: dict[str, float] = {}
        pairs = [pair for e in range(episodes) for pair in visited[i][e]][:MAX_DIAGNOSTIC_ROWS]  # episode order
        if keep_visited and pairs:
            diag = q_diagnostics(select_seed(agents, i), np.stack([o for o, _ in pairs]),
                                 np.stack([a for _, a in pairs]), flow_steps, seed=seeds[i])
        results.append(SeedEval(
            seed=seeds[i],
            success_rate=float(np.mean(successes[i])),
            return_mean=float(np.mean(returns[i])),
            episode_length_mean=float(np.mean(lengths[i])),
            successes=successes[i].tolist(),
            returns=returns[i].tolist(),
            q_diagnostics=diag,
            paths=[np.stack(p) for p in paths[i]] if path_every else [],
        ))
    return results


def q_diagnostics(agent: Any, observations: np.ndarray, actions: np.ndarray, flow_steps: int,
                  seed: int = 0) -> dict[str, float]:
    """floq: mean flow-Q with ``flow_steps`` Euler steps and with the training K, the distilled critic, and the
    mean absolute gap between the K-step flow-Q and the distilled critic, at the given (s, a) pairs (members
    averaged)."""
    if flow_steps < 1:
        raise ValueError(f"flow_steps must be >= 1, got {flow_steps}.")
    obs = jnp.asarray(observations, jnp.float32)
    act = jnp.asarray(actions, jnp.float32)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), EVAL_KEY_SALT + 1)
    q_k = np.asarray(agent.flow_q(obs, act, key, num_steps=int(flow_steps))).mean(0)
    q_train = np.asarray(agent.flow_q(obs, act, key)).mean(0)
    q_dist = np.asarray(agent.distilled_q(obs, act)).mean(0)
    return {
        "flow_steps": float(flow_steps),
        "train_flow_steps": float(agent.config.critic_flow_steps),
        "flow_q_mean": float(q_k.mean()),
        "flow_q_train_k_mean": float(q_train.mean()),
        "distilled_q_mean": float(q_dist.mean()),
        "flow_q_vs_distilled_abs_gap": float(np.abs(q_k - q_dist).mean()),
        "q_pairs": float(len(q_k)),
    }



def success_by_start_distance(agents: Any, env_name: str, seeds: Sequence[int], max_steps: int) -> dict[int, np.ndarray]:
    """How far from the goal a policy works: start it at the centre of every free maze cell.

    Each seed of the vmapped ``agents`` acts (one-step policy, as in :func:`evaluate`) for at most ``max_steps`` from
    each start cell, all cells side by side (one env per seed and cell); the cells are grouped by their walking
    distance to the goal cell (BFS over the maze grid, in cells). Returns ``{distance: success rate per seed (S,)}``.
    Start placement uses OGBench's ``set_xy``; the policy noise of cell ``c`` at time ``t`` is keyed by
    ``(seed, c, 0, t)``.
    """
    from floq_lite.data.navigate import MazeGrid

    seed_arr = np.asarray(list(seeds), np.int32)
    S = len(seed_arr)
    probe = make_env(env_name)
    maze = MazeGrid.from_env(probe)
    _, info = probe.reset(seed=0)
    dist = maze.distances_to(maze.cell_of(info["goal"]))
    probe.close()
    cells = [(c, cell) for c, cell in enumerate(maze.empty_cells()) if dist[cell] != 0]  # (cell index, cell)
    C = len(cells)
    envs = [[make_env(env_name) for _ in range(C)] for _ in range(S)]  # (S, C)

    def start_at(env, cell):
        env.reset(seed=0)
        env.unwrapped.set_xy(maze.center_of(cell))
        return env.unwrapped.get_ob()

    obs = np.asarray([[start_at(env, cell) for env, (_, cell) in zip(row, cells)] for row in envs],
                     np.float32)  # (S, C, d_s)
    cell_ids = jnp.asarray(np.tile([c for c, _ in cells], (S, 1)), jnp.int32)  # (S, C): the key's "step"
    zeros = np.zeros((S, C), np.int32)
    done, ok = np.zeros((S, C), bool), np.zeros((S, C))
    for t in range(max_steps):
        actions = np.asarray(_act(agents, jnp.asarray(obs), jnp.asarray(seed_arr), cell_ids, jnp.asarray(zeros),
                                  jnp.asarray(zeros + t)))
        for i, j in zip(*np.nonzero(~done)):
            ob, _, terminated, truncated, info = envs[i][j].step(np.clip(actions[i, j], -1.0, 1.0))
            obs[i, j] = ob
            if terminated or truncated:
                done[i, j], ok[i, j] = True, float(info["success"])
        if done.all():
            break
    for row in envs:
        for env in row:
            env.close()
    found: dict[int, list[np.ndarray]] = {}
    for j, (_, cell) in enumerate(cells):
        found.setdefault(int(dist[cell]), []).append(ok[:, j])
    return {d: np.mean(v, axis=0) for d, v in sorted(found.items())}


__all__ = [
    "SeedEval", "act", "evaluate", "make_env", "make_envs", "q_diagnostics", "seeded_reset", "select_seed", "select_seeds",
    "success_by_start_distance",
]
