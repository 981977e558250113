"""The FQL agent (Park et al., 2025): the same actor as floq on a monolithic two-head Q critic with an EMA target.

Parameters: ``critic`` and ``target_critic`` (:class:`~floq_lite.networks.Value`, 2 heads), ``actor_bc_flow``,
``actor_onestep_flow``; one Adam optimizer over all but the target.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flax
import jax
import jax.numpy as jnp

from floq_lite.actor import fql as actor_lib
from floq_lite.agents._common import AgentMethods, apply_fn, make_optimizer
from floq_lite.config import FQLConfig, validate_config
from floq_lite.critic import fql as critic_lib
from floq_lite.networks import ActorVectorField, OneStepPolicy, Value

Array = jax.Array
TRAINABLE: tuple[str, ...] = ("critic", "actor_bc_flow", "actor_onestep_flow")


class FQLAgent(AgentMethods, flax.struct.PyTreeNode):
    """FQL agent state: PRNG key, parameters (incl. the target critic), Adam state, step count."""

    TRAINABLE = TRAINABLE
    TARGET = ("critic", "target_critic")

    rng: Array
    params: dict[str, Any]
    opt_state: Any
    step: Array
    config: FQLConfig = flax.struct.field(pytree_node=False)
    obs_dim: int = flax.struct.field(pytree_node=False)
    action_dim: int = flax.struct.field(pytree_node=False)

    def networks(self) -> dict[str, Any]:
        """The flax modules (parameters live in ``self.params``)."""
        return _networks(self.config, self.action_dim)

    def total_loss(self, trainable: dict[str, Any], batch: dict[str, Array], rng: Array) -> tuple[Array, dict]:
        """Critic loss + actor loss with gradients into ``trainable``."""
        cfg, nets = self.config, self.networks()
        critic_apply = apply_fn(nets["critic"])
        onestep_apply = apply_fn(nets["actor_onestep_flow"])
        actor_key, critic_key = jax.random.split(rng)

        onestep_sg = jax.lax.stop_gradient(trainable["actor_onestep_flow"])
        next_actions = actor_lib.sample_actions(onestep_apply, onestep_sg, batch["next_observations"], critic_key)
        critic_loss, critic_info = critic_lib.critic_loss(
            critic_apply, trainable["critic"], self.params["target_critic"], batch, next_actions,
            discount=cfg.discount, q_agg=cfg.q_agg,
        )
        actor_loss, actor_info = actor_lib.actor_loss(
            apply_fn(nets["actor_bc_flow"]), onestep_apply, critic_apply, trainable["actor_bc_flow"],
            trainable["actor_onestep_flow"], trainable["critic"], batch, actor_key, alpha=cfg.alpha,
            flow_steps=cfg.actor_flow_steps, normalize_q_loss=cfg.normalize_q_loss,
        )
        info = {f"critic/{k}": v for k, v in critic_info.items()} | {f"actor/{k}": v for k, v in actor_info.items()}
        return critic_loss + actor_loss, info



    @jax.jit
    def q_values(self, observations: Array, actions: Array) -> Array:
        """The Q-networks: ``(E, N)``."""
        return apply_fn(self.networks()["critic"])(self.params["critic"], observations, actions)

    @classmethod
    def create(cls, seed: int | Array, ex_observations: Array, ex_actions: Array, config: FQLConfig) -> "FQLAgent":
        """Initialise all networks from ``seed`` (may be traced, so ``create`` can be vmapped over seeds)."""
        if not isinstance(config, FQLConfig):
            raise TypeError(f"FQLAgent.create needs an FQLConfig, got {type(config).__name__}; "
                            "use make_config('fql', ...).")
        validate_config(config)
        obs = jnp.asarray(ex_observations, jnp.float32)[:1]
        act = jnp.asarray(ex_actions, jnp.float32)[:1]
        rng, params, opt_state = _init(jnp.asarray(seed), obs, act, config)  # one compiled init, not op by op
        return cls(rng=rng, params=params, opt_state=opt_state, step=jnp.zeros((), jnp.int32), config=config,
                   obs_dim=int(obs.shape[-1]), action_dim=int(act.shape[-1]))




def _networks(config: FQLConfig, action_dim: int) -> dict[str, Any]:
    return {
        "critic": Value(config.value_hidden_dims, num_ensembles=config.value_num_ensembles,
                        layer_norm=config.layer_norm),
        "actor_bc_flow": ActorVectorField(config.actor_hidden_dims, action_dim, layer_norm=config.actor_layer_norm),
        "actor_onestep_flow": OneStepPolicy(config.actor_hidden_dims, action_dim, layer_norm=config.actor_layer_norm),
    }


@partial(jax.jit, static_argnames=("config",))
def _init(seed, obs, act, config):
    """All parameters, the Adam state and the agent key for ``seed``."""
    nets = _networks(config, act.shape[-1])
    rng, init_rng = jax.random.split(jax.random.PRNGKey(seed))
    k_critic, k_bc, k_one = jax.random.split(init_rng, 3)
    critic = nets["critic"].init(k_critic, obs, act)["params"]
    params = {
        "critic": critic,
        "target_critic": jax.tree.map(jnp.array, critic),
        "actor_bc_flow": nets["actor_bc_flow"].init(k_bc, obs, act, jnp.zeros((1, 1)))["params"],
        "actor_onestep_flow": nets["actor_onestep_flow"].init(k_one, obs, act)["params"],
    }
    opt_state = make_optimizer(config).init({k: params[k] for k in TRAINABLE})
    return rng, params, opt_state


__all__ = ["FQLAgent"]
