"""The floq agent: FQL's actor on top of a flow-matching critic (velocity field + EMA target + distilled critic).

Parameters (one Adam optimizer over all trainable ones, as the official single ``TrainState``):

==================== ===================================== ==============================================
name                 module                                trained by
==================== ===================================== ==============================================
``vf``               :class:`~floq_lite.networks.VelocityField` (E members) flow-matching loss
``target_vf``        copy of ``vf``                        Polyak average only (tau = 0.005)
``critic``           :class:`~floq_lite.networks.Value` (E heads)   distillation loss
``actor_bc_flow``    :class:`~floq_lite.networks.ActorVectorField`  BC flow-matching loss
``actor_onestep_flow`` :class:`~floq_lite.networks.OneStepPolicy`   distillation + Q loss
==================== ===================================== ==============================================
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flax
import jax
import jax.numpy as jnp

from floq_lite.actor import fql as actor_lib
from floq_lite.agents._common import AgentMethods, apply_fn, make_optimizer
from floq_lite.config import FloqConfig, validate_config
from floq_lite.critic import floq as critic_lib
from floq_lite.flow import sample_uniform_noise
from floq_lite.jitting import NO_LIBRARY_FUSIONS
from floq_lite.networks import ActorVectorField, OneStepPolicy, Value, VelocityField, split_field

Array = jax.Array
TRAINABLE: tuple[str, ...] = ("vf", "critic", "actor_bc_flow", "actor_onestep_flow")
# From this velocity-field width on, the training steps compile without XLA's library fusions (measured in
# floq_lite/jitting.py: 1.12-1.80x faster from 128 wide, 0.90x at 64).
NO_LIBRARY_FUSIONS_FROM_WIDTH = 128


class FloqAgent(AgentMethods, flax.struct.PyTreeNode):
    """floq agent state: PRNG key, parameters of all networks (incl. the target field), Adam state, step count."""

    TRAINABLE = TRAINABLE
    TARGET = ("vf", "target_vf")

    rng: Array
    params: dict[str, Any]
    opt_state: Any
    step: Array
    config: FloqConfig = flax.struct.field(pytree_node=False)
    obs_dim: int = flax.struct.field(pytree_node=False)
    action_dim: int = flax.struct.field(pytree_node=False)

    # --- networks -------------------------------------------------------------------------------------------------
    def networks(self) -> dict[str, Any]:
        """The flax modules (stateless descriptions; parameters live in ``self.params``)."""
        return _networks(self.config, self.action_dim)

    def compile_options(self) -> dict[str, Any]:
        """No library fusions from a field :data:`NO_LIBRARY_FUSIONS_FROM_WIDTH` wide (see floq_lite/jitting.py)."""
        return dict(NO_LIBRARY_FUSIONS) if self.config.block_width >= NO_LIBRARY_FUSIONS_FROM_WIDTH else {}

    # --- losses and update ----------------------------------------------------------------------------------------
    def total_loss(self, trainable: dict[str, Any], batch: dict[str, Array], rng: Array) -> tuple[Array, dict]:
        """Critic loss + actor loss with gradients into ``trainable``; the target field is read from ``self``."""
        cfg, nets = self.config, self.networks()
        critic_apply = apply_fn(nets["critic"])
        onestep_apply = apply_fn(nets["actor_onestep_flow"])
        actor_key, critic_key = jax.random.split(rng)
        sample_key, loss_key = jax.random.split(critic_key)

        # R independent next actions per transition from the current one-step policy (no target actor).
        next_obs_r = critic_lib.repeat_rows(batch["next_observations"], cfg.noise_samples)  # (B*R, d_s)
        onestep_sg = jax.lax.stop_gradient(trainable["actor_onestep_flow"])
        next_actions = actor_lib.sample_actions(onestep_apply, onestep_sg, next_obs_r, sample_key)  # (B*R, d_a)

        critic_loss, critic_info = critic_lib.critic_loss(
            nets["vf"], trainable["vf"], self.params["target_vf"], critic_apply, trainable["critic"], batch,
            next_actions, loss_key, discount=cfg.discount, noise_min=cfg.noise_min, noise_max=cfg.noise_max,
            num_repeats=cfg.noise_samples, num_steps=cfg.critic_flow_steps, q_agg=cfg.q_agg,
            train_at_zero_only=cfg.train_at_zero_only, fused=cfg.fused_integration,
            member_matmul=cfg.member_matmul,
        )
        actor_loss, actor_info = actor_lib.actor_loss(
            apply_fn(nets["actor_bc_flow"]), onestep_apply, critic_apply, trainable["actor_bc_flow"],
            trainable["actor_onestep_flow"], trainable["critic"], batch, actor_key, alpha=cfg.alpha,
            flow_steps=cfg.actor_flow_steps, normalize_q_loss=cfg.normalize_q_loss,
        )
        info = {f"critic/{k}": v for k, v in critic_info.items()} | {f"actor/{k}": v for k, v in actor_info.items()}
        return critic_loss + actor_loss, info


    # --- acting and querying --------------------------------------------------------------------------------------

    @partial(jax.jit, static_argnames=("num_steps", "target"))
    def flow_q(self, observations: Array, actions: Array, rng: Array, num_steps: int | None = None,
               target: bool = False) -> Array:
        """Integrated Q of every member from one ``z0 ~ U[l, u]`` per row, with ``num_steps`` Euler steps
        (default: ``critic_flow_steps``; vary it for test-time-compute experiments): ``(E, N)``."""
        cfg = self.config
        K = cfg.critic_flow_steps if num_steps is None else num_steps
        z0 = sample_uniform_noise(rng, (observations.shape[0], 1), cfg.noise_min, cfg.noise_max)  # (N, 1)
        params = self.params["target_vf" if target else "vf"]
        field = split_field(self.networks()["vf"], cfg.member_matmul)
        returns = critic_lib.integrate_returns(field, params, observations, actions, z0, K, cfg.flow_num_ensembles)
        return returns[..., 0]  # (E, N)

    @jax.jit
    def distilled_q(self, observations: Array, actions: Array) -> Array:
        """The distilled critic the actor uses: ``(E, N)``."""
        return apply_fn(self.networks()["critic"])(self.params["critic"], observations, actions)

    # --- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, seed: int | Array, ex_observations: Array, ex_actions: Array, config: FloqConfig) -> "FloqAgent":
        """Initialise all networks from ``seed``.

        Args:
          seed: integer seed (may be traced, so ``create`` can be vmapped over seeds).
          ex_observations: example observations ``(N, d_s)``.  ex_actions: example actions ``(N, d_a)``.
          config: a :class:`FloqConfig` with ``r_min``/``r_max`` set (:func:`~floq_lite.config.with_reward_range`).
        """
        if not isinstance(config, FloqConfig):
            raise TypeError(f"FloqAgent.create needs a FloqConfig, got {type(config).__name__}; "
                            "use make_config('floq', ...).")
        validate_config(config)
        config.noise_min  # noqa: B018 - raises a clear error if the reward range is missing
        obs = jnp.asarray(ex_observations, jnp.float32)[:1]
        act = jnp.asarray(ex_actions, jnp.float32)[:1]
        rng, params, opt_state = _init(jnp.asarray(seed), obs, act, config)  # one compiled init, not op by op
        return cls(rng=rng, params=params, opt_state=opt_state, step=jnp.zeros((), jnp.int32), config=config,
                   obs_dim=int(obs.shape[-1]), action_dim=int(act.shape[-1]))




def _networks(config: FloqConfig, action_dim: int) -> dict[str, Any]:
    field = critic_lib.make_velocity_field(
        config.vf_hidden_dims, config.q_min, config.q_max, num_ensembles=config.flow_num_ensembles,
        layer_norm=config.layer_norm, z_embed=config.z_embed, num_bins=config.num_bins, sigma=config.sigma,
        time_embed=config.time_embed, time_embed_dim=config.time_embed_dim,
    )
    return {
        "vf": field,
        "critic": Value(config.value_hidden_dims, num_ensembles=config.distill_num_ensembles,
                        layer_norm=config.layer_norm),
        "actor_bc_flow": ActorVectorField(config.actor_hidden_dims, action_dim, layer_norm=config.actor_layer_norm),
        "actor_onestep_flow": OneStepPolicy(config.actor_hidden_dims, action_dim, layer_norm=config.actor_layer_norm),
    }


@partial(jax.jit, static_argnames=("config",))
def _init(seed, obs, act, config):
    """All parameters, the Adam state and the agent key for ``seed``."""
    nets = _networks(config, act.shape[-1])
    rng, init_rng = jax.random.split(jax.random.PRNGKey(seed))
    k_vf, k_critic, k_bc, k_one = jax.random.split(init_rng, 4)
    E = config.flow_num_ensembles
    vf = nets["vf"].init(k_vf, obs, act, jnp.zeros((E, 1, 1)), jnp.zeros((1, 1)))["params"]
    params = {
        "vf": vf,
        "target_vf": jax.tree.map(jnp.array, vf),  # exact copy
        "critic": nets["critic"].init(k_critic, obs, act)["params"],
        "actor_bc_flow": nets["actor_bc_flow"].init(k_bc, obs, act, jnp.zeros((1, 1)))["params"],
        "actor_onestep_flow": nets["actor_onestep_flow"].init(k_one, obs, act)["params"],
    }
    opt_state = make_optimizer(config).init({k: params[k] for k in TRAINABLE})
    return rng, params, opt_state


__all__ = ["FloqAgent", "VelocityField"]
