"""The chapter 4 exercise checks accept the reference solutions, reject typical mistakes with a message that names
the mistake, and the notebook shows the reference solutions verbatim in the four-cell exercise pattern."""

from __future__ import annotations


import jax.numpy as jnp
import pytest
from jax.scipy.special import ndtr

from floq_lite.checks import CheckFailed, ch4



# --- exercise 1: noise interval -------------------------------------------------------------------------------------

INTERVAL_MISTAKES = {
    "no kappa": (lambda r0, r1, g, k: (r0 / (1 - g), r1 / (1 - g)), "forgot kappa"),
    "times (1 - gamma)": (lambda r0, r1, g, k: (k * r0 * (1 - g), k * r1 * (1 - g)), "multiplied by"),
    "reward scale": (lambda r0, r1, g, k: (k * r0, k * r1), "forgot the 1 / \\(1 - gamma\\)"),
    "u hard-coded to 0": (lambda r0, r1, g, k: (k * r0 / (1 - g), 0.0), "0 only when r_max = 0"),
    "top fraction from q_max": (
        lambda r0, r1, g, k: (r1 / (1 - g) - k * (r1 - r0) / (1 - g), r1 / (1 - g)), "scales BOTH ends"),
}


@pytest.mark.parametrize("mistake", sorted(INTERVAL_MISTAKES))
def test_noise_interval_mistakes_are_named(mistake):
    fn, message = INTERVAL_MISTAKES[mistake]
    with pytest.raises(CheckFailed, match=message):
        ch4.noise_interval(fn)


def test_noise_interval_rejects_wrong_output_kind():
    with pytest.raises(CheckFailed, match="two numbers"):
        ch4.noise_interval(lambda r0, r1, g, k: (1.0, 2.0, 3.0))


# --- exercise 2: HL-Gauss encoding ----------------------------------------------------------------------------------


def _absolute_sigma(z, q_min, q_max, num_bins=51, sigma=16.0):
    edges = q_min + jnp.arange(num_bins) * (q_max - q_min) / (num_bins - 1)
    cdf = ndtr((edges[None, :] - z[:, None]) / sigma)
    return (cdf[:, 1:] - cdf[:, :-1]) / (cdf[:, -1:] - cdf[:, :1])


def _not_renormalised(z, q_min, q_max, num_bins=51, sigma=16.0):
    edges = q_min + jnp.arange(num_bins) * (q_max - q_min) / (num_bins - 1)
    cdf = ndtr((edges[None, :] - z[:, None]) / (sigma * (edges[1] - edges[0])))
    return cdf[:, 1:] - cdf[:, :-1]


def _one_bin_too_many(z, q_min, q_max, num_bins=51, sigma=16.0):
    return jnp.concatenate([ch4.reference_hl_gauss_encode(z, q_min, q_max, num_bins, sigma), 0 * z[:, None]], -1)


HL_MISTAKES = {
    "sigma in return units": (_absolute_sigma, "units of the bin width"),
    "not renormalised": (_not_renormalised, "renormalise"),
    "num_bins outputs": (_one_bin_too_many, "bins"),
}


@pytest.mark.parametrize("mistake", sorted(HL_MISTAKES))
def test_hl_gauss_mistakes_are_named(mistake):
    fn, message = HL_MISTAKES[mistake]
    with pytest.raises(CheckFailed, match=message):
        ch4.hl_gauss_encode(fn)


# --- exercise 3: per-transition loss ---------------------------------------------------------------------------------

LOSS_MISTAKES = {
    "mean over R": (lambda fm, d, R: fm.reshape(fm.shape[0], -1, R).mean(-1) + d, "floq SUMS"),
    "wrong layout": (lambda fm, d, R: fm.reshape(fm.shape[0], R, -1).sum(1) + d, "interleaved"),
    "no distillation": (lambda fm, d, R: fm.reshape(fm.shape[0], -1, R).sum(-1), "distillation"),
    "scalar": (lambda fm, d, R: (fm.reshape(fm.shape[0], -1, R).sum(-1) + d).mean(), "one loss per member"),
}


@pytest.mark.parametrize("mistake", sorted(LOSS_MISTAKES))
def test_loss_mistakes_are_named(mistake):
    fn, message = LOSS_MISTAKES[mistake]
    with pytest.raises(CheckFailed, match=message):
        ch4.floq_loss_terms(fn)
