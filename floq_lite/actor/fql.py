"""FQL's actor, shared unchanged by floq and FQL (the two agents differ only in the critic the actor queries).

``L_actor = L_bc + alpha * L_distill + L_q``:

* ``L_bc``: flow matching of the BC velocity ``v(s, x_t, t)`` onto ``a - x0`` (mean over batch and action dims);
* ``L_distill``: the one-step policy ``mu(s, xi)`` regresses onto the 10-step Euler BC-flow action from the same
  ``xi`` (stop-gradient, clipped to [-1, 1]);
* ``L_q = -mean_b mean_e Q_e(s, clip(mu(s, xi)))`` with the critic's parameters held fixed, optionally divided by
  ``stop_gradient(mean |Q|)`` (``normalize_q_loss``).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from floq_lite.flow import integrate

Array = jax.Array
Params = Any
Apply = Callable[..., Array]


def sample_actions(onestep_apply: Apply, params: Params, observations: Array, key: Array) -> Array:
    """``clip(mu(s, xi), -1, 1)`` with ``xi ~ N(0, I)``: ``(N, d_s) -> (N, d_a)``. Stochastic also at evaluation."""
    action_dim = _action_dim(onestep_apply, params)
    noise = jax.random.normal(key, (*observations.shape[:-1], action_dim))
    return jnp.clip(onestep_apply(params, observations, noise), -1.0, 1.0)


def flow_actions(bc_apply: Apply, params: Params, observations: Array, noises: Array, num_steps: int = 10) -> Array:
    """Euler-integrate the BC flow from ``noises (N, d_a)`` for ``num_steps`` steps and clip to [-1, 1]."""
    x1 = integrate(lambda t, x: bc_apply(params, observations, x, t), noises, num_steps)
    return jnp.clip(x1, -1.0, 1.0)  # (N, d_a)


def bc_flow_loss(bc_apply: Apply, params: Params, observations: Array, actions: Array, key: Array) -> Array:
    """Straight-path flow matching from ``N(0, I)`` to the dataset actions; scalar (mean over rows and dims)."""
    x_key, t_key = jax.random.split(key)
    x0 = jax.random.normal(x_key, actions.shape)  # (B, d_a)
    t = jax.random.uniform(t_key, (*actions.shape[:-1], 1))  # (B, 1)
    x_t = (1.0 - t) * x0 + t * actions
    pred = bc_apply(params, observations, x_t, t)  # (B, d_a)
    return jnp.mean(jnp.square(pred - (actions - x0)))


def actor_loss(
    bc_apply: Apply,
    onestep_apply: Apply,
    critic_apply: Callable[[Params, Array, Array], Array],
    bc_params: Params,
    onestep_params: Params,
    critic_params: Params,
    batch: dict[str, Array],
    key: Array,
    *,
    alpha: float,
    flow_steps: int = 10,
    normalize_q_loss: bool = False,
) -> tuple[Array, dict[str, Array]]:
    """FQL's actor loss and diagnostics.

    Args:
      bc_apply: ``(params, obs (B, d_s), x (B, d_a), t (B, 1)) -> (B, d_a)``.
      onestep_apply: ``(params, obs, noise) -> (B, d_a)``.
      critic_apply: ``(params, obs, actions) -> (E, B)``: FQL's Q-networks or floq's distilled critic.
      critic_params: used under ``stop_gradient`` (the actor loss never moves the critic).
      batch: ``observations (B, d_s)``, ``actions (B, d_a)``.
    Returns:
      ``(loss, info)`` with ``actor_loss, bc_flow_loss, distill_loss, q_loss, q, mse``.
    """
    obs, data_actions = batch["observations"], batch["actions"]
    bc_key, noise_key, mse_key = jax.random.split(key, 3)
    bc_loss = bc_flow_loss(bc_apply, bc_params, obs, data_actions, bc_key)

    # One-step distillation onto the (fixed) BC flow's action for the same noise.
    noises = jax.random.normal(noise_key, data_actions.shape)  # (B, d_a)
    target = flow_actions(bc_apply, jax.lax.stop_gradient(bc_params), obs, noises, flow_steps)  # (B, d_a)
    pi = onestep_apply(onestep_params, obs, noises)  # (B, d_a)
    distill = jnp.mean(jnp.square(pi - target))

    # Q term through the critic the actor sees.
    q = jnp.mean(critic_apply(jax.lax.stop_gradient(critic_params), obs, jnp.clip(pi, -1.0, 1.0)), axis=0)  # (B,)
    q_loss = -jnp.mean(q)
    if normalize_q_loss:
        q_loss = q_loss * jax.lax.stop_gradient(1.0 / jnp.mean(jnp.abs(q)))
    loss = bc_loss + alpha * distill + q_loss

    sampled = sample_actions(onestep_apply, jax.lax.stop_gradient(onestep_params), obs, mse_key)
    info = {
        "actor_loss": loss,
        "bc_flow_loss": bc_loss,
        "distill_loss": distill,
        "q_loss": q_loss,
        "q": jnp.mean(q),
        "mse": jnp.mean(jnp.square(sampled - data_actions)),
    }
    return loss, info


def _action_dim(onestep_apply: Apply, params: Params) -> int:
    """Output width of the one-step policy, read from its last Dense layer."""
    dims = getattr(onestep_apply, "action_dim", None)
    if dims is not None:
        return int(dims)
    mlp = params["mlp"]
    last = max((k for k in mlp if k.startswith("Dense_")), key=lambda k: int(k.split("_")[1]))
    return int(mlp[last]["kernel"].shape[-1])
