"""Agent configurations: one frozen dataclass per agent, named presets per compute tier, per-environment overrides.

``make_config("floq", tier="paper", env_name="antmaze-giant-navigate-singletask-task1-v0")`` gives the official
defaults with that environment's README flags (``variant="best"`` adds the "floq-best" flags). The reward range is
read from the data with :func:`with_reward_range`, as the official ``main.py`` does.

Overrides that change the *algorithm* (discount, q_agg, alpha, K, kappa) apply at every tier; overrides that change
the *size* (batch_size, block_depth) apply only at the ``paper`` tier, where sizes are the paper's.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from floq_lite.tiers import current_tier

AgentName = Literal["floq", "fql"]
AGENTS: tuple[str, ...] = ("floq", "fql")
VARIANTS: tuple[str, ...] = ("default", "best")


@dataclass(frozen=True)
class FQLConfig:
    """FQL (Park et al., 2025). Field comments follow the official ``get_config``."""

    agent_name: str = "fql"  # Agent name.
    lr: float = 3e-4  # Adam learning rate (one optimizer for all networks; no weight decay, no clipping).
    batch_size: int = 256  # Transitions per gradient step.
    actor_hidden_dims: tuple[int, ...] = (512, 512, 512, 512)  # BC flow policy and one-step policy MLP widths.
    value_hidden_dims: tuple[int, ...] = (512, 512, 512, 512)  # Q-network MLP widths.
    layer_norm: bool = True  # LayerNorm after each hidden activation of the Q-networks.
    actor_layer_norm: bool = False  # LayerNorm in the actor networks (off in FQL and floq).
    value_num_ensembles: int = 2  # Number of Q-networks.
    discount: float = 0.99  # Discount factor gamma.
    tau: float = 0.005  # Polyak rate of the target Q-networks.
    q_agg: str = "mean"  # Aggregation of the target Q heads: 'mean' or 'min' (clipped double Q).
    alpha: float = 10.0  # Distillation (BC) coefficient of the one-step policy; tune per environment.
    actor_flow_steps: int = 10  # Euler steps of the BC flow policy.
    normalize_q_loss: bool = False  # Divide the actor's Q term by stop_grad(mean |Q|).
    freeze_features_at: int | None = None  # Step from which only the critic's head learns (follow-up; None: never).
    offline_steps: int = 1_000_000  # Gradient steps of offline training.
    eval_interval: int = 20_000  # Gradient steps between evaluations.
    eval_episodes: int = 50  # Episodes per evaluation.
    log_interval: int = 5_000  # Gradient steps between training-metric logs.


@dataclass(frozen=True)
class FloqConfig:
    """floq (Agrawalla et al., 2026). Field comments follow the official ``get_config``."""

    agent_name: str = "floq"  # Agent name.
    lr: float = 3e-4  # Adam learning rate (one optimizer for all networks; no weight decay, no clipping).
    batch_size: int = 256  # Transitions per gradient step.
    actor_hidden_dims: tuple[int, ...] = (512, 512, 512, 512)  # BC flow policy and one-step policy MLP widths.
    value_hidden_dims: tuple[int, ...] = (512, 512, 512, 512)  # Distilled critic MLP widths.
    layer_norm: bool = True  # LayerNorm in the velocity field and the distilled critic.
    actor_layer_norm: bool = False  # LayerNorm in the actor networks (off in FQL and floq).
    discount: float = 0.99  # Discount factor gamma.
    tau: float = 0.005  # Polyak rate of the target velocity field (the only target network).
    q_agg: str = "mean"  # Aggregation of the target field's members in the TD target: 'mean' or 'min'.
    alpha: float = 10.0  # Distillation (BC) coefficient of the one-step policy; tune per environment.
    actor_flow_steps: int = 10  # Euler steps of the BC flow policy.
    normalize_q_loss: bool = False  # Divide the actor's Q term by stop_grad(mean |Q|).
    flow_num_ensembles: int = 2  # Members of the velocity-field ensemble.
    distill_num_ensembles: int = 2  # Heads of the distilled critic (must equal flow_num_ensembles).
    noise_samples: int = 8  # R: noise draws (and next actions) per transition.
    noise_coverage: float = 0.1  # kappa: the source interval is kappa * [r_min, r_max] / (1 - gamma).
    critic_flow_steps: int = 8  # K: Euler steps of the critic flow (TD target and distillation target).
    train_at_zero_only: bool = False  # Supervise the velocity at t = 0 only (use with critic_flow_steps=1).
    time_embed: str = "cos"  # Time feature: 'cos' (released code, scalar cos t), 'fourier' (paper, 64-d), 'raw'.
    time_embed_dim: int = 64  # Width of the Fourier time features.
    z_embed: str = "hl_gauss"  # Interpolant encoding: 'hl_gauss' (50-d histogram) or 'minmax' (scalar).
    num_bins: int = 51  # HL-Gauss support points (num_bins - 1 bins).
    sigma: float = 16.0  # HL-Gauss standard deviation in bin widths.
    reward_offset: float = 0.01  # Widening of the HL-Gauss support beyond [r_min, r_max] / (1 - gamma).
    block_width: int = 512  # Width of the velocity-field MLP.
    block_depth: int = 4  # Hidden layers of the velocity-field MLP.
    r_min: float | None = None  # Smallest reward in the data (set by with_reward_range).
    r_max: float | None = None  # Largest reward in the data (set by with_reward_range).
    freeze_features_at: int | None = None  # Step from which only the velocity field's head learns (None: never).
    fused_integration: bool = True  # Implementation only: target and online integrations in one Euler loop.
    member_matmul: str = "auto"  # Implementation only: 'loop' (a 2-D GEMM per member), 'batched' dot, or 'auto'.
    offline_steps: int = 2_000_000  # Gradient steps of offline training (floq's main.py default).
    eval_interval: int = 20_000  # Gradient steps between evaluations.
    eval_episodes: int = 50  # Episodes per evaluation.
    log_interval: int = 5_000  # Gradient steps between training-metric logs.

    @property
    def vf_hidden_dims(self) -> tuple[int, ...]:
        """Hidden widths of the velocity field: ``block_depth * (block_width,)``."""
        return (self.block_width,) * self.block_depth

    def _require_rewards(self) -> tuple[float, float]:
        if self.r_min is None or self.r_max is None:
            raise ValueError("floq needs the reward range: config = with_reward_range(config, dataset['rewards']).")
        return self.r_min, self.r_max

    # One formula each, shared with the studies; imported here, not at the top, so that reading a config needs no jax.
    @property
    def noise_min(self) -> float:
        """``l = kappa * r_min / (1 - gamma)`` (:func:`floq_lite.critic.floq.noise_interval`)."""
        from floq_lite.critic.floq import noise_interval

        return noise_interval(*self._require_rewards(), self.discount, self.noise_coverage)[0]

    @property
    def noise_max(self) -> float:
        """``u = kappa * r_max / (1 - gamma)`` (0 on OGBench)."""
        from floq_lite.critic.floq import noise_interval

        return noise_interval(*self._require_rewards(), self.discount, self.noise_coverage)[1]

    @property
    def q_min(self) -> float:
        """Lower end of the HL-Gauss support, ``(r_min - offset) / (1 - gamma)``
        (:func:`floq_lite.networks.embeddings.q_range`)."""
        from floq_lite.networks.embeddings import q_range

        return q_range(*self._require_rewards(), self.discount, self.reward_offset)[0]

    @property
    def q_max(self) -> float:
        """Upper end of the HL-Gauss support, ``(r_max + offset) / (1 - gamma)``."""
        from floq_lite.networks.embeddings import q_range

        return q_range(*self._require_rewards(), self.discount, self.reward_offset)[1]


AgentConfig = FloqConfig | FQLConfig

# Sizes per tier (applied to both agents; floq-only keys are dropped for FQL).
_TIER_SIZES: dict[str, dict[str, Any]] = {
    "smoke": dict(
        actor_hidden_dims=(64, 64), value_hidden_dims=(64, 64), block_width=64, block_depth=2, batch_size=64,
        critic_flow_steps=4, noise_samples=4, offline_steps=1_000, eval_interval=500, eval_episodes=2, log_interval=100,
    ),
    "teach": dict(
        actor_hidden_dims=(256, 256), value_hidden_dims=(256, 256), block_width=256, block_depth=2, batch_size=256,
        critic_flow_steps=8, noise_samples=8, offline_steps=100_000, eval_interval=10_000, eval_episodes=10,
        log_interval=1_000,
    ),
    "paper": dict(),  # the dataclass defaults are the official ones
}
_PAPER_STEPS = {"floq": 2_000_000, "fql": 1_000_000}

# OGBench environments (dataset names without task / version suffixes).
ENVS: tuple[str, ...] = (
    "antmaze-large-navigate",
    "antmaze-giant-navigate",
    "humanoidmaze-medium-navigate",
    "humanoidmaze-large-navigate",
    "antsoccer-arena-navigate",
    "cube-single-play",
    "cube-double-play",
    "scene-play",
    "puzzle-3x3-play",
    "puzzle-4x4-play",
)
_SIZE_KEYS = ("batch_size", "block_depth")

# floq README flags (floq-default), offline RL.
_FLOQ_ENV: dict[str, dict[str, Any]] = {
    "antmaze-large-navigate": dict(alpha=10.0),
    "antmaze-giant-navigate": dict(discount=0.995, q_agg="min", batch_size=512, alpha=10.0),
    "humanoidmaze-medium-navigate": dict(discount=0.995, alpha=30.0),
    "humanoidmaze-large-navigate": dict(discount=0.995, batch_size=512, alpha=20.0),
    "antsoccer-arena-navigate": dict(discount=0.995, alpha=10.0),
    "cube-single-play": dict(alpha=300.0, block_depth=2),
    "cube-double-play": dict(alpha=300.0, block_depth=2),
    "scene-play": dict(alpha=300.0),
    "puzzle-3x3-play": dict(alpha=1000.0),
    "puzzle-4x4-play": dict(alpha=1000.0),
}
# Extra flags of "floq-best" where it differs from floq-default.
_FLOQ_BEST: dict[str, dict[str, Any]] = {
    "antmaze-giant-navigate": dict(critic_flow_steps=4),
    "puzzle-4x4-play": dict(noise_coverage=0.25),
}
# FQL paper, Tables 5/6.
_FQL_ENV: dict[str, dict[str, Any]] = {
    "antmaze-large-navigate": dict(discount=0.99, q_agg="min", alpha=10.0),
    "antmaze-giant-navigate": dict(discount=0.995, q_agg="min", alpha=10.0),
    "humanoidmaze-medium-navigate": dict(discount=0.995, alpha=30.0),
    "humanoidmaze-large-navigate": dict(discount=0.995, alpha=30.0),
    "antsoccer-arena-navigate": dict(discount=0.995, alpha=10.0),
    "cube-single-play": dict(alpha=300.0),
    "cube-double-play": dict(alpha=300.0),
    "scene-play": dict(alpha=300.0),
    "puzzle-3x3-play": dict(alpha=1000.0),
    "puzzle-4x4-play": dict(alpha=1000.0),
}


def env_base_name(env_name: str) -> str:
    """``'antmaze-giant-navigate-singletask-task1-v0'`` -> ``'antmaze-giant-navigate'``; errors list valid names."""
    base = re.sub(r"-v\d+$", "", env_name.strip())
    base = re.sub(r"-task\d+$", "", base)
    base = re.sub(r"-singletask$", "", base)
    if base in ENVS:
        return base
    for suffix in ("-navigate", "-play"):
        if base + suffix in ENVS:
            return base + suffix
    raise ValueError(f"Unknown OGBench environment {env_name!r}. Valid environments (any task suffix such as "
                     f"'-singletask-task1-v0' is accepted): {', '.join(ENVS)}.")


def make_config(
    agent: AgentName = "floq",
    tier: str | None = None,
    env_name: str | None = None,
    variant: str = "default",
    **overrides: Any,
) -> AgentConfig:
    """The configuration of ``agent`` at compute ``tier`` (default ``$FLOQ_TIER``), with environment flags.

    Args:
      agent: ``"floq"`` or ``"fql"``.
      tier: ``"smoke"``, ``"teach"`` or ``"paper"``.
      env_name: an OGBench name (task/version suffixes allowed) to apply the README / paper flags.
      variant: ``"default"`` (floq-default) or ``"best"`` (floq-best: K=4 on antmaze-giant, kappa=0.25 on
        puzzle-4x4). Ignored for FQL.
      **overrides: any field, applied last (like ``--agent.alpha=30``).
    """
    if agent not in AGENTS:
        raise ValueError(f"Unknown agent {agent!r}; choose one of {', '.join(AGENTS)}.")
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}.")
    tier = current_tier(tier)
    cls = FloqConfig if agent == "floq" else FQLConfig
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {k: v for k, v in _TIER_SIZES[tier].items() if k in names}
    if tier == "paper":
        values["offline_steps"] = _PAPER_STEPS[agent]
    if env_name is not None:
        base = env_base_name(env_name)
        env = dict(_FLOQ_ENV[base]) if agent == "floq" else dict(_FQL_ENV[base])
        if agent == "floq" and variant == "best":
            env.update(_FLOQ_BEST.get(base, {}))
        if tier != "paper":
            env = {k: v for k, v in env.items() if k not in _SIZE_KEYS}
        values.update(env)
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(f"Unknown {agent} config field(s) {sorted(unknown)}; "
                         f"valid fields: {', '.join(sorted(names))}.")
    values.update(overrides)
    config = cls(**values)
    validate_config(config)
    return config


def with_reward_range(config: AgentConfig, rewards: Any) -> AgentConfig:
    """Set ``r_min``/``r_max`` from dataset rewards (floq's ``main.py``); FQL configs are returned unchanged.

    The official ``main.py`` reads them from its replay buffer, which is zero-padded to 2M rows, so its range always
    contains 0: ``r_min <= 0 <= r_max``. floq_lite reads the unpadded dataset and clamps the same way; without the
    clamp, a dataset with no reward-0 row (a small generated one, say) would collapse the noise interval to a
    point (``l = u``) and shift the HL-Gauss support away from 0.
    """
    rewards = np.asarray(rewards)
    if rewards.size == 0 or not np.all(np.isfinite(rewards)):
        raise ValueError("with_reward_range needs a non-empty array of finite rewards.")
    if not isinstance(config, FloqConfig):
        return config
    return dataclasses.replace(config, r_min=min(float(rewards.min()), 0.0), r_max=max(float(rewards.max()), 0.0))


def validate_config(config: AgentConfig) -> None:
    """Raise a ``ValueError`` naming the field for inconsistent settings."""
    if config.q_agg not in ("mean", "min"):
        raise ValueError(f"q_agg must be 'mean' or 'min', got {config.q_agg!r}.")
    if not 0.0 <= config.discount < 1.0:
        raise ValueError(f"discount must be in [0, 1), got {config.discount}.")
    checks = [
        ("lr", config.lr > 0, "> 0"),
        ("tau", 0.0 < config.tau <= 1.0, "in (0, 1]"),
        ("alpha", config.alpha >= 0, ">= 0"),
        ("batch_size", config.batch_size >= 1, ">= 1"),
        ("actor_flow_steps", config.actor_flow_steps >= 1, ">= 1"),
        ("offline_steps", config.offline_steps >= 1, ">= 1"),
        ("eval_interval", config.eval_interval >= 1, ">= 1"),
        ("eval_episodes", config.eval_episodes >= 1, ">= 1"),
        ("log_interval", config.log_interval >= 1, ">= 1"),
        ("actor_hidden_dims", len(config.actor_hidden_dims) >= 1 and min(config.actor_hidden_dims) >= 1,
         "a non-empty tuple of positive widths"),
        ("value_hidden_dims", len(config.value_hidden_dims) >= 1 and min(config.value_hidden_dims) >= 1,
         "a non-empty tuple of positive widths"),
    ]
    if isinstance(config, FloqConfig):
        checks += [
            ("noise_coverage", config.noise_coverage > 0, "> 0 (it sets the width of the noise interval)"),
            ("block_width", config.block_width >= 1, ">= 1"),
            ("block_depth", config.block_depth >= 1, ">= 1"),
            ("num_bins", config.num_bins >= 2, ">= 2"),
            ("sigma", config.sigma > 0, "> 0"),
        ]
    if config.freeze_features_at is not None:
        checks.append(("freeze_features_at", isinstance(config.freeze_features_at, int)
                       and config.freeze_features_at >= 0, "None or a step >= 0"))
    for name, ok, want in checks:
        if not ok:
            raise ValueError(f"{name} must be {want}, got {getattr(config, name)!r} (set it with --set {name}=...).")
    if isinstance(config, FloqConfig):
        if config.flow_num_ensembles != config.distill_num_ensembles:
            raise ValueError("flow_num_ensembles and distill_num_ensembles must be equal (the losses are summed "
                             f"per head); got {config.flow_num_ensembles} and {config.distill_num_ensembles}.")
        if config.time_embed not in ("cos", "fourier", "raw"):
            raise ValueError(f"time_embed must be 'cos', 'fourier' or 'raw', got {config.time_embed!r}.")
        if config.z_embed not in ("hl_gauss", "minmax"):
            raise ValueError(f"z_embed must be 'hl_gauss' or 'minmax', got {config.z_embed!r}.")
        if config.member_matmul not in ("auto", "loop", "batched"):
            raise ValueError(f"member_matmul must be 'auto', 'loop' or 'batched', got {config.member_matmul!r}.")
        if config.noise_samples < 1 or config.critic_flow_steps < 1:
            raise ValueError("noise_samples and critic_flow_steps must be >= 1.")
        if config.r_min is not None and config.r_max is not None and config.r_max < config.r_min:
            raise ValueError(f"r_max ({config.r_max}) < r_min ({config.r_min}).")


__all__ = [
    "AGENTS",
    "ENVS",
    "FQLConfig",
    "FloqConfig",
    "env_base_name",
    "make_config",
    "validate_config",
    "with_reward_range",
]
