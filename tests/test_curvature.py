"""Curvature measures, step-count sweeps, empirical orders, and the two-slider figures of chapter 2."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from floq_lite.studies import curvature as cv
from floq_lite.flow import integrate, marginal_field, point_target_field

KS = [8, 16, 32, 64, 128]


def _gauss_problem():
    """dz/dt = -z^2: curved paths z_t = z0 / (1 + t z0) with known end points, smooth for z0 > 0."""

    def field(t, z):
        return -(z**2)

    z0 = np.linspace(0.2, 2.0, 9)
    return field, z0, z0 / (1.0 + z0)


@pytest.fixture(scope="module")
def gauss_errors():
    field, z0, exact_end = _gauss_problem()
    out = {}
    with jax.enable_x64(True):
        for m in ("euler", "midpoint", "rk4"):
            ends = cv.integrate_steps(field, jnp.asarray(z0), KS, m)
            out[m] = np.sqrt(np.mean((np.asarray(ends) - exact_end) ** 2, axis=1))
    return out


@pytest.mark.parametrize("method, lo, hi", [("euler", 0.85, 1.15), ("midpoint", 1.8, 2.2), ("rk4", 3.6, 4.4)])
def test_orders_on_smooth_curved_field(gauss_errors, method, lo, hi):
    p = cv.estimate_order(KS, gauss_errors[method])
    assert lo <= p <= hi, f"{method}: order {p:.3f}"


def test_integrate_steps_matches_integrate():
    field, z0, _ = _gauss_problem()
    z = jnp.asarray(z0, dtype=jnp.float32)
    swept = np.asarray(cv.integrate_steps(lambda t, z: jnp.cos(3 * t) * z, z, [1, 3, 5], "midpoint"))
    for row, k in zip(swept, [1, 3, 5]):
        np.testing.assert_allclose(row, integrate(lambda t, z: jnp.cos(3 * t) * z, z, k, "midpoint"), atol=1e-5)


def test_point_target_is_straight_and_one_step_exact():
    y = -42.0
    z0 = jnp.linspace(-10.0, 0.0, 5)
    ends = np.asarray(cv.integrate_steps(point_target_field(y), z0, [1, 2, 7], "euler"))
    np.testing.assert_allclose(ends, y, atol=1e-4)
    t = jnp.linspace(0.0, 1.0, 17)[:, None]
    lines = (1 - t) * z0 + t * y
    np.testing.assert_allclose(cv.straightness_from_path(lines), 0.0, atol=1e-6)


def test_straightness_positive_for_bent_path():
    t = jnp.linspace(0.0, 1.0, 33)[:, None]
    bent = t + 0.3 * jnp.sin(jnp.pi * t)
    assert float(cv.straightness_from_path(bent)[0]) > 0.1


@pytest.fixture(scope="module")
def width_studies():
    out = {}
    for kappa in (0.01, 0.1, 1.0):
        source, target = cv.floq_problem(kappa=kappa)
        out[kappa] = cv.study(source, target, cv.start_points(source, 16), [1, 2, 4, 8, 16, 32, 64], ("euler",))
    return out


def test_wider_noise_curves_more(width_studies):
    s = [float(width_studies[k].straightness.mean()) for k in (0.01, 0.1, 1.0)]
    assert s[0] < s[1] < s[2], s


def test_exact_paths_agree_with_fine_ode(width_studies):
    source, target = cv.floq_problem(kappa=0.3)
    z0 = cv.start_points(source, 6, margin=0.1)
    with jax.enable_x64(True):
        ode = integrate(marginal_field(source, target), jnp.asarray(np.asarray(z0, dtype=np.float64)), 1024, "midpoint")
    quant = cv.exact_paths(source, target, z0, np.array([0.0, 1.0]))
    np.testing.assert_allclose(quant[0], z0, atol=1e-9)
    np.testing.assert_allclose(quant[1], np.asarray(ode), atol=1e-3)


def test_one_euler_step_lands_on_mean_target(width_studies):
    for st in width_studies.values():
        assert st.spread["euler"][0] < 1e-3  # every noise sample gives the same value: E[x1]


def test_euler_first_order_on_wide_noise(width_studies):
    st = width_studies[1.0]
    p = cv.estimate_order(st.ks[3:], st.errors["euler"][3:])
    assert 0.85 <= p <= 1.15, p


def test_narrow_noise_collapses_for_few_steps(width_studies):
    narrow, wide = width_studies[0.01], width_studies[1.0]
    # With K <= 8 narrow noise barely separates the samples, and extra steps hardly reduce its error.
    assert narrow.spread["euler"][3] < 0.25 * wide.spread["euler"][3]
    assert narrow.errors["euler"][3] > 0.8 * narrow.errors["euler"][0]
    assert wide.errors["euler"][3] < 0.3 * wide.errors["euler"][0]


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="exactly one of width"):
        cv.noise_interval(width=1.0, kappa=0.1)
    with pytest.raises(ValueError, match="positive integers"):
        cv.integrate_steps(point_target_field(0.0), jnp.zeros(2), [0, 2])
    with pytest.raises(ValueError, match="two errors above"):
        cv.estimate_order([1, 2], [1e-13, 1e-14])


@pytest.fixture(scope="module")
def grid():
    from floq_lite import widgets

    return widgets.path_grid(kappas=(0.01, 0.1, 1.0), ks=(1, 2, 4), num_paths=4, path_points=17)


def test_two_slider_figure_structure(grid):
    from floq_lite.plotting.paths import two_slider_figure

    fig = two_slider_figure(grid, active=(1, 2))
    n_traces = len(fig.data)
    assert n_traces == 4 * 3 + 1
    width_slider, k_slider = fig.layout.sliders
    assert len(width_slider.steps) == 3 and len(k_slider.steps) == 3
    for a, step in enumerate(width_slider.steps):
        vis = step.args[0]["visible"]
        assert len(vis) == n_traces and vis[-1] is True
        assert [i for i, v in enumerate(vis) if v and i < n_traces - 1] == list(range(4 * a, 4 * a + 4))
    for b, step in enumerate(k_slider.steps):
        update, indices = step.args
        assert all(0 <= i < n_traces for i in indices) and len(set(indices)) == len(indices)
        k = int(grid.ks[b])
        solver_x = update["x"][0]
        assert solver_x.count(None) == 4 and len(solver_x) == 4 * (k + 2)  # K + 1 points and a gap per path
    # Initial state equals what the sliders would set: width 1 visible, K = ks[2] data.
    assert [tr.visible is not False for tr in fig.data] == list(width_slider.steps[1].args[0]["visible"])
    assert list(fig.data[5].x) == k_slider.steps[2].args[0]["x"][1]
    assert fig.layout.modebar.orientation == "v"  # the toolbar stays off the legend along the top
    html_size = len(fig.to_json())
    assert html_size < 1_500_000
    json.loads(fig.to_json())  # valid JSON (no NaN)


def test_live_explorer_builds_headless():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from floq_lite import widgets

    ui = widgets.live_paths_explorer(kappas=(0.03, 0.3), ks=(1, 4))
    kappa_slider, k_slider = ui.children[0].children
    assert kappa_slider.value == 0.3 and k_slider.options[-1] == 4
    k_slider.value = 1  # triggers a redraw without a kernel
    fig = widgets.draw_explorer(0.03, 2, num_paths=3)
    assert "K=2" in fig.axes[0].get_title()


def test_both_explorers_print_the_same_numbers_for_the_same_setting():
    import matplotlib

    matplotlib.use("Agg")
    from floq_lite import widgets
    from floq_lite.plotting.paths import _cell_text

    grid = widgets.path_grid(kappas=(0.03, 0.3), ks=(2, 8))
    for a, kappa in enumerate(grid.kappas):
        for b, k in enumerate(grid.ks):
            title = widgets.draw_explorer(float(kappa), int(k)).axes[0].get_title()
            static = _cell_text(grid, a, b)
            assert title.split("RMS error ")[1] == static.split("RMS error ")[1], (title, static)
