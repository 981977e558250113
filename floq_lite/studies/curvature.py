"""How curved are the marginal paths, and how many integration steps do they need?

Chapter 2 of the book in code. Two kinds of tools:

* Generic ones that work on any field ``v(t, z)`` and 1D states of any batch shape: :func:`straightness_from_path`
  (how far a sampled path is from a straight line), :func:`integrate_steps` (one solver, several step counts K in one
  compiled loop), :func:`estimate_order` (the order ``p`` in ``error ~ C K^-p``).
* A fast path for floq's setting, built by :func:`floq_problem`: noise ``Unif[l, u]`` with ``u = Q_max`` and width
  ``u - l = kappa (Q_max - Q_min)``, and a target that is a mixture of a few narrow Gaussians (TD targets).
  In 1D the exact flow never reorders samples, so the exact path from the noise sample at quantile ``q`` is the
  ``q``-quantile of ``p_t`` at every time ``t``; :func:`exact_paths` computes it from the closed-form CDF of ``p_t``
  (no ODE solver, no discretisation error). :func:`euler_paths` and :func:`study` integrate the closed-form field of
  :mod:`floq_lite.flow.exact` with the problem's numbers as *traced* arguments, so a sweep over many noise widths
  compiles once.

Straightness of a path sampled at ``t_i = i / N``: with segment velocities ``v_i = N (z_{i+1} - z_i)``,
``S = (1/N) sum_i (v_i - (z_N - z_0))^2``. A straight path moves at the constant velocity ``z_N - z_0`` of its chord,
so ``S = 0`` exactly for straight lines; as ``N`` grows ``v_i`` tends to ``v(t_i, z_i)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from floq_lite.flow import exact
from floq_lite.flow.paths import Array, VelocityField
from floq_lite.flow.solvers import METHODS, Method, step_function

# Defaults for a floq-like problem with Q in [-100, 0] (antmaze-large: r_min = -1, gamma = 0.99).
Q_RANGE: tuple[float, float] = (-100.0, 0.0)
TARGET_MEANS: tuple[float, ...] = (-60.0, -45.0, -30.0)
TARGET_STD = 3.0


# ---------------------------------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------------------------------


def noise_interval(
    *, width: float | None = None, kappa: float | None = None, q_range: tuple[float, float] = Q_RANGE
) -> exact.Uniform:
    """floq's noise ``Unif[l, u]``: ``u = Q_max``, ``l = u - width`` with ``width = kappa * (Q_max - Q_min)``.

    Give exactly one of ``width`` (in Q units) or ``kappa`` (floq's ``noise_coverage``, 0.1 by default).
    """
    if (width is None) == (kappa is None):
        raise ValueError("noise_interval needs exactly one of width= (in Q units) or kappa= (a fraction of the Q range).")
    q_min, q_max = q_range
    if not q_max > q_min:
        raise ValueError(f"q_range must be (Q_min, Q_max) with Q_min < Q_max, got {q_range}.")
    if width is None:
        width = float(kappa) * (q_max - q_min)  # type: ignore[arg-type]
    if not width > 0:
        raise ValueError(f"The noise interval needs a positive width; got width={width} (kappa={kappa}).")
    return exact.Uniform(low=q_max - float(width), high=q_max)


def floq_problem(
    *,
    width: float | None = None,
    kappa: float | None = None,
    q_range: tuple[float, float] = Q_RANGE,
    target_means: Sequence[float] = TARGET_MEANS,
    target_std: float = TARGET_STD,
    weights: Sequence[float] | None = None,
) -> tuple[exact.Uniform, exact.GaussianMixture]:
    """``(source, target)``: floq's uniform noise interval and a mixture of narrow Gaussian TD targets.

    The target stands for the TD targets ``y`` of several transitions that the critic cannot tell apart (or of
    several next actions): each component is one target, ``target_std`` its small spread.
    """
    means = tuple(float(m) for m in target_means)
    w = tuple(float(x) for x in weights) if weights is not None else (1.0,) * len(means)
    target = exact.GaussianMixture(means=means, stds=(float(target_std),) * len(means), weights=w)
    return noise_interval(width=width, kappa=kappa, q_range=q_range), target


def start_points(source: exact.Uniform, num: int, *, margin: float = 0.0) -> Array:
    """``num`` deterministic noise samples: the midpoints of ``num`` equal-probability cells of ``source``.

    ``margin`` in [0, 0.5) drops that fraction of the interval at each end. Returns shape ``(num,)``.
    """
    if num < 1:
        raise ValueError(f"start_points needs num >= 1, got {num}.")
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin is a fraction of the interval dropped at each end; it must be in [0, 0.5), got {margin}.")
    q = margin + (1.0 - 2.0 * margin) * (jnp.arange(num) + 0.5) / num
    return (1.0 - q) * source.low + q * source.high


def _params(source: exact.Uniform, target: exact.GaussianMixture) -> dict[str, Array]:
    """The problem's numbers as arrays, so jitted code takes them as arguments instead of baking them in."""
    if not isinstance(source, exact.Uniform) or not isinstance(target, exact.GaussianMixture):
        raise TypeError("The fast path needs source=exact.Uniform and target=exact.GaussianMixture (see floq_problem).")
    return {
        "low": jnp.asarray(source.low),
        "high": jnp.asarray(source.high),
        "means": jnp.asarray(target.means),
        "stds": jnp.asarray(target.stds),
        "weights": jnp.asarray(target.weights),
    }


def _unchecked(cls, **fields):
    # Rebuild a (validated) dataclass around traced arrays: its __post_init__ checks need concrete numbers and
    # already ran on the originals in _params' caller.
    obj = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj


def _field(p: dict[str, Array]) -> VelocityField:
    source = _unchecked(exact.Uniform, low=p["low"], high=p["high"])
    target = _unchecked(exact.GaussianMixture, means=p["means"], stds=p["stds"], weights=p["weights"])
    return exact.marginal_field(source, target)


# ---------------------------------------------------------------------------------------------------------------------
# Generic measures
# ---------------------------------------------------------------------------------------------------------------------


def straightness_from_path(zs: Array) -> Array:
    """Straightness ``S = mean_i (N (z_{i+1} - z_i) - (z_N - z_0))^2`` of paths sampled at ``t_i = i / N``.

    Args:
      zs: states along the paths, shape ``(N + 1, ...)``; ``zs[0]`` the noise, ``zs[-1]`` the end point.
    Returns:
      Shape ``zs.shape[1:]``; 0 for a straight path traversed at constant speed.
    """
    zs = jnp.asarray(zs)
    if zs.ndim < 1 or zs.shape[0] < 2:
        raise ValueError(f"straightness needs at least two states along the time axis (axis 0); got shape {zs.shape}.")
    n = zs.shape[0] - 1
    seg_velocity = n * jnp.diff(zs, axis=0)  # (N, ...): average velocity on each segment
    chord = zs[-1] - zs[0]  # velocity of the straight line between the end points
    return jnp.mean((seg_velocity - chord) ** 2, axis=0)


def _check_ks(ks: Sequence[int]) -> np.ndarray:
    ks_arr = np.asarray(ks)
    if ks_arr.ndim != 1 or ks_arr.size == 0 or not np.issubdtype(ks_arr.dtype, np.integer) or np.any(ks_arr < 1):
        raise ValueError(f"ks must be a non-empty list of positive integers (step counts K), got {ks!r}.")
    return ks_arr


def _masked_paths(field: VelocityField, z0: Array, ks: Array, k_max: int, method: Method) -> Array:
    """States after each of ``k_max`` steps for every K in ``ks`` (frozen after step K): ``(len(ks), k_max + 1, ...)``."""
    step = step_function(field, method)

    def run(k: Array) -> Array:
        h = 1.0 / k.astype(z0.dtype)

        def body(z, i):
            active = i < k
            t = jnp.where(active, i * h, 0.0)  # park masked steps at a harmless time (t >= 1 can be singular)
            z_next = jnp.where(active, step(t, z, h), z)
            return z_next, z_next

        _, zs = jax.lax.scan(body, z0, jnp.arange(k_max))
        return jnp.concatenate([z0[None], zs], axis=0)

    return jax.vmap(run)(ks)


def integrate_steps(field: VelocityField, z0: Array, ks: Sequence[int], method: Method = "euler") -> Array:
    """``integrate(field, z0, K, method)`` for every ``K`` in ``ks`` in one vmapped loop of ``max(ks)`` steps.

    Returns shape ``(len(ks), *z0.shape)``.
    """
    ks_arr = _check_ks(ks)
    z0 = jnp.asarray(z0)
    return _masked_paths(field, z0, jnp.asarray(ks_arr), int(ks_arr.max()), method)[:, -1]


def estimate_order(ks: Sequence[float], errors: Sequence[float], *, floor: float = 1e-11) -> float:
    """Empirical order ``p`` of ``error ~ C K^-p``: minus the least-squares slope of ``log error`` against ``log K``.

    Errors at or below ``floor`` (rounding noise) are left out; at least two points must remain.
    """
    k, e = np.asarray(ks, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    if k.shape != e.shape or k.ndim != 1:
        raise ValueError(f"ks and errors must be 1D of the same length, got shapes {k.shape} and {e.shape}.")
    keep = e > floor
    if keep.sum() < 2:
        raise ValueError("estimate_order needs at least two errors above the rounding floor; use smaller K values.")
    slope = np.polyfit(np.log(k[keep]), np.log(e[keep]), 1)[0]
    return float(-slope)


# ---------------------------------------------------------------------------------------------------------------------
# Exact paths of the uniform -> mixture flow (quantiles of p_t)
# ---------------------------------------------------------------------------------------------------------------------


def _antideriv_ndtr(x: Array) -> Array:
    # G(x) = x Phi(x) + phi(x), so that G' = Phi.
    return x * ndtr(x) + jnp.exp(-0.5 * x**2) / jnp.sqrt(2.0 * jnp.pi)


def _cdf_t(p: dict[str, Array], t: Array, z: Array) -> Array:
    """CDF of ``z_t = (1 - t) z0 + t x1`` at ``z``: a uniform box of width ``(1-t) w`` blurred by ``N(t m_k, (t s_k)^2)``."""
    t = jnp.asarray(t)[..., None]  # broadcast against the component axis
    a = 1.0 - t
    b = jnp.maximum(t * p["stds"], 1e-12)  # (..., C)
    zc = z[..., None] - t * p["means"]  # (..., C)
    lo, hi = a * p["low"], a * p["high"]
    width = jnp.maximum(a * (p["high"] - p["low"]), 1e-12)
    box = b / width * (_antideriv_ndtr((zc - lo) / b) - _antideriv_ndtr((zc - hi) / b))
    point = ndtr((zc - lo) / b)  # t = 1: the box has collapsed to a point
    cdf_k = jnp.where(a * (p["high"] - p["low"]) > 1e-9, box, point)
    return jnp.clip(jnp.sum(p["weights"] * cdf_k, axis=-1), 0.0, 1.0)


@partial(jax.jit, static_argnames=("iters",))
def _quantile_paths(p: dict[str, Array], q: Array, ts: Array, iters: int = 80) -> Array:
    """Bisection for ``z_t(q) = F_t^{-1}(q)`` on every (t, q): shape ``(T, N)``."""
    span = (p["high"] - p["low"]) + jnp.max(jnp.abs(p["means"]) + 10.0 * p["stds"]) + jnp.abs(p["low"]) + jnp.abs(p["high"])
    lo = jnp.full((ts.shape[0], q.shape[0]), -span)
    hi = jnp.full_like(lo, span)
    tt = ts[:, None]

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = _cdf_t(p, tt, mid) < q[None, :]
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return 0.5 * (lo + hi)


def exact_paths(source: exact.Uniform, target: exact.GaussianMixture, z0: Array, ts: Array) -> np.ndarray:
    """Exact flow paths from noise ``z0`` (shape ``(N,)``) at times ``ts`` (shape ``(T,)``): ``(T, N)``, float64.

    Uses that 1D flows keep the order of samples: the path from the ``q``-quantile of the noise stays at the
    ``q``-quantile of ``p_t``. Same flow as integrating ``exact.marginal_field(source, target)`` with ``K -> inf``.
    """
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in _params(source, target).items()}
        z0 = jnp.asarray(np.asarray(z0, dtype=np.float64))
        q = jnp.clip((z0 - p["low"]) / (p["high"] - p["low"]), 0.0, 1.0)
        ts = jnp.asarray(np.asarray(ts, dtype=np.float64))
        zs = _quantile_paths(p, q, ts)
        zs = jnp.where(ts[:, None] == 0.0, z0[None, :], zs)  # t = 0 is the noise itself
        return np.asarray(zs)


@partial(jax.jit, static_argnames=("k_max", "method"))
def _problem_paths(p: dict[str, Array], z0: Array, ks: Array, k_max: int, method: Method) -> Array:
    return _masked_paths(_field(p), z0, ks, k_max, method)


def euler_paths(
    source: exact.Uniform, target: exact.GaussianMixture, z0: Array, ks: Sequence[int], method: Method = "euler"
) -> np.ndarray:
    """Solver paths of the exact field for every K in ``ks``, in float64: shape ``(len(ks), max(ks) + 1, N)``.

    Row ``j`` holds ``z`` after ``0..K_j`` steps, then stays at the end point; the times are ``i / K_j``.
    One compilation serves every problem with the same number of target components.
    """
    ks_arr = _check_ks(ks)
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in _params(source, target).items()}
        z = jnp.asarray(np.asarray(z0, dtype=np.float64))
        return np.asarray(_problem_paths(p, z, jnp.asarray(ks_arr), int(ks_arr.max()), method))


