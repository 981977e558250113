"""Learning a 1D velocity field ``v(t, z)`` by conditional flow matching (chapter 1).

The recipe, with noise at ``t = 0`` and target at ``t = 1``:

1. draw a batch of pairs ``z0 ~ source``, ``x1 ~ target`` (independently) and times ``t ~ U[0, 1)``;
2. place each pair on its straight line, ``z_t = (1 - t) z0 + t x1``;
3. regress the network's ``v(t, z_t)`` onto the pair's velocity ``x1 - z0`` (:func:`floq_lite.flow.cfm_loss`).

The minimiser of that regression is the marginal field ``E[x1 - z0 | z_t = z]``, which for a Gaussian source and a
Gaussian-mixture target is known in closed form (:mod:`floq_lite.flow.exact`); :func:`field_rmse` measures how far
a trained network is from it. Everything here is pure JAX: the whole update is one jitted function and
:func:`fit` runs it in ``lax.scan`` chunks, so a few thousand steps take seconds on a CPU.
"""

from __future__ import annotations

import dataclasses
import functools
from functools import partial
from typing import Any, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from tqdm.auto import tqdm

from floq_lite.flow import exact
from floq_lite.flow.paths import Array, VelocityField, cfm_loss, interpolant, sample_time
from floq_lite.flow.solvers import Method, integrate
from floq_lite.networks.mlp import MLP
from floq_lite.tiers import pick, show_progress

Source = exact.Gaussian | exact.Uniform
Target = exact.GaussianMixture


# --------------------------------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------------------------------


def time_features(t: Array, num_frequencies: int) -> Array:
    """Fourier features of time: ``[t, cos(pi t), cos(2 pi t), ..., cos(F pi t)]``.

    A plain MLP fed the scalar ``t`` finds it hard to make the field change quickly in time; the cosines give it
    ready-made functions of ``t`` at several frequencies (the paper's critic uses the same ``cos(k pi t)`` family,
    with 64 of them). ``num_frequencies=0`` leaves only the raw ``t``.

    Args:
      t: times in [0, 1], shape ``(..., 1)``.
      num_frequencies: F, the number of cosines.
    Returns:
      shape ``(..., 1 + F)``.
    """
    k = jnp.arange(1, num_frequencies + 1, dtype=t.dtype)  # (F,)
    return jnp.concatenate([t, jnp.cos(jnp.pi * k * t)], axis=-1)


class VelocityMLP(nn.Module):
    """A velocity field ``v(t, z)`` for one-dimensional ``z``: ``MLP(concat(z, time_features(t))) -> (..., 1)``.

    Attributes:
      hidden_dims: widths of the hidden layers (the output layer of width 1 is added).
      num_frequencies: number of ``cos(k pi t)`` time features (see :func:`time_features`).
      layer_norm: LayerNorm after each hidden activation, as in floq's critic.
    """

    hidden_dims: Sequence[int] = (64, 64)
    num_frequencies: int = 8
    layer_norm: bool = True

    @nn.compact
    def __call__(self, t: Array, z: Array) -> Array:
        """``t``: a scalar or ``(..., 1)``; ``z``: ``(..., 1)``. Returns ``(..., 1)``."""
        if z.ndim == 0 or z.shape[-1] != 1:
            raise ValueError(
                f"VelocityMLP expects z with a trailing axis of size 1, got shape {z.shape}; pass z[..., None]."
            )
        t = jnp.broadcast_to(jnp.asarray(t, dtype=z.dtype), z.shape)  # (..., 1)
        x = jnp.concatenate([z, time_features(t, self.num_frequencies)], axis=-1)  # (..., 2 + F)
        return MLP((*self.hidden_dims, 1), layer_norm=self.layer_norm)(x)


def as_field(model: VelocityMLP, params: Any) -> VelocityField:
    """Turn trained parameters into a ``v(t, z)`` callable for :func:`floq_lite.flow.integrate`.

    The callable accepts ``z`` of any shape (like the closed-form fields in :mod:`floq_lite.flow.exact`) and a ``t``
    that is a scalar or has the shape of ``z``. It is jitted, so evaluating it on a plotting grid is one compiled call;
    inside a solver's loop it is simply inlined.
    """

    @jax.jit
    def field(t: Array, z: Array) -> Array:
        t = jnp.broadcast_to(jnp.asarray(t, dtype=z.dtype), z.shape)
        return model.apply(params, t[..., None], z[..., None])[..., 0]

    return lambda t, z: field(t, jnp.asarray(z))


