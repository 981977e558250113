"""FQL's monolithic critic: two Q-networks regressed onto ``r + gamma * mask * Q_target(s', a')``.

One next action per transition (from the current one-step policy); the target value aggregates the two target heads
by ``mean`` (default) or ``min`` (clipped double Q, antmaze).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from floq_lite.critic.floq import Q_AGGS, QAgg

Array = jax.Array
Params = Any


def critic_loss(
    critic_apply: Callable[[Params, Array, Array], Array],
    critic_params: Params,
    target_params: Params,
    batch: dict[str, Array],
    next_actions: Array,
    *,
    discount: float,
    q_agg: QAgg = "mean",
) -> tuple[Array, dict[str, Array]]:
    """``mean_{e,b} (Q_e(s, a) - y_b)^2`` with ``y = r + gamma * mask * agg_e Q_target_e(s', a')``.

    Args:
      critic_apply: ``(params, obs (B, d_s), actions (B, d_a)) -> (E, B)``.
      batch: ``observations, actions, rewards (B,), masks (B,), next_observations``.
      next_actions: ``(B, d_a)`` clipped one-step-policy actions at the next observations.
    Returns:
      ``(loss, info)`` with ``critic_loss`` and ``q``.
    """
    if q_agg not in Q_AGGS:
        raise ValueError(f"Unknown q_agg {q_agg!r}; choose one of {', '.join(Q_AGGS)}.")
    next_qs = critic_apply(target_params, batch["next_observations"], next_actions)  # (E, B)
    next_q = jnp.min(next_qs, axis=0) if q_agg == "min" else jnp.mean(next_qs, axis=0)  # (B,)
    y = jax.lax.stop_gradient(batch["rewards"] + discount * batch["masks"] * next_q)  # (B,)
    q = critic_apply(critic_params, batch["observations"], batch["actions"])  # (E, B)
    loss = jnp.mean(jnp.square(q - y[None]))
    return loss, {"critic_loss": loss, "q": jnp.mean(q)}
