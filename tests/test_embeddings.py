"""HL-Gauss encoding of z, its support, min-max scaling and the time features."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import norm

from floq_lite.networks.embeddings import (
    hl_gauss_embed_matmul,
    hl_gauss_embed,
    hl_gauss_support,
    minmax_embed,
    q_range,
    time_embed_dim,
    time_features,
    z_embed_dim,
)


def test_support_endpoints_match_floq_antmaze_giant():
    q_min, q_max = q_range(r_min=-1.0, r_max=0.0, discount=0.995)  # offset 0.01
    np.testing.assert_allclose([q_min, q_max], [-202.0, 2.0], rtol=1e-6)
    s = hl_gauss_support(q_min, q_max, 51)
    assert s.shape == (51,)
    np.testing.assert_allclose([s[0], s[-1]], [-202.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(np.diff(s), 204.0 / 50, rtol=1e-5)


@pytest.mark.parametrize("z", [-150.0, -101.0, -37.3, 0.0, 1.0])
def test_hl_gauss_rows_sum_to_one_and_match_the_gaussian_cdf(z):
    s = hl_gauss_support(-101.0, 1.0)
    p = hl_gauss_embed(jnp.array([[z]]), s, sigma=16.0)[0]  # (50,)
    assert p.shape == (50,)
    np.testing.assert_allclose(float(p.sum()), 1.0, atol=1e-5)
    assert float(p.min()) >= 0.0
    cdf = norm.cdf((s - z) / (16.0 * (s[1] - s[0])))
    np.testing.assert_allclose(p, np.diff(cdf) / (cdf[-1] - cdf[0]), atol=1e-6)


def test_hl_gauss_peaks_at_the_bin_containing_z():
    s = hl_gauss_support(0.0, 50.0)  # unit-width bins [k, k+1]
    z = jnp.array([[10.5], [30.2], [44.9]])
    p = hl_gauss_embed(z, s, sigma=2.0)  # narrow enough that the peak is unambiguous
    np.testing.assert_array_equal(np.argmax(p, axis=-1), [10, 30, 44])


def test_hl_gauss_is_finite_far_outside_the_support():
    s = hl_gauss_support(-101.0, 1.0)
    p = hl_gauss_embed(jnp.array([[-1e6], [-900.0], [2e3], [1e6]]), s)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    assert int(np.argmax(p[0])) == 0 and int(np.argmax(p[-1])) == 49


def test_hl_gauss_rejects_missing_trailing_axis():
    with pytest.raises(ValueError, match=r"\(\.\.\., 1\)"):
        hl_gauss_embed(jnp.zeros((3,)), hl_gauss_support(-1.0, 1.0))


def test_minmax_and_dims():
    np.testing.assert_allclose(minmax_embed(jnp.array([[-101.0], [1.0]]), -101.0, 1.0)[:, 0], [0.0, 1.0])
    assert z_embed_dim("hl_gauss", 51) == 50 and z_embed_dim("minmax") == 1
    assert time_embed_dim("cos") == 1 and time_embed_dim("raw") == 1 and time_embed_dim("fourier", 64) == 64
    with pytest.raises(ValueError, match="hl_gauss, minmax"):
        z_embed_dim("gauss")


def test_time_features_values():
    t = jnp.array([[0.0], [0.25], [0.5]])
    np.testing.assert_allclose(time_features(t, "cos")[:, 0], np.cos([0.0, 0.25, 0.5]), rtol=1e-6)
    np.testing.assert_allclose(time_features(t, "raw"), t)
    f = time_features(t, "fourier", 64)
    assert f.shape == (3, 64)
    k = np.arange(1, 65)
    np.testing.assert_allclose(f[1], np.cos(k * np.pi * 0.25), atol=1e-5)
    np.testing.assert_allclose(f[0], 1.0)
    with pytest.raises(ValueError, match="cos, fourier, raw"):
        time_features(t, "sin")


def test_hl_gauss_matmul_equals_the_histogram_times_the_kernel():
    """The integration loop's product (differenced kernel, no histogram) against the straightforward
    hl_gauss_embed(z) @ W, per member, in value and in its gradient with respect to W; z inside the support, near
    its ends, and so far outside that the one-hot fallback applies."""
    support = hl_gauss_support(-100.0, 0.0, 51)
    z = jnp.array([-150.0, -101.0, -99.0, -73.2, -50.0, -0.5, 1.0, 40.0, 1e4, -1e4]).reshape(2, 5, 1)  # (L, N, 1)
    kernel = jax.random.normal(jax.random.PRNGKey(0), (2, 50, 8))  # (L, M, H)
    matmul = lambda x, k: jnp.einsum("lnd,ldh->lnh", x, k)  # noqa: E731

    def straight(k):
        return matmul(hl_gauss_embed(z, support, 16.0), k)

    def fast(k):
        return hl_gauss_embed_matmul(z, support, 16.0, k, matmul)

    np.testing.assert_allclose(fast(kernel), straight(kernel), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(fast(kernel)[1, 3:], kernel[1, [-1, 0]], rtol=1e-6)  # far above, far below
    cot = jax.random.normal(jax.random.PRNGKey(1), (2, 5, 8))
    grad = lambda f: jax.grad(lambda k: jnp.sum(f(k) * cot))(kernel)  # noqa: E731
    np.testing.assert_allclose(grad(fast), grad(straight), rtol=1e-5, atol=2e-6)
