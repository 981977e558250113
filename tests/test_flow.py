"""Unit tests of the flow primitives (``floq_lite.flow``): conventions, closed-form fields and solvers.

Every expected value is computed independently of the code under test: by hand, from a closed-form transport
map, or by Monte Carlo. (Euler error orders are tested in ``test_curvature.py``.)
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from floq_lite import flow
from floq_lite.flow import exact

KEY = jax.random.PRNGKey(0)
MIXTURE = exact.GaussianMixture(means=(-1.5, 2.0), stds=(0.4, 0.6), weights=(0.4, 0.6))
# One compilation per call signature instead of one per primitive keeps this file fast.
_velocity = jax.jit(flow.marginal_velocity, static_argnums=(0, 1))
_log_density = jax.jit(flow.marginal_log_density, static_argnums=(0, 1))


def _mixture_cdf(x: np.ndarray, mix: exact.GaussianMixture) -> np.ndarray:
    erf = np.vectorize(math.erf)
    return sum(w * 0.5 * (1 + erf((x - m) / (s * math.sqrt(2)))) for m, s, w in zip(mix.means, mix.stds, mix.weights))


def _mixture_quantile(p: np.ndarray, mix: exact.GaussianMixture) -> np.ndarray:
    """Inverse CDF of the mixture by bisection (float64, independent of floq_lite)."""
    lo, hi = np.full_like(p, -20.0), np.full_like(p, 20.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = _mixture_cdf(mid, mix) < p
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


# --- conventions -------------------------------------------------------------------------------------------------


def test_interpolant_endpoints_and_velocity_convention():
    z0 = jnp.array([[-1.0], [0.5], [3.0]])
    x1 = jnp.array([[2.0], [-4.0], [3.5]])
    np.testing.assert_allclose(flow.interpolant(z0, x1, 0.0), z0)  # noise at t = 0
    np.testing.assert_allclose(flow.interpolant(z0, x1, 1.0), x1)  # target at t = 1
    np.testing.assert_allclose(flow.interpolant(z0, x1, 0.25), 0.75 * z0 + 0.25 * x1)
    np.testing.assert_allclose(flow.target_velocity(z0, x1), x1 - z0)  # points from noise to target
    # The target velocity is the time derivative of the interpolant.
    _, dz_dt = jax.jvp(lambda t: flow.interpolant(z0, x1, t), (0.3,), (1.0,))
    np.testing.assert_allclose(dz_dt, x1 - z0, rtol=1e-6)


def test_interpolant_broadcasts_per_sample_times():
    z0, x1 = jnp.zeros((4, 1)), jnp.ones((4, 1))
    t = jnp.array([[0.0], [0.25], [0.5], [1.0]])
    np.testing.assert_allclose(flow.interpolant(z0, x1, t), t)


def test_cfm_loss_is_zero_for_the_conditional_velocity_and_a_mean_of_squares():
    z0, x1 = jax.random.normal(KEY, (2, 16, 1))
    assert float(flow.cfm_loss(x1 - z0, z0, x1)) == 0.0
    # Hand example: errors 1 and 3 -> mean of squares 5 (a sum would give 10, the opposite sign would not be 0).
    z0, x1 = jnp.zeros((2, 1)), jnp.array([[1.0], [2.0]])
    assert float(flow.cfm_loss(jnp.array([[2.0], [5.0]]), z0, x1)) == pytest.approx(5.0)
    # Features are summed, the batch is averaged.
    z0, x1 = jnp.zeros((2, 2)), jnp.zeros((2, 2))
    assert float(flow.cfm_loss(jnp.ones((2, 2)), z0, x1)) == pytest.approx(2.0)


def test_noise_samplers_stay_in_range_and_match_moments():
    r = flow.sample_uniform_noise(KEY, (50_000,), -3.0, 5.0)
    assert float(r.min()) >= -3.0 and float(r.max()) < 5.0
    assert float(r.mean()) == pytest.approx(1.0, abs=0.05)
    t = flow.sample_time(KEY, (50_000,))
    assert float(t.min()) >= 0.0 and float(t.max()) < 1.0
    assert float(t.mean()) == pytest.approx(0.5, abs=0.01)


# --- the ideal field towards one point ------------------------------------------------------------------------------


@pytest.mark.parametrize("num_steps", [1, 2, 3, 8, 32])
def test_point_target_field_lands_on_y_for_every_step_count(num_steps):
    z0 = jnp.linspace(-10.0, 10.0, 201)  # (201,)
    for y in (0.0, 2.5, -7.0):
        z1 = flow.integrate(flow.point_target_field(y), z0, num_steps, "euler")
        np.testing.assert_allclose(z1, y, atol=2e-5, err_msg=f"K={num_steps}, y={y}")
    # Per-sample targets broadcast the same way.
    y = jnp.linspace(5.0, -5.0, 201)
    np.testing.assert_allclose(flow.integrate(flow.point_target_field(y), z0, num_steps), y, atol=2e-5)


# --- closed-form marginal fields ---------------------------------------------------------------------------------


def test_gaussian_to_gaussian_field_is_the_affine_transport_map():
    """A single-component mixture: the flow must be the monotone map z1 = m1 + s1 (z0 - m0) / s0."""
    source = exact.Gaussian(mean=-1.0, std=2.0)
    target = exact.GaussianMixture(means=(3.0,), stds=(0.5,), weights=(1.0,))
    z0 = source.sample(KEY, (50_000,))
    z1 = flow.integrate(flow.marginal_field(source, target), z0, 64, "rk4")
    np.testing.assert_allclose(z1, 3.0 + 0.5 * (z0 + 1.0) / 2.0, atol=1e-3)
    assert float(z1.mean()) == pytest.approx(3.0, abs=0.02)
    assert float(z1.std()) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("source", [exact.Gaussian(), exact.Gaussian(mean=1.0, std=0.5)], ids=["N(0,1)", "N(1,0.25)"])
def test_gaussian_to_mixture_field_is_the_quantile_map(source):
    """In 1D the flow of the marginal field is monotone, so it must send the p-quantile of the source to the
    p-quantile of the mixture: z1 = F_target^{-1}(Phi((z0 - m0) / s0))."""
    p = np.linspace(0.002, 0.998, 199)
    z0 = source.mean + source.std * np.sqrt(2) * np.vectorize(_inv_erf)(2 * p - 1)
    z1 = np.asarray(flow.integrate(flow.marginal_field(source, MIXTURE), jnp.asarray(z0, jnp.float32), 256, "rk4"))
    np.testing.assert_allclose(z1, _mixture_quantile(p, MIXTURE), atol=2e-2)


def _inv_erf(y: float) -> float:
    lo, hi = -6.0, 6.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.erf(mid) < y else (lo, mid)
    return 0.5 * (lo + hi)


def test_gaussian_to_mixture_samples_match_the_mixture():
    source = exact.Gaussian()
    z1 = np.asarray(flow.integrate(flow.marginal_field(source, MIXTURE), source.sample(KEY, (40_000,)), 128, "rk4"))
    mean = sum(w * m for m, w in zip(MIXTURE.means, MIXTURE.weights))
    var = sum(w * (s**2 + m**2) for m, s, w in zip(MIXTURE.means, MIXTURE.stds, MIXTURE.weights)) - mean**2
    assert z1.mean() == pytest.approx(mean, abs=0.03)
    assert z1.std() == pytest.approx(math.sqrt(var), abs=0.03)
    # Kolmogorov-Smirnov distance; 0.012 is ~1.7x the 1% critical value for n = 40k.
    xs = np.sort(z1)
    ecdf = np.arange(1, xs.size + 1) / xs.size
    assert np.max(np.abs(ecdf - _mixture_cdf(xs, MIXTURE))) < 0.012
    # The mass left of the gap between the modes is the left component's weight.
    assert np.mean(z1 < 0.25) == pytest.approx(0.4, abs=0.01)


@pytest.mark.parametrize("source", [exact.Gaussian(), exact.Uniform(-1.0, 3.0)], ids=["gaussian", "uniform"])
def test_marginal_velocity_at_t0_is_target_mean_minus_z(source):
    """At t=0, x1 is independent of z_0 = z, so v(0, z) = E[x1] - z for any source."""
    z = jnp.linspace(-0.9, 2.9, 9)  # inside the uniform's support
    np.testing.assert_allclose(_velocity(source, MIXTURE, 0.0, z), MIXTURE.mean - z, atol=1e-4)


@pytest.mark.parametrize("source", [exact.Gaussian(), exact.Uniform(-1.0, 3.0)], ids=["gaussian", "uniform"])
def test_marginal_velocity_at_t1_is_z_minus_source_mean(source):
    """At t=1, z0 is independent of z_1 = z, so v(1, z) = z - E[z0]."""
    z = jnp.linspace(-0.9, 2.9, 9)
    source_mean = source.mean if isinstance(source, exact.Gaussian) else 0.5 * (source.low + source.high)
    np.testing.assert_allclose(_velocity(source, MIXTURE, 1.0, z), z - source_mean, atol=1e-3)


@pytest.mark.parametrize("t", [0.3, 0.85])
@pytest.mark.parametrize("source", [exact.Uniform(-1.0, 3.0), exact.Gaussian()], ids=["uniform", "gaussian"])
def test_closed_form_matches_monte_carlo_conditional_mean(source, t):
    """E[x1 - z0 | z_t in bin] from samples equals the average of the closed form over the same samples."""
    n = 200_000
    k0, k1 = jax.random.split(jax.random.PRNGKey(7))
    z0, x1 = np.asarray(source.sample(k0, (n,))), np.asarray(MIXTURE.sample(k1, (n,)))
    zt = (1 - t) * z0 + t * x1
    u = x1 - z0
    v = np.asarray(_velocity(source, MIXTURE, t, jnp.asarray(zt)))
    edges = np.quantile(zt, np.linspace(0.02, 0.98, 17))
    which = np.digitize(zt, edges)
    for b in range(1, len(edges)):
        in_bin = which == b
        mc_mean, closed = u[in_bin].mean(), v[in_bin].mean()
        stderr = u[in_bin].std() / math.sqrt(in_bin.sum())
        assert abs(mc_mean - closed) < 5 * stderr + 1e-3, (b, mc_mean, closed, stderr)


@pytest.mark.parametrize("source", [exact.Uniform(-1.0, 3.0), exact.Gaussian()], ids=["uniform", "gaussian"])
def test_marginal_log_density_is_normalised_and_matches_samples(source):
    t = 0.6
    grid = jnp.linspace(-8.0, 8.0, 2001)
    density = np.exp(np.asarray(_log_density(source, MIXTURE, t, grid)))
    assert np.trapezoid(density, np.asarray(grid)) == pytest.approx(1.0, abs=1e-3)
    k0, k1 = jax.random.split(KEY)
    zt = np.asarray(flow.interpolant(source.sample(k0, (100_000,)), MIXTURE.sample(k1, (100_000,)), t))
    # P(z_t <= 0.5) from samples vs from the density.
    cdf_at = np.trapezoid(np.where(grid <= 0.5, density, 0.0), np.asarray(grid))
    assert np.mean(zt <= 0.5) == pytest.approx(cdf_at, abs=6e-3)  # ~4 standard errors at n = 100k


# --- solvers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", flow.METHODS)
def test_trajectory_endpoints_equal_integrate(method):
    field = flow.marginal_field(exact.Gaussian(), MIXTURE)
    z0 = jax.random.normal(KEY, (64, 1))
    ts, zs = flow.trajectory(field, z0, 7, method)
    assert ts.shape == (8,) and zs.shape == (8, 64, 1)
    np.testing.assert_allclose(ts, np.linspace(0, 1, 8), atol=1e-7)
    np.testing.assert_array_equal(zs[0], z0)
    np.testing.assert_allclose(zs[-1], flow.integrate(field, z0, 7, method), atol=1e-6)


def test_euler_uses_left_end_point_times():
    """With v(t, z) = t, left-end-point Euler gives sum_i (i/K)/K = (K - 1) / (2K), not the exact 1/2."""
    for k in (1, 2, 5):
        z1 = flow.integrate(lambda t, z: jnp.full_like(z, t), jnp.zeros(3), k, "euler")
        np.testing.assert_allclose(z1, (k - 1) / (2 * k), atol=1e-6)
    # A quadratic-in-time field is integrated exactly by RK4.
    z1 = flow.integrate(lambda t, z: jnp.full_like(z, 3 * t**2), jnp.zeros(3), 3, "rk4")
    np.testing.assert_allclose(z1, 1.0, atol=1e-6)


def test_final_value_iteration_walks_the_interpolants_of_a_constant_prediction():
    """A predictor that always answers x1 puts z_i on the training interpolant (1 - t_i) z0 + t_i x1 and ends on x1;
    the steps see the left end-point times, as Euler's do."""
    z0, x1 = jnp.asarray([-2.0, 0.5, 3.0]), 1.5
    for k in (1, 3, 8):
        seen = []

        def predict(t, z):
            seen.append((t, z))
            return jnp.full_like(z, x1)

        ts, zs = flow.trajectory(lambda t, z: jnp.zeros_like(z), z0, k)  # the grid only
        np.testing.assert_allclose(flow.integrate_final(predict, z0, k), x1, atol=1e-6)
        # traced once inside fori_loop; check the law step by step with a Python loop instead
        z = z0
        for i in range(k):
            np.testing.assert_allclose(z, (1 - ts[i]) * z0 + ts[i] * x1, atol=1e-6)
            z = (1 - ts[i + 1]) * z0 + ts[i + 1] * predict(ts[i], z)
    # K = 1: one prediction from z0 at t = 0
    z1 = flow.integrate_final(lambda t, z: 2.0 * z + t, z0, 1)
    np.testing.assert_allclose(z1, 2.0 * z0, atol=1e-6)
    # K = 2: z1 = z0 / 2 + f(0, z0) / 2 = 1.5 z0, then z2 = f(1/2, z1) = 3 z0 + 1/2
    np.testing.assert_allclose(flow.integrate_final(lambda t, z: 2.0 * z + t, z0, 2), 3.0 * z0 + 0.5, atol=1e-6)


@pytest.mark.parametrize("bad", [0, -2, 2.5, "8", None])
def test_invalid_num_steps_raises_a_helpful_error(bad):
    field = flow.point_target_field(1.0)
    for fn in (flow.integrate, flow.trajectory):
        with pytest.raises(ValueError, match="num_steps must be a positive"):
            fn(field, jnp.zeros(3), bad)


def test_unknown_method_raises_and_lists_the_valid_ones():
    for fn in (flow.integrate, flow.trajectory):
        with pytest.raises(ValueError, match="euler, midpoint, rk4"):
            fn(flow.point_target_field(1.0), jnp.zeros(3), 4, "heun")


def test_invalid_distributions_raise():
    with pytest.raises(ValueError, match="low < high"):
        exact.Uniform(1.0, 1.0)
    with pytest.raises(ValueError, match="stds must be > 0"):
        exact.GaussianMixture(means=(0.0,), stds=(0.0,), weights=(1.0,))
    with pytest.raises(ValueError, match="same, non-zero length"):
        exact.GaussianMixture(means=(0.0, 1.0), stds=(1.0,), weights=(1.0,))
