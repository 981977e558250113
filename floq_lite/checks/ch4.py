"""Checks for the chapter 4 exercises (floq's design choices).

Each ``check`` compares the student's function with values computed independently here (the OGBench numbers of
the concordance table, :func:`floq_lite.networks.embeddings.hl_gauss_embed`, plain numpy sums) on inputs that
expose the usual slips, and names the slip when it recognises one. The ``reference_*`` functions are the solutions
printed in the book, verbatim.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from floq_lite.checks._core import call_student, diagnose, fail, passed
from floq_lite.networks.embeddings import hl_gauss_embed, hl_gauss_support

# --------------------------------------------------------------------------------------------------------------------
# Reference solutions (shown verbatim in the book's solution dropdowns)
# --------------------------------------------------------------------------------------------------------------------


def reference_noise_interval(r_min, r_max, discount, kappa):
    q_lo = r_min / (1 - discount)  # smallest possible return: r_min forever
    q_hi = r_max / (1 - discount)  # largest possible return: r_max forever
    return kappa * q_lo, kappa * q_hi  # floq scales both ends by kappa


def reference_hl_gauss_encode(z, q_min, q_max, num_bins=51, sigma=16.0):
    # (num_bins,)
    edges = q_min + jnp.arange(num_bins) * (q_max - q_min) / (num_bins - 1)
    std = sigma * (edges[1] - edges[0])  # sigma is measured in bin widths
    cdf = ndtr((edges[None, :] - z[:, None]) / std)  # (N, num_bins)
    # (N, num_bins - 1): mass of N(z, std^2) in each bin
    mass = cdf[:, 1:] - cdf[:, :-1]
    # renormalise by the mass inside the support
    return mass / (cdf[:, -1:] - cdf[:, :1])


def reference_floq_loss_terms(fm_sq_err, distill_sq_err, num_repeats):
    E, N = fm_sq_err.shape
    B = N // num_repeats
    fm = fm_sq_err.reshape(E, B, num_repeats)  # rows are interleaved: row b * R + r
    # (E, B): SUM over the R noise samples, plus the distillation error
    return fm.sum(axis=-1) + distill_sq_err


# --------------------------------------------------------------------------------------------------------------------
# Exercise 1: the noise interval
# --------------------------------------------------------------------------------------------------------------------

# (what, r_min, r_max, discount, kappa, expected [l, u]): the OGBench rows of the concordance table, plus one task
# with positive rewards so that a solution which hard-codes u = 0 is caught.
_INTERVAL_CASES = (
    ("antmaze-large", -1.0, 0.0, 0.99, 0.1, (-10.0, 0.0)),
    ("antmaze-giant", -1.0, 0.0, 0.995, 0.1, (-20.0, 0.0)),
    ("cube-double", -2.0, 0.0, 0.99, 0.1, (-20.0, 0.0)),
    ("puzzle-4x4, floq-best", -16.0, 0.0, 0.99, 0.25, (-400.0, 0.0)),
    ("a task with rewards in [-1, 2]", -1.0, 2.0, 0.9, 0.5, (-5.0, 10.0)),
)


def noise_interval(fn: Callable) -> bool:
    """Check ``fn(r_min, r_max, discount, kappa) -> (l, u)``."""
    for what, r_min, r_max, gamma, kappa, want in _INTERVAL_CASES:
        got = call_student(fn, "noise_interval", r_min, r_max, gamma, kappa)
        try:
            got = tuple(float(np.asarray(v)) for v in got)
        except (TypeError, ValueError):
            fail(f"noise_interval should return two numbers (l, u), got {got!r}.")
        if len(got) != 2:
            fail(f"noise_interval should return two numbers (l, u), got {len(got)}.")
        q = (r_min / (1 - gamma), r_max / (1 - gamma))
        mistakes = {
            "you forgot kappa: the interval is the kappa-fraction of the return range, not all of it.": q,
            "you multiplied by (1 - gamma); the largest |return| of a constant reward r is r / (1 - gamma).":
                (kappa * r_min * (1 - gamma), kappa * r_max * (1 - gamma)),
            "you forgot the 1 / (1 - gamma): the interval lives on the scale of returns, not of rewards.":
                (kappa * r_min, kappa * r_max),
            "u should be kappa * r_max / (1 - gamma); it is 0 only when r_max = 0 (as on OGBench).":
                (kappa * q[0], 0.0),
            "you took the top kappa-fraction measured down from u = q_max; the official code scales BOTH ends by "
            "kappa: [kappa * r_min, kappa * r_max] / (1 - gamma).": (q[1] - kappa * (q[1] - q[0]), q[1]),
        }
        diagnose(np.asarray(got), np.asarray(want), f"noise_interval for {what}",
                  {k: np.asarray(v) for k, v in mistakes.items()}, atol=1e-6)
    return passed("noise_interval", "antmaze-large gives [-10, 0], puzzle-4x4 with kappa = 0.25 gives [-400, 0].")


# --------------------------------------------------------------------------------------------------------------------
# Exercise 2: the HL-Gauss encoding of z
# --------------------------------------------------------------------------------------------------------------------

_HL_Q = (-101.0, 1.0)  # antmaze-large's support
_HL_Z = np.array([-95.0, -60.0, -33.3, -10.0, -2.5, 0.0, 0.9], dtype=np.float32)


def hl_gauss_encode(fn: Callable) -> bool:
    """Check ``fn(z (N,), q_min, q_max, num_bins, sigma) -> (N, num_bins - 1)`` for two sigmas and bin counts."""
    for num_bins, sigma in ((51, 16.0), (51, 2.0), (21, 4.0)):
        got = call_student(fn, "hl_gauss_encode", jnp.asarray(_HL_Z), *_HL_Q, num_bins, sigma)
        got = np.asarray(got, dtype=np.float64)
        support = hl_gauss_support(*_HL_Q, num_bins)
        want = np.asarray(hl_gauss_embed(jnp.asarray(_HL_Z)[:, None], support, sigma), dtype=np.float64)
        if got.shape == (len(_HL_Z), num_bins):
            fail(f"hl_gauss_encode returns {num_bins} numbers per z; {num_bins} support points bound "
                 f"{num_bins - 1} bins, so the encoding has {num_bins - 1} entries (cdf[1:] - cdf[:-1]).")
        width = (_HL_Q[1] - _HL_Q[0]) / (num_bins - 1)
        edges = np.asarray(support, dtype=np.float64)
        cdf_abs = np.asarray(ndtr((edges[None] - _HL_Z[:, None]) / sigma))
        cdf = np.asarray(ndtr((edges[None] - _HL_Z[:, None]) / (sigma * width)))
        mistakes = {
            "sigma is in units of the bin width: use sigma * (q_max - q_min) / (num_bins - 1) as the std.":
                (cdf_abs[:, 1:] - cdf_abs[:, :-1]) / (cdf_abs[:, -1:] - cdf_abs[:, :1]),
            "renormalise by the mass inside the support, (cdf[-1] - cdf[0]), so each row sums to 1.":
                cdf[:, 1:] - cdf[:, :-1],
        }
        diagnose(got, want, f"hl_gauss_encode (num_bins={num_bins}, sigma={sigma:g})", mistakes, atol=1e-5)
    return passed("hl_gauss_encode", "each row is a smooth bump of probabilities that sums to 1.")


# --------------------------------------------------------------------------------------------------------------------
# Exercise 3: the per-transition critic loss, summed over R
# --------------------------------------------------------------------------------------------------------------------


def floq_loss_terms(fn: Callable) -> bool:
    """Check ``fn(fm_sq_err (E, B*R), distill_sq_err (E, B), R) -> (E, B)``."""
    rng = np.random.default_rng(4)
    for E, B, R in ((2, 3, 4), (1, 5, 8), (2, 4, 1)):
        fm = rng.uniform(0.0, 3.0, (E, B * R)).astype(np.float32)
        fm[0, 0] = 10.0  # one large error so that orderings differ visibly
        dist = rng.uniform(0.0, 1.0, (E, B)).astype(np.float32)
        got = np.asarray(call_student(fn, "floq_loss_terms", jnp.asarray(fm), jnp.asarray(dist), R), dtype=np.float64)
        want = fm.reshape(E, B, R).sum(-1) + dist
        mistakes = {
            "you averaged over the R noise samples; floq SUMS them (the FM term is R times the per-sample MSE).":
                fm.reshape(E, B, R).mean(-1) + dist,
            "rows are interleaved, row b * R + r is (transition b, noise r): reshape to (E, B, R), not (E, R, B).":
                fm.reshape(E, R, B).sum(1) + dist,
            "you forgot the distillation term.": fm.reshape(E, B, R).sum(-1),
        }
        if got.shape != want.shape:
            fail(f"floq_loss_terms should return one loss per member and transition, shape {(E, B)}; got {got.shape}.")
        diagnose(got, want, f"floq_loss_terms (E={E}, B={B}, R={R})", mistakes, atol=1e-4)
    return passed("floq_loss_terms", "mean() of it is the official critic loss.")
