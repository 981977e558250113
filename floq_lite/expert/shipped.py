"""The ant expert shipped with floq_lite, and the file format it is stored in.

``weights/ant_xy_sac.msgpack`` holds the SAC actor's parameters together with what is needed to rebuild the network
(hidden widths, sizes, log-std clip) and its provenance (command, seed, steps, evaluation, commit, hardware, wall
time); ``weights/ant_xy_sac.json`` repeats the provenance in readable form. The antmaze navigate generator calls
:func:`ant_expert` in each worker process (``"floq_lite.expert.shipped:ant_expert"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from floq_lite.atomic import atomic_write_bytes
from floq_lite.expert import sac

WEIGHTS = Path(__file__).resolve().parent / "weights" / "ant_xy_sac.msgpack"
FORMAT = "floq_lite.ant_expert/1"
FACTORY = "floq_lite.expert.shipped:ant_expert"  # the ExpertSpec string the data generator resolves per worker


def save_actor(path: str | Path, state: sac.SACState, provenance: dict[str, Any]) -> Path:
    """Write the actor of ``state`` (plus its architecture and ``provenance``) atomically; a ``.json`` twin holds
    the provenance."""
    from flax import serialization

    cfg = state.config
    payload = {
        "format": FORMAT,
        "hidden_dims": list(cfg.hidden_dims),
        "action_dim": state.action_dim,
        "log_std_min": cfg.log_std_min,
        "log_std_max": cfg.log_std_max,
        "params": serialization.to_state_dict(jax.device_get(state.params["actor"])),
        "provenance": json.dumps(provenance, default=str),
    }
    path = Path(path)
    atomic_write_bytes(path.with_suffix(".json"), (json.dumps(provenance, indent=2, default=str) + "\n").encode())
    return atomic_write_bytes(path, serialization.msgpack_serialize(payload))


class AntExpert:
    """``expert(obs_without_xy (27,), direction (2,)) -> action (8,)``: the SAC policy's mode ``tanh(mean)``.

    Also accepts batches ``(N, 27), (N, 2) -> (N, 8)``. ``provenance`` says how it was trained.
    """

    def __init__(self, path: str | Path = WEIGHTS):
        from flax import serialization

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(
                f"Ant expert weights {path} are missing. Reinstall floq-lite, or train your own with "
                "`floq-lite expert train --out runs/ant-expert` and pass --expert-weights runs/ant-expert/actor.msgpack."
            )
        try:
            payload = serialization.msgpack_restore(path.read_bytes())
            if payload.get("format") != FORMAT:
                raise ValueError(f"format {payload.get('format')!r}, expected {FORMAT!r}")
        except Exception as exc:
            raise ValueError(f"{path} is not an ant-expert file ({exc}); it is corrupt or was written by something "
                             "else.") from exc
        self.path = path
        self.provenance: dict[str, Any] = json.loads(payload["provenance"])
        self.actor = sac.TanhGaussianActor(tuple(int(h) for h in payload["hidden_dims"]), int(payload["action_dim"]),
                                           float(payload["log_std_min"]), float(payload["log_std_max"]))
        self.params = jax.tree.map(jnp.asarray, payload["params"])
        self._act = jax.jit(lambda params, obs: sac.policy_actions(self.actor, params, obs, None))

    def __reduce__(self):
        # Pickle as the path (worker processes reload the weights) rather than as jitted functions and arrays.
        return (AntExpert, (str(self.path),))

    def __call__(self, obs_without_xy: np.ndarray, direction: np.ndarray) -> np.ndarray:
        obs = np.concatenate([np.asarray(obs_without_xy, np.float32), np.asarray(direction, np.float32)], axis=-1)
        single = obs.ndim == 1
        actions = np.asarray(self._act(self.params, jnp.asarray(obs[None] if single else obs)))
        return actions[0] if single else actions


def ant_expert(dataset_name: str | None = None, path: str | Path = WEIGHTS) -> AntExpert:
    """Factory for the navigate generator (``dataset_name`` is accepted for the :data:`ExpertSpec` protocol)."""
    return AntExpert(path)
