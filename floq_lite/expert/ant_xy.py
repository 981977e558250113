"""``online-ant-xy-v0``: the directional ant task OGBench trained its low-level antmaze expert on.

The ant of ``online-ant-v0`` (observation without x-y: ``qpos[2:]`` ++ ``qvel``, 27 numbers, the same layout as an
antmaze observation with its first two entries removed) gets a random unit direction appended to its observation,
redrawn every 100 steps; the reward of a step is the torso's displacement along that direction. Episodes last 1000
steps and end early when the ant flips over (unhealthy). OGBench's own wrapper (``GymXYWrapper``) builds it; this
module only names it and silences a harmless gymnasium warning.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

ENV_ID = "online-ant-xy-v0"
RESAMPLE_INTERVAL = 100  # steps between direction changes
OBS_DIM = 29  # 27 ant state numbers (no x-y) + 2 direction
ACTION_DIM = 8


def make_ant_xy_env() -> Any:
    """A fresh ``online-ant-xy-v0`` env (gymnasium API). Its direction draws use numpy's *global* RNG (OGBench's
    wrapper does), so seed that with :func:`seeded_reset` or ``np.random.seed`` for reproducible directions."""
    import gymnasium
    import ogbench.online_locomotion  # noqa: F401  (registers online-ant-v0)
    from ogbench.online_locomotion.wrappers import GymXYWrapper

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*precision lowered.*", category=UserWarning)
        return GymXYWrapper(gymnasium.make("online-ant-v0"), resample_interval=RESAMPLE_INTERVAL)


def seeded_reset(env: Any, seed: int) -> np.ndarray:
    """Reset with ``seed`` for the env *and* the first direction; the caller's global numpy state is kept."""
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
    finally:
        np.random.set_state(saved)
    return obs


def split_observation(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(..., 29) -> (ant state (..., 27), direction (..., 2))``."""
    return obs[..., :-2], obs[..., -2:]
