"""Soft actor-critic (SAC), the algorithm OGBench used to train the low-level ant expert behind its antmaze datasets.

One file, one agent, in the style of the offline agents: a config with one comment per hyperparameter, the two
networks, pure loss functions and a single jitted update. Settings follow OGBench's expert training on
``online-ant-xy-v0`` (``../shared/reference/toolchain.md``): Adam 1e-4, batch 256, 2x256 GELU MLPs, gamma 0.99,
tau 0.005, a tanh-squashed Gaussian policy and an automatically tuned entropy temperature with target
``-0.5 * action_dim``.

Shapes: ``B`` batch, ``d_s`` observation size (ant without x-y, plus the commanded direction: 27 + 2 = 29),
``d_a`` action size (8 for the ant), ``E = 2`` critics.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from floq_lite.networks.mlp import MLP, default_init, ensemblize

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class SACConfig:
    """Hyperparameters of the ant expert's SAC (OGBench's values are the defaults)."""

    lr: float = 1e-4  # Adam learning rate for actor, critics and temperature.
    batch_size: int = 256  # Transitions per gradient step, drawn uniformly from the replay buffer.
    hidden_dims: tuple[int, ...] = (256, 256)  # Widths of the actor and critic MLPs (GELU).
    critic_layer_norm: bool = True  # LayerNorm in the critics; keeps Q stable early on, as OGBench's value nets.
    num_qs: int = 2  # Critic ensemble size; targets use the minimum (clipped double Q).
    discount: float = 0.99  # Discount factor gamma.
    tau: float = 0.005  # Polyak rate of the target critics.
    init_temperature: float = 1.0  # Initial entropy coefficient alpha.
    target_entropy_scale: float = 0.5  # Target entropy = -scale * action_dim (OGBench: -0.5 * |A|).
    backup_entropy: bool = True  # Subtract alpha * log pi(a'|s') in the TD target (soft Bellman backup).
    log_std_min: float = -5.0  # Clip of the policy's log standard deviation (below).
    log_std_max: float = 2.0  # Clip of the policy's log standard deviation (above).
    total_steps: int = 400_000  # Environment steps (one gradient step per environment step after warm-up).
    random_steps: int = 10_000  # Warm-up steps with uniformly random actions and no updates.
    eval_interval: int = 20_000  # Environment steps between evaluations of the deterministic policy.
    eval_episodes: int = 5  # Episodes (1000 steps each) per evaluation.
    checkpoint_interval: int = 50_000  # Environment steps between resumable checkpoints.

    def target_entropy(self, action_dim: int) -> float:
        return -self.target_entropy_scale * action_dim


class TanhGaussianActor(nn.Module):
    """``observations (B, d_s) -> (means (B, d_a), log_stds (B, d_a))`` of the Gaussian before the tanh squash."""

    hidden_dims: Sequence[int]
    action_dim: int
    log_std_min: float = -5.0
    log_std_max: float = 2.0

    @nn.compact
    def __call__(self, observations: Array) -> tuple[Array, Array]:
        h = MLP(self.hidden_dims, activate_final=True, name="trunk")(observations)  # (B, H)
        means = nn.Dense(self.action_dim, kernel_init=default_init, name="mean")(h)
        log_stds = nn.Dense(self.action_dim, kernel_init=default_init, name="log_std")(h)
        return means, jnp.clip(log_stds, self.log_std_min, self.log_std_max)


class QNetwork(nn.Module):
    """``(observations (B, d_s), actions (B, d_a)) -> Q (B,)``."""

    hidden_dims: Sequence[int]
    layer_norm: bool = True

    @nn.compact
    def __call__(self, observations: Array, actions: Array) -> Array:
        inputs = jnp.concatenate([observations, actions], axis=-1)
        return MLP((*self.hidden_dims, 1), layer_norm=self.layer_norm, name="mlp")(inputs)[..., 0]


def tanh_gaussian_sample(means: Array, log_stds: Array, key: Array) -> tuple[Array, Array]:
    """Reparameterised sample ``a = tanh(mean + std * eps)`` and its log-density, ``((B, d_a), (B,))``.

    The change of variables subtracts ``log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))``, the form that stays
    finite when ``|u|`` is large (``1 - a^2`` underflows to 0 in float32 near the action bounds).
    """
    stds = jnp.exp(log_stds)
    eps = jax.random.normal(key, means.shape, means.dtype)
    u = means + stds * eps
    gaussian_log_prob = -0.5 * (eps**2 + 2.0 * log_stds + jnp.log(2.0 * jnp.pi))  # (B, d_a)
    squash_correction = 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))  # (B, d_a)
    return jnp.tanh(u), jnp.sum(gaussian_log_prob - squash_correction, axis=-1)


@struct.dataclass
class SACState:
    """Everything an update reads and writes. ``params`` holds ``actor``, ``critic`` and ``log_alpha``."""

    params: dict[str, Any]
    target_critic: Any
    opt_state: Any
    step: Array  # () int32, gradient steps taken
    config: SACConfig = struct.field(pytree_node=False)
    action_dim: int = struct.field(pytree_node=False)

    @property
    def actor(self) -> TanhGaussianActor:
        return make_actor(self.config, self.action_dim)

    @property
    def critic(self) -> nn.Module:
        return make_critic(self.config)


def make_actor(config: SACConfig, action_dim: int) -> TanhGaussianActor:
    return TanhGaussianActor(config.hidden_dims, action_dim, config.log_std_min, config.log_std_max)


def make_critic(config: SACConfig) -> nn.Module:
    return ensemblize(QNetwork, config.num_qs)(config.hidden_dims, config.critic_layer_norm)


def make_optimizer(config: SACConfig) -> optax.GradientTransformation:
    # One Adam over all three parameter groups equals three separate Adams with the same rate: Adam is per-parameter
    # and each group only receives the gradient of its own loss (the others see it through stop_gradient).
    return optax.adam(config.lr)


@functools.partial(jax.jit, static_argnames=("obs_dim", "action_dim", "config"))
def create(key: Array, obs_dim: int, action_dim: int, config: SACConfig = SACConfig()) -> SACState:
    """Initialise networks, the target critics (a copy) and the optimiser (jitted: one compile instead of many
    eager ops, seconds faster on a small CPU)."""
    actor_key, critic_key = jax.random.split(key)
    obs = jnp.zeros((1, obs_dim))
    act = jnp.zeros((1, action_dim))
    params = {
        "actor": make_actor(config, action_dim).init(actor_key, obs)["params"],
        "critic": make_critic(config).init(critic_key, obs, act)["params"],
        "log_alpha": jnp.log(jnp.asarray(config.init_temperature, jnp.float32)),
    }
    return SACState(
        params=params,
        target_critic=params["critic"],
        opt_state=make_optimizer(config).init(params),
        step=jnp.zeros((), jnp.int32),
        config=config,
        action_dim=action_dim,
    )


def critic_loss(state: SACState, critic_params: Any, batch: dict[str, Array], key: Array) -> tuple[Array, dict]:
    """Soft TD error of both critics; the target uses the target critics' minimum at ``a' ~ pi(.|s')``."""
    config, params = state.config, state.params
    alpha = jnp.exp(params["log_alpha"])
    means, log_stds = state.actor.apply({"params": params["actor"]}, batch["next_observations"])
    next_actions, next_log_probs = tanh_gaussian_sample(means, log_stds, key)  # (B, d_a), (B,)
    next_q = state.critic.apply({"params": state.target_critic}, batch["next_observations"], next_actions).min(0)
    if config.backup_entropy:
        next_q = next_q - alpha * next_log_probs
    target = batch["rewards"] + config.discount * batch["masks"] * next_q  # (B,)
    qs = state.critic.apply({"params": critic_params}, batch["observations"], batch["actions"])  # (E, B)
    loss = jnp.mean((qs - jax.lax.stop_gradient(target)) ** 2)
    return loss, {"critic/loss": loss, "critic/q_mean": qs.mean(), "critic/target_mean": target.mean()}


def actor_loss(state: SACState, actor_params: Any, batch: dict[str, Array], key: Array) -> tuple[Array, dict]:
    """``E[alpha log pi(a|s) - Q(s, a)]`` with reparameterised ``a``; the critics are held fixed."""
    alpha = jnp.exp(state.params["log_alpha"])
    means, log_stds = state.actor.apply({"params": actor_params}, batch["observations"])
    actions, log_probs = tanh_gaussian_sample(means, log_stds, key)
    qs = state.critic.apply({"params": state.params["critic"]}, batch["observations"], actions)  # (E, B)
    loss = jnp.mean(alpha * log_probs - qs.mean(0))
    return loss, {"actor/loss": loss, "actor/entropy": -log_probs.mean(), "actor/std": jnp.exp(log_stds).mean()}


def temperature_loss(log_alpha: Array, entropy: Array, target_entropy: float) -> Array:
    """``alpha * (H - H_target)``: descending it raises alpha when the policy's entropy is below the target."""
    return jnp.exp(log_alpha) * jax.lax.stop_gradient(entropy - target_entropy)


@jax.jit
def update(state: SACState, batch: dict[str, Array], key: Array) -> tuple[SACState, dict[str, Array]]:
    """One gradient step on all three losses and the Polyak update of the target critics.

    ``batch``: ``observations`` (B, d_s), ``actions`` (B, d_a), ``rewards`` (B,), ``masks`` (B,) (0 where the
    episode terminated, not where it was truncated), ``next_observations`` (B, d_s).
    """
    config = state.config
    critic_key, actor_key = jax.random.split(key)

    def total_loss(params):
        # Each loss differentiates only its own group; the other groups are read through a frozen copy, so e.g. the
        # actor loss does not move the critics or alpha.
        frozen = state.replace(params=jax.lax.stop_gradient(params))
        c_loss, c_info = critic_loss(frozen, params["critic"], batch, critic_key)
        a_loss, a_info = actor_loss(frozen, params["actor"], batch, actor_key)
        t_loss = temperature_loss(params["log_alpha"], a_info["actor/entropy"],
                                  config.target_entropy(state.action_dim))
        info = {**c_info, **a_info, "temperature/alpha": jnp.exp(params["log_alpha"]), "temperature/loss": t_loss}
        return c_loss + a_loss + t_loss, info

    grads, info = jax.grad(total_loss, has_aux=True)(state.params)
    updates, opt_state = make_optimizer(config).update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    target = optax.incremental_update(params["critic"], state.target_critic, config.tau)
    return state.replace(params=params, target_critic=target, opt_state=opt_state, step=state.step + 1), info


def policy_actions(actor: TanhGaussianActor, actor_params: Any, observations: Array, key: Array | None) -> Array:
    """Actions ``(B, d_a)`` in [-1, 1]: a sample from the policy, or its mode ``tanh(mean)`` when ``key`` is None."""
    means, log_stds = actor.apply({"params": actor_params}, observations)
    if key is None:
        return jnp.tanh(means)
    return tanh_gaussian_sample(means, log_stds, key)[0]


@jax.jit
def sample_actions(state: SACState, observations: Array, key: Array) -> Array:
    """Exploration actions ``(B, d_a)`` sampled from the current policy."""
    return policy_actions(state.actor, state.params["actor"], observations, key)


@jax.jit
def greedy_actions(state: SACState, observations: Array) -> Array:
    """Deterministic actions ``tanh(mean)`` ``(B, d_a)``: what evaluation and the data generator use."""
    return policy_actions(state.actor, state.params["actor"], observations, None)
