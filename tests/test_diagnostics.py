"""Plasticity diagnostics on constructed feature matrices with known answers."""

import numpy as np
import pytest

from floq_lite import diagnostics as dg


def test_srank_of_constructed_matrices():
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(200, 2)), rng.normal(size=(2, 32))
    assert dg.srank(u @ v) == 2  # rank 2, whatever the scale of the two directions
    assert dg.srank(rng.normal(size=(500, 16))) == 16  # full rank, singular values of similar size
    # One direction 1000x stronger than the other 15: it holds over 99% of the sum, so srank is 1.
    x = rng.normal(size=(500, 16)) * np.r_[1000.0, np.ones(15) * 0.1]
    assert dg.srank(x, delta=0.01) == 1 and dg.srank(x, delta=0.0) == 16
    assert dg.srank(np.zeros((10, 4))) == 0
    with pytest.raises(ValueError, match="matrix"):
        dg.srank(np.zeros(5))


def test_dormant_units():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 8))
    assert dg.dormant_fraction(x) == 0.0
    x[:, [2, 5]] = 0.0  # two units are zero on every input
    assert dg.dormant_fraction(x) == pytest.approx(2 / 8)
    x[:, 0] *= 1e-3  # a nearly silent unit: dormant at tau = 0.1, not at tau = 0
    assert dg.dormant_fraction(x, tau=0.1) == pytest.approx(3 / 8)
    assert dg.dormant_fraction(np.zeros((4, 3))) == 1.0


def test_feature_norm_scales_with_the_features():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 6))
    for c in (0.5, 3.0):
        assert dg.feature_norm(c * x) == pytest.approx(c * dg.feature_norm(x))
    assert dg.feature_norm(np.ones((3, 4))) == pytest.approx(2.0)  # ||(1, 1, 1, 1)|| = 2 for every row