# --------------------------------------------------------------------------------------------------------------------
# Configuration and training state
# --------------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FM1DConfig:
    """Sizes and optimiser settings for :func:`fit`.

    Attributes:
      num_steps: gradient steps.
      batch_size: (z0, x1, t) triples per step.
      hidden_dims: hidden widths of the :class:`VelocityMLP`.
      learning_rate: peak Adam step size; it decays along a cosine to ``final_lr_fraction`` of itself, because the
        regression targets ``x1 - z0`` are noisy and a small final step size averages that noise away.
      final_lr_fraction: learning rate at the end, as a fraction of the peak.
      num_frequencies: time features, see :func:`time_features`.
      chunk_size: steps per ``lax.scan`` chunk (one progress-bar tick and one loss read-back per chunk).
    """

    num_steps: int = 4_000
    batch_size: int = 256
    hidden_dims: tuple[int, ...] = (64, 64)
    learning_rate: float = 3e-3
    final_lr_fraction: float = 0.02
    num_frequencies: int = 8
    chunk_size: int = 500

    def __post_init__(self) -> None:
        for name in ("num_steps", "batch_size", "chunk_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"FM1DConfig.{name} must be a positive int, got {value!r}.")
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            raise ValueError(f"FM1DConfig.hidden_dims needs at least one positive width, got {self.hidden_dims!r}.")
        if not self.learning_rate > 0 or not 0 < self.final_lr_fraction <= 1:
            raise ValueError("FM1DConfig needs learning_rate > 0 and 0 < final_lr_fraction <= 1.")

    def model(self) -> VelocityMLP:
        return VelocityMLP(hidden_dims=self.hidden_dims, num_frequencies=self.num_frequencies)

    def optimizer(self) -> optax.GradientTransformation:
        return _adam_with_cosine_decay(self.learning_rate, self.num_steps, self.final_lr_fraction)


@functools.lru_cache(maxsize=None)
def _adam_with_cosine_decay(
    learning_rate: float, num_steps: int, final_fraction: float
) -> optax.GradientTransformation:
    # Cached: the optimiser is a static part of the jitted state, and a fresh (unequal) one would force a recompile.
    schedule = optax.cosine_decay_schedule(learning_rate, num_steps, alpha=final_fraction)
    return optax.adam(schedule)


def default_config(tier: str | None = None) -> FM1DConfig:
    """The chapter's sizes for the current compute tier (``smoke`` for CI, ``teach`` for readers)."""
    return pick(
        smoke=FM1DConfig(num_steps=2_000, batch_size=256, hidden_dims=(64, 64), chunk_size=500),
        teach=FM1DConfig(num_steps=12_000, batch_size=512, hidden_dims=(128, 128, 128), chunk_size=1_000),
        tier=tier,
    )


class FMState(struct.PyTreeNode):
    """Everything one update reads and writes. ``model`` and ``tx`` are static (they are code, not arrays)."""

    params: Any
    opt_state: Any
    key: Array
    step: Array
    model: VelocityMLP = struct.field(pytree_node=False)
    tx: optax.GradientTransformation = struct.field(pytree_node=False)


def init_state(config: FM1DConfig, key: Array) -> FMState:
    """Fresh parameters and optimiser state; ``key`` seeds both the initialisation and all later batches."""
    init_key, train_key = jax.random.split(key)
    model, tx = config.model(), config.optimizer()
    params = model.init(init_key, jnp.zeros((1, 1)), jnp.zeros((1, 1)))
    step = jnp.zeros((), jnp.int32)
    return FMState(params=params, opt_state=tx.init(params), key=train_key, step=step, model=model, tx=tx)


def batch_loss(params: Any, model: VelocityMLP, z0: Array, x1: Array, t: Array) -> Array:
    """The conditional flow-matching loss of one batch; ``z0, x1, t`` of shape ``(B, 1)``."""
    z_t = interpolant(z0, x1, t)  # (B, 1)
    return cfm_loss(model.apply(params, t, z_t), z0, x1)


def _update(state: FMState, source: Source, target: Target, batch_size: int) -> tuple[FMState, Array]:
    key, k_noise, k_target, k_time = jax.random.split(state.key, 4)
    z0 = source.sample(k_noise, (batch_size, 1))  # (B, 1)
    x1 = target.sample(k_target, (batch_size, 1))  # (B, 1); independent of z0: random pairing
    t = sample_time(k_time, (batch_size, 1))  # (B, 1)
    loss, grads = jax.value_and_grad(batch_loss)(state.params, state.model, z0, x1, t)
    updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return state.replace(params=params, opt_state=opt_state, key=key, step=state.step + 1), loss


@partial(jax.jit, static_argnames=("source", "target", "batch_size"))
def train_step(state: FMState, source: Source, target: Target, batch_size: int) -> tuple[FMState, Array]:
    """One jitted update: sample a batch of (noise, target, time), take one Adam step on the CFM loss.

    Returns:
      ``(new_state, loss)`` with ``loss`` the scalar batch loss before the step.
    """
    return _update(state, source, target, batch_size)


@partial(jax.jit, static_argnames=("source", "target", "batch_size", "length"))
def _train_chunk(state: FMState, source: Source, target: Target, batch_size: int, length: int):
    def body(s, _):
        return _update(s, source, target, batch_size)

    return jax.lax.scan(body, state, None, length=length)  # losses: (length,)


class FitResult(NamedTuple):
    """What :func:`fit` returns."""

    state: FMState
    losses: np.ndarray  # (num_steps,) batch loss at every step
    config: FM1DConfig

    @property
    def params(self) -> Any:
        return self.state.params

    @property
    def field(self) -> VelocityField:
        """The trained ``v(t, z)``, ready for :func:`floq_lite.flow.integrate`."""
        return as_field(self.state.model, self.state.params)


def fit(
    source: Source,
    target: Target,
    config: FM1DConfig | None = None,
    *,
    seed: int = 0,
    progress: bool | None = None,
) -> FitResult:
    """Train a :class:`VelocityMLP` to carry ``source`` to ``target`` by conditional flow matching.

    Args:
      source: the noise distribution at ``t = 0`` (:class:`~floq_lite.flow.exact.Gaussian` in chapter 1).
      target: the distribution at ``t = 1``.
      config: sizes; defaults to :func:`default_config` for the current tier.
      seed: the only source of randomness; the same seed gives bit-identical parameters.
      progress: show a progress bar over chunks; by default :func:`floq_lite.show_progress` (a person at a
        notebook, not CI or a book build).
    Returns:
      :class:`FitResult` with the final state, the per-step losses and the config.
    """
    if not hasattr(source, "sample") or not isinstance(target, exact.GaussianMixture):
        raise TypeError(
            "fit(source, target) needs a source distribution with .sample (e.g. flow.Gaussian()) and a "
            f"flow.GaussianMixture target; got {type(source).__name__} and {type(target).__name__}."
        )
    config = default_config() if config is None else config
    if progress is None:
        progress = show_progress()
    state = init_state(config, jax.random.PRNGKey(seed))
    chunk = min(config.chunk_size, config.num_steps)
    lengths = [chunk] * (config.num_steps // chunk) + ([config.num_steps % chunk] if config.num_steps % chunk else [])
    losses = []
    with tqdm(total=config.num_steps, desc="flow matching", unit="step", disable=not progress) as bar:
        for length in lengths:
            state, chunk_losses = _train_chunk(state, source, target, config.batch_size, length)
            losses.append(np.asarray(chunk_losses))
            bar.update(length)
            bar.set_postfix(loss=f"{float(losses[-1].mean()):.3f}")
    return FitResult(state=state, losses=np.concatenate(losses), config=config)


# --------------------------------------------------------------------------------------------------------------------
# Evaluation against the closed form
# --------------------------------------------------------------------------------------------------------------------


# One compiled call per (source, target, shape) instead of one per primitive: evaluating the closed form on 10^5
# points eagerly costs seconds of op-by-op compilation.
_exact_velocity = jax.jit(exact.marginal_velocity, static_argnums=(0, 1))


def path_samples(source: Source, target: Target, key: Array, num_samples: int) -> tuple[Array, Array, Array, Array]:
    """``(t, z_t, z0, x1)``, each ``(N,)``: points drawn from the probability path itself (uniform ``t``)."""
    k_noise, k_target, k_time = jax.random.split(key, 3)
    z0 = source.sample(k_noise, (num_samples,))
    x1 = target.sample(k_target, (num_samples,))
    t = sample_time(k_time, (num_samples,))
    return t, interpolant(z0, x1, t), z0, x1


def field_rmse(
    field: VelocityField, source: Source, target: Target, key: Array, num_samples: int = 20_000
) -> float:
    """Root-mean-square gap between ``field`` and the exact marginal velocity, weighted by the path density.

    The ``(t, z)`` points are drawn from the path (``t ~ U[0, 1)``, ``z ~ p_t``), so regions the flow actually
    visits count and empty regions, where no training signal exists, do not:
    ``sqrt(E_{t, z ~ p_t} (v(t, z) - v*(t, z))^2)``.
    """
    t, z, _, _ = path_samples(source, target, key, num_samples)
    gap = field(t, z) - _exact_velocity(source, target, t, z)  # (N,)
    return float(jnp.sqrt(jnp.mean(gap**2)))


def cfm_loss_floor(source: Source, target: Target, key: Array, num_samples: int = 200_000) -> float:
    """The smallest possible conditional flow-matching loss, ``E (x1 - z0 - v*(t, z_t))^2``, by Monte Carlo.

    It is not zero: many pairs pass through the same ``(t, z)`` with different velocities, and one field can only
    match their average. A trained network's loss should settle just above this floor.
    """
    return cfm_loss_floor_estimate(source, target, key, num_samples)[0]


def cfm_loss_floor_estimate(
    source: Source, target: Target, key: Array, num_samples: int = 200_000
) -> tuple[float, float]:
    """:func:`cfm_loss_floor` and its Monte Carlo standard error: a training loss averaged over finitely many
    batches can come out a little *below* the estimated floor, and the error says by how much that is noise."""
    t, z, z0, x1 = path_samples(source, target, key, num_samples)
    squared = ((x1 - z0) - _exact_velocity(source, target, t, z)) ** 2  # (N,)
    return float(jnp.mean(squared)), float(jnp.std(squared) / np.sqrt(num_samples))


def sample(
    field: VelocityField, source: Source, key: Array, num_samples: int, num_steps: int, method: Method = "euler"
) -> Array:
    """Draw ``num_samples`` noise points and push them through ``field`` with ``num_steps`` solver steps; ``(N,)``."""
    return integrate(field, source.sample(key, (num_samples,)), num_steps, method)


def mixture_cdf(target: Target, x: Array) -> Array:
    """Cumulative distribution function of the Gaussian-mixture target, shape of ``x``."""
    x = jnp.asarray(x)[..., None]  # (..., 1) against the K components
    means, stds, weights = (jnp.asarray(v) for v in (target.means, target.stds, target.weights))
    return jnp.sum(weights * jax.scipy.stats.norm.cdf((x - means) / stds), axis=-1)


def ks_distance(samples: Array, target: Target) -> float:
    """Kolmogorov-Smirnov distance ``max_x |F_samples(x) - F_target(x)|`` between samples and the target.

    A shape check that, unlike a gap between quantiles, stays well behaved for a mixture with an empty region
    between its modes (where quantiles jump).
    """
    xs = np.sort(np.asarray(samples).ravel())
    n = xs.size
    cdf = np.asarray(mixture_cdf(target, xs), dtype=np.float64)
    above = np.arange(1, n + 1) / n - cdf  # empirical CDF just after each sample
    below = cdf - np.arange(0, n) / n  # and just before it
    return float(max(above.max(), below.max()))


__all__ = [
    "FM1DConfig",
    "FMState",
    "FitResult",
    "VelocityMLP",
    "as_field",
    "batch_loss",
    "cfm_loss_floor",
    "cfm_loss_floor_estimate",
    "default_config",
    "field_rmse",
    "fit",
    "init_state",
    "mixture_cdf",
    "path_samples",
    "ks_distance",
    "sample",
    "time_features",
    "train_step",
]