@dataclass(frozen=True)
class Study:
    """Everything chapter 2 measures on one problem, as float64 numpy arrays.

    Attributes:
      ks: the step counts, ``(M,)``.
      z0: the noise samples, ``(N,)``.
      exact_end: exact end points ``(N,)``.
      straightness: ``S`` of the exact paths, ``(N,)``.
      relative_straightness: ``mean S / mean (z_1 - z_0)^2``, a scalar: the share of the squared motion spent bending.
      errors: ``{method: (M,)}`` root-mean-square error over ``z0`` of the end point after K steps.
      spread: ``{method: (M,)}`` standard deviation over ``z0`` of the end points after K steps.
    """

    ks: np.ndarray
    z0: np.ndarray
    exact_end: np.ndarray
    straightness: np.ndarray
    relative_straightness: float
    errors: dict[str, np.ndarray]
    spread: dict[str, np.ndarray]


def study(
    source: exact.Uniform,
    target: exact.GaussianMixture,
    z0: Array,
    ks: Sequence[int],
    methods: Sequence[Method] = METHODS,
    *,
    path_points: int = 257,
) -> Study:
    """Straightness of the exact paths and end-point errors of each method for each K (all in float64)."""
    ks_arr = _check_ks(ks)
    z0 = np.asarray(z0, dtype=np.float64)
    paths = exact_paths(source, target, z0, np.linspace(0.0, 1.0, path_points))  # (T, N)
    with jax.enable_x64(True):
        s = np.asarray(straightness_from_path(jnp.asarray(paths)))
    chord2 = (paths[-1] - paths[0]) ** 2
    errors, spread = {}, {}
    for m in methods:
        ends = euler_paths(source, target, z0, ks_arr, m)[:, -1]  # (M, N)
        errors[m] = np.sqrt(np.mean((ends - paths[-1]) ** 2, axis=1))
        spread[m] = np.std(ends, axis=1)
    return Study(ks_arr, z0, paths[-1], s, float(s.mean() / chord2.mean()), errors, spread)
