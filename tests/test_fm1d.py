"""Training a 1D velocity field by conditional flow matching (``floq_lite.studies.fm1d``) recovers the exact marginal field.

Reference numbers (measured on a 2-core CPU, seeds 0-2, the ``TEST_CONFIG`` below): final loss 2.45-2.50 against a
floor of 2.49; path-weighted field RMSE 0.056-0.065 (the exact field's own RMS size is 1.45); KS distance of
32-step RK4 samples 0.009-0.012. The thresholds below leave a margin of about 2x on each.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from floq_lite.studies import fm1d
from floq_lite.flow import exact, integrate

SOURCE = exact.Gaussian()
TARGET = exact.GaussianMixture(means=(-1.5, 2.0), stds=(0.4, 0.6), weights=(0.4, 0.6))
# chunk_size does not divide num_steps, so the fixture also exercises the shorter last chunk.
TEST_CONFIG = fm1d.FM1DConfig(num_steps=3_000, batch_size=256, hidden_dims=(64, 64), chunk_size=1_250)
FIELD_RMSE_TOL = 0.13  # measured 0.054-0.065
EVAL_KEY = jax.random.PRNGKey(123)


@pytest.fixture(scope="module")
def trained() -> fm1d.FitResult:
    return fm1d.fit(SOURCE, TARGET, TEST_CONFIG, seed=0, progress=False)


def test_loss_decreases_to_the_floor(trained):
    losses = trained.losses
    assert losses.shape == (TEST_CONFIG.num_steps,) and np.all(np.isfinite(losses))
    floor = fm1d.cfm_loss_floor(SOURCE, TARGET, EVAL_KEY)
    start, end = losses[:20].mean(), losses[-1_000:].mean()
    assert start > 1.15 * floor  # an untrained net is far from the best field
    assert end < 0.85 * start
    # The CFM loss cannot reach zero; it settles on E Var(x1 - z0 | z_t) (measured: within 1.5% of it).
    assert floor * 0.96 < end < floor * 1.04, (end, floor)


def test_floor_standard_error_describes_the_spread_of_independent_estimates():
    estimates = [fm1d.cfm_loss_floor_estimate(SOURCE, TARGET, jax.random.PRNGKey(k), 20_000) for k in range(12)]
    means, errors = np.array([m for m, _ in estimates]), np.array([e for _, e in estimates])
    assert np.allclose(errors, errors.mean(), rtol=0.2)  # one noise level, estimated alike by every run
    assert 0.5 < means.std(ddof=1) / errors.mean() < 1.6  # the spread of the means is what the error says
    big, big_error = fm1d.cfm_loss_floor_estimate(SOURCE, TARGET, EVAL_KEY, 200_000)
    assert big_error == pytest.approx(errors.mean() / np.sqrt(10), rel=0.2)  # shrinks like 1/sqrt(N)
    assert big == fm1d.cfm_loss_floor(SOURCE, TARGET, EVAL_KEY, 200_000)


def test_trained_field_matches_the_exact_marginal_field(trained):
    err = fm1d.field_rmse(trained.field, SOURCE, TARGET, EVAL_KEY)
    assert err < FIELD_RMSE_TOL, f"path-weighted RMSE {err:.3f} >= {FIELD_RMSE_TOL}"
    # The metric can fail: an untrained network is far outside the tolerance.
    untrained = fm1d.init_state(TEST_CONFIG, jax.random.PRNGKey(0))
    untrained_field = fm1d.as_field(untrained.model, untrained.params)
    assert fm1d.field_rmse(untrained_field, SOURCE, TARGET, EVAL_KEY) > 5 * FIELD_RMSE_TOL
    # And the exact field scores zero against itself.
    assert fm1d.field_rmse(exact.marginal_field(SOURCE, TARGET), SOURCE, TARGET, EVAL_KEY) < 1e-5


def test_samples_from_the_trained_field_match_the_target(trained):
    samples = np.asarray(fm1d.sample(trained.field, SOURCE, jax.random.PRNGKey(5), 20_000, 32, "rk4"))
    reference = np.asarray(TARGET.sample(jax.random.PRNGKey(6), (400_000,)))
    assert samples.mean() == pytest.approx(reference.mean(), abs=0.06)
    assert samples.std() == pytest.approx(reference.std(), abs=0.06)
    assert np.mean(samples < 0.25) == pytest.approx(0.4, abs=0.02)  # mass of the left mode
    assert fm1d.ks_distance(samples, TARGET) < 0.03  # measured 0.009-0.012


def test_one_euler_step_collapses_to_the_target_mean(trained):
    """v(0, z) = E[x1] - z, so a single Euler step sends every z0 to E[x1]: the learned field must know this."""
    z1 = np.asarray(fm1d.sample(trained.field, SOURCE, jax.random.PRNGKey(5), 2_000, 1))
    assert z1.mean() == pytest.approx(TARGET.mean, abs=0.15)  # measured within 0.06
    assert z1.std() < 0.25  # from std 1 to (measured) 0.08-0.12; the exact field gives 0


def test_fit_is_deterministic_under_a_seed(trained):
    # Same config as the fixture, so nothing recompiles: only the seed differs.
    again = fm1d.fit(SOURCE, TARGET, TEST_CONFIG, seed=0, progress=False)
    other = fm1d.fit(SOURCE, TARGET, TEST_CONFIG, seed=1, progress=False)
    np.testing.assert_array_equal(again.losses, trained.losses)
    jax.tree.map(np.testing.assert_array_equal, again.params, trained.params)
    assert not np.array_equal(other.losses, trained.losses)
    assert int(trained.state.step) == TEST_CONFIG.num_steps


def test_train_step_is_the_update_fit_scans(trained):
    state = fm1d.init_state(TEST_CONFIG, jax.random.PRNGKey(0))  # what fit(seed=0) starts from
    losses = []
    for _ in range(3):
        state, loss = fm1d.train_step(state, SOURCE, TARGET, TEST_CONFIG.batch_size)
        losses.append(float(loss))
    # The third loss depends on the parameters after two updates, so equal losses mean equal updates.
    np.testing.assert_allclose(losses, trained.losses[:3], rtol=1e-5)
    assert int(state.step) == 3


def test_field_callable_accepts_solver_shapes(trained):
    field = trained.field
    for shape in [(5,), (3, 4)]:
        z = jnp.zeros(shape)
        assert field(0.3, z).shape == shape  # scalar t, as the solvers pass it
        assert field(jnp.full(shape, 0.3), z).shape == shape  # per-point t, as the heatmaps pass it
    np.testing.assert_allclose(field(0.3, jnp.zeros((3, 4)))[0], field(jnp.full((4,), 0.3), jnp.zeros(4)), rtol=1e-6)
    assert integrate(field, jnp.zeros((3, 4)), 4).shape == (3, 4)


def test_time_features():
    t = jnp.array([[0.0], [0.5], [1.0]])
    feats = fm1d.time_features(t, 3)
    assert feats.shape == (3, 4)
    np.testing.assert_allclose(feats[:, 0], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(feats[0, 1:], [1.0, 1.0, 1.0])  # cos(0)
    np.testing.assert_allclose(feats[2, 1:], [-1.0, 1.0, -1.0], atol=1e-6)  # cos(k pi)
    assert fm1d.time_features(t, 0).shape == (3, 1)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="num_steps must be a positive int"):
        fm1d.FM1DConfig(num_steps=0)
    with pytest.raises(ValueError, match="hidden_dims"):
        fm1d.FM1DConfig(hidden_dims=())
    with pytest.raises(TypeError, match="GaussianMixture target"):
        fm1d.fit(SOURCE, exact.Gaussian(), TEST_CONFIG)
    model = fm1d.VelocityMLP(hidden_dims=(8,))
    with pytest.raises(ValueError, match=r"z\[\.\.\., None\]"):
        model.init(jax.random.PRNGKey(0), jnp.zeros((4, 1)), jnp.zeros((4, 3)))


def test_tier_sizes():
    smoke, teach = fm1d.default_config("smoke"), fm1d.default_config("teach")
    assert smoke.num_steps < teach.num_steps
    assert smoke.num_steps % smoke.chunk_size == 0 and teach.num_steps % teach.chunk_size == 0
