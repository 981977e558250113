"""Closed-form velocity fields for 1D problems: the ground truth the learned fields are compared with.

For the straight path ``z_t = (1 - t) z0 + t x1`` with independent ``z0 ~ p0`` and ``x1 ~ p1``, the *marginal*
velocity is the average of the conditional velocities of all pairs that pass through ``z`` at time ``t``::

    v(t, z) = E[x1 - z0 | z_t = z]

Flow matching regresses onto the conditional velocity ``x1 - z0``; the minimiser of that regression is exactly this
marginal field, so it is what a perfectly trained network learns. Here it is in closed form for

* a Gaussian source ``N(m0, s0^2)`` and a Gaussian-mixture target (chapter 1), and
* a uniform source ``Unif[l, u]`` (floq's noise) and a Gaussian-mixture target (chapters 2 and 4),

plus the ideal field towards a single point ``y`` (the TD target of one transition), ``v = (y - z) / (1 - t)``.
All functions are jit-friendly and broadcast over ``z`` (any shape); ``t`` is a scalar or broadcasts with ``z``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr, logsumexp

from floq_lite.flow.paths import Array, VelocityField

_T_EPS = 1e-6  # keep t off the singular end-points of the closed forms


@dataclass(frozen=True)
class Gaussian:
    """Source ``N(mean, std^2)``."""

    mean: float = 0.0
    std: float = 1.0

    def sample(self, key: Array, shape: tuple[int, ...]) -> Array:
        return self.mean + self.std * jax.random.normal(key, shape)


@dataclass(frozen=True)
class Uniform:
    """Source ``Unif[low, high]`` (floq's noise interval ``[l, u]``)."""

    low: float = -1.0
    high: float = 1.0

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError(f"Uniform needs low < high, got [{self.low}, {self.high}].")

    @property
    def width(self) -> float:
        return self.high - self.low

    def sample(self, key: Array, shape: tuple[int, ...]) -> Array:
        ratio = jax.random.uniform(key, shape)
        return (1.0 - ratio) * self.low + ratio * self.high


@dataclass(frozen=True)
class GaussianMixture:
    """Target ``sum_k w_k N(means_k, stds_k^2)``; weights are normalised on construction."""

    means: tuple[float, ...] = (-2.0, 2.0)
    stds: tuple[float, ...] = (0.5, 0.5)
    weights: tuple[float, ...] = (0.5, 0.5)

    def __post_init__(self) -> None:
        if not (len(self.means) == len(self.stds) == len(self.weights)) or not self.means:
            raise ValueError("GaussianMixture needs means, stds and weights of the same, non-zero length.")
        if min(self.stds) <= 0:
            raise ValueError("GaussianMixture stds must be > 0 (use a small std such as 1e-3 for a near point mass).")
        total = float(sum(self.weights))
        if total <= 0 or min(self.weights) < 0:
            raise ValueError("GaussianMixture weights must be non-negative with a positive sum.")
        object.__setattr__(self, "weights", tuple(float(w) / total for w in self.weights))

    @property
    def mean(self) -> float:
        return float(sum(w * m for w, m in zip(self.weights, self.means)))

    def sample(self, key: Array, shape: tuple[int, ...]) -> Array:
        k_comp, k_noise = jax.random.split(key)
        comp = jax.random.choice(k_comp, len(self.means), shape, p=jnp.asarray(self.weights))
        means, stds = jnp.asarray(self.means)[comp], jnp.asarray(self.stds)[comp]
        return means + stds * jax.random.normal(k_noise, shape)

    def log_density(self, x: Array) -> Array:
        return _mixture_logpdf(x, self)


def _normal_logpdf(x: Array, mean: Array, std: Array) -> Array:
    return -0.5 * ((x - mean) / std) ** 2 - jnp.log(std) - 0.5 * jnp.log(2 * jnp.pi)


def _mixture_logpdf(x: Array, mix: GaussianMixture) -> Array:
    x = jnp.asarray(x)[..., None]  # (..., 1) against (K,)
    logs = _normal_logpdf(x, jnp.asarray(mix.means), jnp.asarray(mix.stds)) + jnp.log(jnp.asarray(mix.weights))
    return logsumexp(logs, axis=-1)


def _log_diff_ndtr(a: Array, b: Array) -> Array:
    """``log(Phi(b) - Phi(a))`` for ``a <= b``, computed in whichever tail is accurate."""
    flip = a > 0  # Phi(b) - Phi(a) == Phi(-a) - Phi(-b); keep the arguments on the lower tail
    lo, hi = jnp.where(flip, -b, a), jnp.where(flip, -a, b)
    log_hi, log_lo = log_ndtr(hi), log_ndtr(lo)
    return log_hi + jnp.log1p(-jnp.exp(jnp.minimum(log_lo - log_hi, -1e-12)))


def _truncnorm_mean(mu: Array, sigma: Array, lo: Array, hi: Array) -> Array:
    """Mean of ``N(mu, sigma^2)`` truncated to ``[lo, hi]``, stable in the tails and clipped into the interval."""
    alpha, beta = (lo - mu) / sigma, (hi - mu) / sigma
    log_z = _log_diff_ndtr(alpha, beta)
    log_phi = lambda x: -0.5 * x**2 - 0.5 * jnp.log(2 * jnp.pi)  # noqa: E731
    mean = mu + sigma * (jnp.exp(log_phi(alpha) - log_z) - jnp.exp(log_phi(beta) - log_z))
    mean = jnp.where(jnp.isfinite(mean), mean, jnp.clip(mu, lo, hi))
    # When the Gaussian is much wider than the interval, Phi(beta) - Phi(alpha) cancels catastrophically in float32.
    # There the density on [lo, hi] is an exponential tilt exp(lam * (x - mid)) (the quadratic term is below
    # (w / sigma)^2 / 8), whose mean is mid + w/2 * L(lam * w / 2) with the Langevin function L(x) = coth x - 1/x.
    width, mid = hi - lo, 0.5 * (hi + lo)
    x = (mu - mid) / sigma**2 * (0.5 * width)
    small = jnp.abs(x) < 1e-3
    x_safe = jnp.where(small, 1.0, x)
    langevin = jnp.where(small, x / 3.0, 1.0 / jnp.tanh(x_safe) - 1.0 / x_safe)
    mean = jnp.where(width < 0.05 * sigma, mid + 0.5 * width * langevin, mean)
    return jnp.clip(mean, lo, hi)


def _component_terms(source: Gaussian | Uniform, target: GaussianMixture, t: Array, z: Array):
    """Per-component ``(log p_k(t, z) + log w_k, E[x1 - z0 | z_t = z, k])``, each of shape ``(*z.shape, K)``."""
    t = jnp.clip(jnp.asarray(t, dtype=jnp.result_type(z, jnp.float32)), _T_EPS, 1.0 - _T_EPS)
    z = jnp.asarray(z)[..., None]
    t = jnp.asarray(t)[..., None] if jnp.ndim(t) else t
    m_k, s_k, w_k = (jnp.asarray(v) for v in (target.means, target.stds, target.weights))
    a = 1.0 - t
    if isinstance(source, Gaussian):
        m0, s0 = source.mean, source.std
        mean_t = a * m0 + t * m_k
        var_t = a**2 * s0**2 + t**2 * s_k**2
        cov = t * s_k**2 - a * s0**2  # Cov(x1 - z0, z_t) within component k
        log_p = _normal_logpdf(z, mean_t, jnp.sqrt(var_t))
        vel = (m_k - m0) + cov / var_t * (z - mean_t)
    elif isinstance(source, Uniform):
        l, u = source.low, source.high
        b = t * s_k  # std of t * x1
        # z = a * z0 + t * x1  =>  density is a uniform of width a(u - l) convolved with N(t m_k, b^2).
        log_p = _log_diff_ndtr((z - t * m_k - a * u) / b, (z - t * m_k - a * l) / b) - jnp.log(a * (u - l))
        # Posterior mean of z0 (accurate for large t) or of x1 (accurate for small t); v = E[x1|z] - E[z0|z].
        e_z0 = _truncnorm_mean((z - t * m_k) / a, b / a, l, u)
        v_late = (z - e_z0) / t
        e_x1 = _truncnorm_mean(m_k, s_k, (z - a * u) / t, (z - a * l) / t)
        v_early = e_x1 - (z - t * e_x1) / a
        vel = jnp.where(t < 0.5, v_early, v_late)
    else:
        raise TypeError(f"source must be Gaussian or Uniform, got {type(source).__name__}.")
    return log_p + jnp.log(w_k), vel


def marginal_velocity(source: Gaussian | Uniform, target: GaussianMixture, t: Array, z: Array) -> Array:
    """Exact marginal velocity ``E[x1 - z0 | z_t = z]`` for the straight path; shape of ``z``."""
    log_joint, vel = _component_terms(source, target, t, z)
    post = jax.nn.softmax(log_joint, axis=-1)  # p(k | z_t = z)
    return jnp.sum(post * vel, axis=-1)


def marginal_log_density(source: Gaussian | Uniform, target: GaussianMixture, t: Array, z: Array) -> Array:
    """``log p_t(z)`` of the interpolant ``z_t``; shape of ``z``."""
    log_joint, _ = _component_terms(source, target, t, z)
    return logsumexp(log_joint, axis=-1)


def marginal_field(source: Gaussian | Uniform, target: GaussianMixture) -> VelocityField:
    """The exact marginal velocity as a ``v(t, z)`` callable for :mod:`floq_lite.flow.solvers`."""
    return lambda t, z: marginal_velocity(source, target, t, z)


def point_target_field(y: Array | float) -> VelocityField:
    """Ideal field towards a single point ``y``: ``v(t, z) = (y - z) / (1 - t)``.

    Every straight path from any ``z0`` to ``y`` follows it, so left-end-point Euler (which never evaluates
    ``t = 1``) lands exactly on ``y`` for every number of steps. Undefined at ``t = 1``.
    """
    return lambda t, z: (y - z) / (1.0 - t)
