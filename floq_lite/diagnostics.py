"""Plasticity diagnostics of a critic's features (chapter 8), as pure functions of a feature matrix.

``features`` is ``(N, H)``: the activations of one layer on ``N`` inputs (a batch of state-action pairs, or, for a
flow critic, of ``(s, a, z_t, t)`` rows).

* :func:`srank`: the effective rank of Kumar et al. (2021, "Implicit under-parameterization"): the number of singular
  values needed to hold ``1 - delta`` of their sum. A collapsing srank means the features span fewer directions.
* :func:`dormant_fraction`: Sokar et al. (2023, "The dormant neuron phenomenon"): a unit is ``tau``-dormant when its
  mean absolute activation is at most ``tau`` times the layer's average; ``tau = 0`` counts units that are exactly
  zero on every input.
* :func:`feature_norm`: the mean over inputs of the L2 norm of the feature vector (the follow-up paper tracks it per
  integration time ``t``).
"""

from __future__ import annotations

import numpy as np


def _matrix(features) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be a matrix (N inputs, H units), got shape {x.shape}.")
    return x


def srank(features, delta: float = 0.01) -> int:
    """Effective rank: the smallest ``k`` with ``sum_{i<=k} sigma_i >= (1 - delta) sum_i sigma_i`` (0 for zero
    features)."""
    return srank_from_singular_values(np.linalg.svd(_matrix(features), compute_uv=False), delta)


def srank_from_singular_values(singular_values, delta: float = 0.01) -> int:
    """:func:`srank` from the singular values of the feature matrix (any order)."""
    s = np.sort(np.asarray(singular_values, dtype=np.float64))[::-1]
    total = s.sum()
    if total <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(s) / total, 1.0 - delta - 1e-12) + 1)


def dormant_fraction(features, tau: float = 0.0) -> float:
    """Fraction of units whose mean ``|activation|`` is ``<= tau`` times the mean over the layer's units."""
    return dormant_from_activity(np.abs(_matrix(features)).mean(axis=0), tau)


def dormant_from_activity(mean_abs, tau: float = 0.0) -> float:
    """:func:`dormant_fraction` from each unit's mean ``|activation|`` over the inputs, ``(H,)``."""
    x = np.asarray(mean_abs, dtype=np.float64)
    scale = x.mean()
    if scale <= 0:
        return 1.0
    return float(np.mean(x / scale <= tau + 1e-12))


def feature_norm(features) -> float:
    """Mean over inputs of ``||phi(x)||_2``."""
    return float(np.linalg.norm(_matrix(features), axis=1).mean())


__all__ = ["dormant_fraction", "dormant_from_activity", "feature_norm", "srank", "srank_from_singular_values"]
