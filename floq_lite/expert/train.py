"""Train the ant expert: SAC on ``online-ant-xy-v0``, one gradient step per environment step.

A run directory holds::

    config.json        SAC config, seed, command, commit, hardware; updated with the wall time at the end
    metrics.csv/.jsonl training losses, averaged over each ``log_interval`` block of steps
    eval.csv/.jsonl    deterministic-policy evaluations: return (= displacement along the commanded directions)
    checkpoint.msgpack SAC state, optimiser, RNG states and the step (atomic; written every checkpoint_interval)
    buffer.npz         the replay buffer up to that step (atomic)
    actor.msgpack      the final policy in the self-describing format of :mod:`floq_lite.expert.shipped`

``resume=True`` continues from the last checkpoint. The interrupted episode is started afresh, so a resumed run is
not bit-identical to an uninterrupted one; no trained step is lost.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from floq_lite.atomic import atomic_write, atomic_write_bytes
from floq_lite.expert import sac
from floq_lite.expert.ant_xy import ACTION_DIM, OBS_DIM, make_ant_xy_env, seeded_reset
from floq_lite.expert.shipped import save_actor
from floq_lite.training import TableLog, git_commit, hardware, write_json

CHECKPOINT = "checkpoint.msgpack"
BUFFER = "buffer.npz"
ACTOR = "actor.msgpack"
EVAL_SEED_OFFSET = 1_000_000  # evaluation episodes use reset seeds 1_000_000 + i: the same at every evaluation


class ReplayBuffer:
    """Fixed-capacity numpy storage of transitions; ``size`` rows are valid."""

    FIELDS = {"observations": OBS_DIM, "actions": ACTION_DIM, "rewards": None, "masks": None,
              "next_observations": OBS_DIM}

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.size = 0
        self.data = {k: np.zeros((capacity,) if d is None else (capacity, d), np.float32)
                     for k, d in self.FIELDS.items()}

    def add(self, **row: Any) -> None:
        if self.size >= self.capacity:
            raise ValueError(f"Replay buffer full ({self.capacity} rows); raise its capacity.")
        for k, v in row.items():
            self.data[k][self.size] = v
        self.size += 1

    def sample(self, rng: np.random.Generator, batch_size: int) -> dict[str, np.ndarray]:
        idx = rng.integers(0, self.size, size=batch_size)
        return {k: v[idx] for k, v in self.data.items()}

    def save(self, path: Path) -> None:
        atomic_write(path, lambda f: np.savez(f, size=self.size, **{k: v[: self.size] for k, v in self.data.items()}))

    def load(self, path: Path) -> None:
        with np.load(path) as saved:
            self.size = int(saved["size"])
            for k in self.data:
                self.data[k][: self.size] = saved[k]


def evaluate_policy(state: sac.SACState, episodes: int, max_steps: int = 1000) -> dict[str, float]:
    """Run the deterministic policy; the return of an episode is its displacement along the commanded directions.

    Returns the mean return, its per-100-step rate (one direction segment; a maze cell is 4 units) and the fraction of
    episodes that OGBench's health check ended early (torso height outside [0.2, 1.0]: a fall, or a bounce).
    """
    env = make_ant_xy_env()
    returns, lengths, unhealthy = [], [], 0
    saved = np.random.get_state()
    try:
        for i in range(episodes):
            obs = seeded_reset(env, EVAL_SEED_OFFSET + i)
            np.random.seed(EVAL_SEED_OFFSET + i)  # the wrapper's direction redraws
            total, t = 0.0, 0
            for t in range(1, max_steps + 1):
                action = np.asarray(sac.greedy_actions(state, jnp.asarray(obs[None], jnp.float32)))[0]
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                if terminated or truncated:
                    unhealthy += bool(terminated)
                    break
            returns.append(total)
            lengths.append(t)
    finally:
        np.random.set_state(saved)
        env.close()
    return {
        "eval/return": float(np.mean(returns)),
        "eval/return_per_100_steps": float(100.0 * np.sum(returns) / np.sum(lengths)),
        "eval/unhealthy": unhealthy / episodes,
        "eval/length": float(np.mean(lengths)),
    }


def _save_checkpoint(out: Path, state: sac.SACState, buffer: ReplayBuffer, extra: dict[str, Any]) -> None:
    from flax import serialization

    buffer.save(out / BUFFER)  # the buffer first: a checkpoint never points past the rows saved with it
    payload = {"sac": serialization.to_state_dict(jax.device_get(state)), "extra": json.dumps(extra)}
    atomic_write_bytes(out / CHECKPOINT, serialization.msgpack_serialize(payload))


def _load_checkpoint(out: Path, template: sac.SACState, buffer: ReplayBuffer) -> tuple[sac.SACState, dict]:
    from flax import serialization

    payload = serialization.msgpack_restore((out / CHECKPOINT).read_bytes())
    state = jax.tree.map(jnp.asarray, serialization.from_state_dict(template, payload["sac"]))
    buffer.load(out / BUFFER)
    return state, json.loads(payload["extra"])


def train_expert(
    out: str | Path,
    config: sac.SACConfig = sac.SACConfig(),
    seed: int = 0,
    resume: bool = False,
    progress: bool = True,
    log_interval: int = 1_000,
    command: str | None = None,
    on_eval: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train SAC on ``online-ant-xy-v0`` into ``out``; returns the final evaluation and timing.

    Args:
      out: run directory (created).
      config: :class:`~floq_lite.expert.sac.SACConfig` (OGBench's settings by default: 400k steps).
      seed: seeds the networks, the exploration noise, batch sampling, env resets and direction draws.
      resume: continue from ``out/checkpoint.msgpack`` (the config saved there wins).
      progress: tqdm progress bar.
      log_interval: steps per row of ``metrics.csv``.
      command: the command line to record in the provenance.
      on_eval: called as ``on_eval(step, metrics)`` after each evaluation.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if resume:
        if not (out / CHECKPOINT).exists():
            raise FileNotFoundError(f"{out / CHECKPOINT} does not exist: nothing to resume (drop --resume).")
        saved = json.loads((out / "config.json").read_text())
        config = sac.SACConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved["config"].items()})
        seed = int(saved["seed"])
    elif (out / CHECKPOINT).exists():
        raise FileExistsError(f"{out} already holds a run; pass resume=True (--resume) or choose another directory.")
    if config.total_steps <= config.random_steps:
        raise ValueError(f"total_steps ({config.total_steps}) must exceed random_steps ({config.random_steps}).")

    buffer = ReplayBuffer(config.total_steps)
    state = sac.create(jax.random.PRNGKey(seed), OBS_DIM, ACTION_DIM, config)
    meta = {"config": dataclasses.asdict(config), "seed": seed, "env": "online-ant-xy-v0", "command": command,
            "git": git_commit(), "hardware": hardware()}
    metrics_log, eval_log = TableLog(out, "metrics"), TableLog(out, "eval")
    if resume:
        state, extra = _load_checkpoint(out, state, buffer)
        start, wall_before = extra["step"], extra["wall_time_s"]
        if start >= config.total_steps:  # resuming would overwrite the final evaluation with an empty one
            raise ValueError(f"{out} already finished its {config.total_steps} steps; nothing to resume.")
        rng = np.random.default_rng()
        rng.bit_generator.state = extra["rng"]
        np.random.set_state(tuple(extra["np_global"][:1]) + (np.asarray(extra["np_global"][1], np.uint32),)
                            + tuple(extra["np_global"][2:]))
        key = jnp.asarray(extra["key"], jnp.uint32)
        metrics_log.truncate_after(start)
        eval_log.truncate_after(start)
        episode = extra["episode"]
    else:
        write_json(out / "config.json", meta)
        start, wall_before, episode = 0, 0.0, 0
        rng = np.random.default_rng(seed)
        np.random.seed(seed)
        key = jax.random.fold_in(jax.random.PRNGKey(seed), 1)

    env = make_ant_xy_env()
    obs = seeded_reset(env, seed * 100_003 + episode)
    t0 = time.perf_counter()
    sums: dict[str, float] = {}
    updates_in_block = 0  # a resumed run's first block has fewer updates than log_interval
    last_eval: dict[str, float] = {}
    bar = tqdm(total=config.total_steps, initial=start, unit="step", desc="SAC online-ant-xy", disable=not progress)
    for step in range(start + 1, config.total_steps + 1):
        if step <= config.random_steps:
            action = env.action_space.sample()
        else:
            key, act_key = jax.random.split(key)
            action = np.asarray(sac.sample_actions(state, jnp.asarray(obs[None], jnp.float32), act_key))[0]
        next_obs, reward, terminated, truncated, _ = env.step(action)
        # Truncation at 1000 steps is not a terminal state: only a fall stops the bootstrap.
        buffer.add(observations=obs, actions=action, rewards=reward, masks=float(not terminated),
                   next_observations=next_obs)
        if terminated or truncated:
            episode += 1
            obs = seeded_reset(env, seed * 100_003 + episode)
        else:
            obs = next_obs

        if step > config.random_steps:
            key, update_key = jax.random.split(key)
            state, info = sac.update(state, buffer.sample(rng, config.batch_size), update_key)
            for k, v in info.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            updates_in_block += 1
        if step % log_interval == 0:
            bar.update(log_interval)
        if step % log_interval == 0 and sums:  # warm-up rows have no losses to report
            n = updates_in_block
            row = {"step": step, "seed": seed, "episodes": episode, **{k: v / n for k, v in sums.items()}}
            updates_in_block = 0
            metrics_log.append([row])
            sums = {}
        if step % config.eval_interval == 0 or step == config.total_steps:
            last_eval = evaluate_policy(state, config.eval_episodes)
            eval_log.append([{"step": step, "seed": seed, **last_eval}])
            bar.set_postfix(ret=f"{last_eval['eval/return']:.1f}")
            if on_eval is not None:
                on_eval(step, last_eval)
        if step % config.checkpoint_interval == 0 or step == config.total_steps:
            np_global = np.random.get_state()
            extra = {"step": step, "episode": episode, "wall_time_s": wall_before + time.perf_counter() - t0,
                     "rng": rng.bit_generator.state, "key": np.asarray(key).tolist(),
                     "np_global": [np_global[0], np_global[1].tolist(), *np_global[2:]]}
            _save_checkpoint(out, state, buffer, extra)
    bar.close()
    env.close()

    wall = wall_before + time.perf_counter() - t0
    final = {"steps": config.total_steps, "wall_time_s": wall, **last_eval}
    save_actor(out / ACTOR, state, provenance={**meta, "final": final})
    write_json(out / "config.json", {**meta, "final": final})
    return final
