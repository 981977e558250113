"""Real properties of the chapter 4 computations in floq_lite.studies.design (and its kappa x K figure)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from floq_lite.studies import design
from floq_lite.critic.floq import noise_interval
from floq_lite.flow import GaussianMixture, Uniform, integrate, marginal_field
from floq_lite.networks.embeddings import hl_gauss_embed, hl_gauss_support
from floq_lite.plotting.design import kappa_k_plotly


# --- 1. noise interval ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "env, low",
    [("antmaze-large", -10.0), ("antmaze-giant", -20.0), ("cube-double", -20.0), ("scene", -50.0),
     ("puzzle-3x3", -90.0), ("puzzle-4x4", -160.0), ("puzzle-4x4 (best)", -400.0)],
)
def test_ogbench_noise_intervals_match_the_spec_table(env, low):
    row = next(r for r in design.ogbench_noise_table() if r["env"] == env)
    assert row["low"] == pytest.approx(low, abs=1e-9)
    assert row["high"] == 0.0
    # the interval is the top kappa-fraction of the return range [r_min / (1 - gamma), 0]
    assert row["low"] == pytest.approx(row["kappa"] * row["r_min"] / (1 - row["discount"]))
    assert row["q_min"] < row["low"] <= row["high"] < row["q_max"]


def test_noise_interval_scales_both_ends_by_kappa():
    assert noise_interval(-1.0, 2.0, 0.9, 0.5) == pytest.approx((-5.0, 10.0))


def test_mixture_quantile_inverts_the_cdf():
    mix = GaussianMixture(means=(-3.0, 1.0), stds=(0.5, 1.0), weights=(1.0, 3.0))
    p = jnp.array([0.01, 0.2, 0.25, 0.5, 0.9])
    x = design.mixture_quantile(mix, p)
    cdf = 0.25 * jax.scipy.stats.norm.cdf(x, -3.0, 0.5) + 0.75 * jax.scipy.stats.norm.cdf(x, 1.0, 1.0)
    np.testing.assert_allclose(cdf, p, atol=1e-5)


@pytest.fixture(scope="module")
def grid():
    return design.kappa_k_grid((0.01, 0.1), (1, 2, 8), num_paths=5, num_points=61)


def test_grid_matches_plain_euler(grid):
    source = Uniform(0.1 * grid.q_min, 0.0)
    field = marginal_field(source, design.floq_style_target(grid.q_min))
    z0 = source.low + source.width * (jnp.arange(61) + 0.5) / 61
    for j, K in enumerate(grid.Ks):
        np.testing.assert_allclose(grid.ends[1, j], integrate(field, z0, K), atol=1e-3)
        assert grid.paths[1][j].shape == (K + 1, 5)


def test_one_euler_step_collapses_every_start_to_the_mean(grid):
    # v(0, z) = E[x1] - z exactly, so one left-end-point step lands on E[x1] whatever z0 is: a scalar critic.
    mean = design.floq_style_target(grid.q_min).mean
    np.testing.assert_allclose(grid.ends[:, 0], mean, atol=1e-3)
    assert np.all(grid.spread[:, 0] < 1e-4)


def test_more_steps_reduce_the_error_and_recover_the_spread(grid):
    assert np.all(np.diff(grid.error, axis=1) < 0)
    assert np.all(np.diff(grid.spread, axis=1) > 0)


def test_a_too_narrow_interval_needs_more_steps(grid):
    # kappa = 0.01: the K = 8 output still ignores most of z0; kappa = 0.1 recovers most of the spread.
    j8 = grid.Ks.index(8)
    assert grid.spread[0, j8] < 0.5 < grid.spread[1, j8]
    assert grid.error[0, j8] > 2 * grid.error[1, j8]


def test_exact_endpoint_is_the_long_run_limit():
    source, target = Uniform(-10.0, 0.0), design.floq_style_target()
    z0 = jnp.linspace(-9.5, -0.5, 7)
    ref = integrate(marginal_field(source, target), z0, 100, "rk4")
    np.testing.assert_allclose(design.exact_endpoint(source, target, z0), ref, atol=0.05)


# --- 2. HL-Gauss ------------------------------------------------------------------------------------------------------

def test_wide_hl_gauss_touches_most_bins_narrow_few():
    z = np.linspace(-101.0, 1.0, 201)
    wide = float(np.mean(design.hl_gauss_nonzero_fraction(z, -101.0, 1.0, 16.0, threshold=1e-2)))
    narrow = float(np.mean(design.hl_gauss_nonzero_fraction(z, -101.0, 1.0, 0.75, threshold=1e-2)))
    assert 0.6 < wide < 0.9  # "about 80% of the bins" at a 1% threshold
    assert narrow < 0.15


def test_embedding_features_stay_bounded_while_raw_z_grows():
    z = np.linspace(-101.0, 1.0, 101)
    s = design.embedding_sensitivity(z, -101.0, 1.0)
    assert np.all(s["hl_gauss_norm"] <= 1.0 + 1e-6) and np.all(s["minmax_norm"] <= 1.0 + 1e-6)
    assert s["raw_norm"].max() == pytest.approx(101.0)
    # sigma = 16 bins is smooth: the encoding changes slowly and evenly with z, unlike a narrow, near one-hot one.
    narrow = design.embedding_sensitivity(z, -101.0, 1.0, sigma=0.75)
    assert s["hl_gauss"].max() < 1.5 * s["hl_gauss"].min()
    assert narrow["hl_gauss"].max() > 20 * s["hl_gauss"].max()


def test_hl_gauss_jacobian_matches_finite_differences():
    support = hl_gauss_support(-101.0, 1.0)
    z, h = -40.0, 1e-2
    fd = (hl_gauss_embed(jnp.array([[z + h]]), support) - hl_gauss_embed(jnp.array([[z - h]]), support)) / (2 * h)
    s = design.embedding_sensitivity(np.array([z]), -101.0, 1.0)
    assert s["hl_gauss"][0] == pytest.approx(float(jnp.linalg.norm(fd)), rel=1e-2)


# --- 4. distilled critic cost -----------------------------------------------------------------------------------------

def test_update_counts_follow_the_official_loop():
    c = design.update_evaluation_counts(batch_size=256, noise_samples=8, ensembles=2, flow_steps=8)
    assert c["with_distillation"]["forward"] == 2 * 256 * 8 * 8 * 2
    assert c["with_distillation"]["forward_backward"] == 2 * 256 * 8 + 2 * 256 * 2
    assert c["actor_through_flow"]["actor_backward_chain"] == 8
    assert c["with_distillation"]["actor_backward_chain"] == 1


def test_actor_gradient_flops_grow_linearly_with_K():
    f = design.actor_gradient_flops((1, 2, 4), hidden=16, depth=2, batch=8)
    ratio = f["flow"] / f["flow"][0]
    np.testing.assert_allclose(ratio, [1, 2, 4], rtol=0.1)
    assert np.all(f["scalar"] == f["scalar"][0]) and f["flow"][-1] > 3 * f["scalar"][0]


# --- 5. sum over R ----------------------------------------------------------------------------------------------------

def test_sum_loss_is_R_times_the_mean_fm_plus_distillation():
    rng = np.random.default_rng(0)
    E, B, R = 2, 5, 8
    fm, d = jnp.asarray(rng.uniform(size=(E, B * R))), jnp.asarray(rng.uniform(size=(E, B)))
    out = design.sum_and_mean_losses(fm, d, R)
    assert float(out["sum"]) == pytest.approx(R * float(out["fm_mean"]) + float(out["distill"]), rel=1e-6)
    assert float(out["mean"]) == pytest.approx(float(out["fm_mean"]) + float(out["distill"]), rel=1e-6)


def test_sum_vs_mean_is_invisible_to_adam_and_an_R_fold_learning_rate_for_sgd():
    tr = design.sum_vs_mean_training(num_repeats=8, steps=40, batch=8, dim=3)
    scale = np.abs(tr["sgd_sum/theta"]).max()
    # the critic's parameters get the same gradient under both losses
    for opt in ("adam", "sgd"):
        np.testing.assert_allclose(tr[f"{opt}_sum/psi"], tr[f"{opt}_mean/psi"], atol=1e-6)
    # Adam normalises the gradient's scale away (up to its epsilon), since the field and the critic share no weights
    np.testing.assert_allclose(tr["adam_sum/theta"], tr["adam_mean/theta"], atol=1e-5)
    # SGD does not: the sum is an R-fold learning rate on the field, reproduced exactly by scaling that rate
    assert np.abs(tr["sgd_sum/theta"] - tr["sgd_mean/theta"]).max() > 0.1 * scale
    np.testing.assert_allclose(tr["sgd_sum/theta"], tr["sgd_mean_scaled/theta"], atol=1e-5 * scale)


# --- 6. sliders --------------------------------------------------------------------------------------------------------

def test_two_slider_figure_restyles_data_and_visibility_independently(grid):
    fig = kappa_k_plotly(grid)
    T = 4  # paths, readout, exact histogram, Euler histogram
    assert len(fig.data) == len(grid.Ks) * T
    a_slider, b_slider = fig.layout.sliders
    assert len(a_slider.steps) == len(grid.kappas) and len(b_slider.steps) == len(grid.Ks)
    # the K slider only toggles visibility: exactly one block of T traces visible
    for j, step in enumerate(b_slider.steps):
        vis = step.args[0]["visible"]
        assert sum(vis) == T and all(vis[j * T:(j + 1) * T])
        assert set(step.args[0]) == {"visible"}
    # the kappa slider only sets data: the paths trace of block j holds grid.paths[i][j]
    for i, step in enumerate(a_slider.steps):
        assert set(step.args[0]) == {"x", "y", "text"}
        for j, K in enumerate(grid.Ks):
            ys = np.array(step.args[0]["y"][j * T], dtype=float)
            np.testing.assert_allclose(ys[~np.isnan(ys)], grid.paths[i][j].T.ravel(), rtol=1e-6)
            # the readout the live widget prints, for this very cell
            assert step.args[0]["text"][j * T + 1] == [
                f"κ = {grid.kappas[i]:g}, K = {K}<br>error {grid.error[i, j]:.2f}, "
                f"spread kept {100 * grid.spread[i, j]:.0f}%"]


def test_kernel_free_figure_starts_where_the_live_widget_starts(grid):
    from floq_lite.plotting.design import LIVE_START

    fig = kappa_k_plotly(grid)
    a_slider, b_slider = fig.layout.sliders
    assert grid.kappas[a_slider.active] == LIVE_START[0] and grid.Ks[b_slider.active] == LIVE_START[1]
    visible = [tr for tr in fig.data if tr.visible is not False]
    assert visible[1].text[0].startswith(f"κ = {LIVE_START[0]:g}, K = {LIVE_START[1]}<br>")


def test_hl_gauss_figure_titles_give_the_average_the_chapter_prints():
    import matplotlib

    matplotlib.use("Agg")
    from floq_lite.plotting.design import plot_hl_gauss

    q_min, q_max = -101.0, 1.0
    fig = plot_hl_gauss(q_min, q_max, zs=(-90.0, 0.0), sigmas=(0.75, 16.0), threshold=1e-2)
    z_all = np.linspace(q_min, q_max, 501)
    for ax, sigma in zip(fig.axes, (0.75, 16.0)):
        share = float(np.mean(design.hl_gauss_nonzero_fraction(z_all, q_min, q_max, sigma, threshold=1e-2)))
        assert design.mean_nonzero_fraction(q_min, q_max, sigma, 1e-2) == pytest.approx(share, abs=1e-6)
        assert ax.get_title().split(": ")[1].startswith(f"{100 * share:.0f}% of bins")
    # the test can tell the two averages apart: the drawn z's alone give another share (0 sits at the edge)
    drawn = float(np.mean(design.hl_gauss_nonzero_fraction(np.array([-90.0, 0.0]), q_min, q_max, 16.0, 1e-2)))
    assert f"{100 * drawn:.0f}%" not in fig.axes[1].get_title()
