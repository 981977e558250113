"""Checks for the chapter 8 exercises (plastic features).

Each ``check`` compares the student's function with values computed independently here, on inputs that expose the
usual slips, and names the slip when it recognises one. The ``reference_*`` functions are the solutions printed in
the book, verbatim.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from floq_lite.checks._core import call_student, diagnose, expect_shape, fail, passed

# --------------------------------------------------------------------------------------------------------------------
# Reference solutions (shown verbatim in the book's solution dropdowns)
# --------------------------------------------------------------------------------------------------------------------


def reference_srank(features, delta=0.01):
    s = np.linalg.svd(features, compute_uv=False)  # singular values, largest first
    share = np.cumsum(s) / s.sum()  # fraction of the total held by the k largest
    # the first k that holds 1 - delta of it
    return int(np.argmax(share >= 1.0 - delta) + 1)


def reference_dormant_fraction(features, tau=0.1):
    # (H,): each unit's mean |activation| over the inputs
    activity = np.abs(features).mean(axis=0)
    # below tau times the layer's average
    return float(np.mean(activity <= tau * activity.mean()))


def reference_frozen_target(online, target, head, tau):
    ema = tau * online + (1.0 - tau) * target  # the usual Polyak step
    # the head follows its EMA; the features are the frozen online ones
    return np.where(head, ema, online)


# --------------------------------------------------------------------------------------------------------------------
# Exercise 1: effective rank
# --------------------------------------------------------------------------------------------------------------------


def srank(fn: Callable) -> bool:
    """Check ``fn(features (N, H), delta=0.01) -> int``."""
    rng = np.random.default_rng(3)
    cases = {
        "rank 2": rng.normal(size=(80, 2)) @ rng.normal(size=(2, 12)),
        "one strong direction": rng.normal(size=(200, 10)) * np.r_[200.0, np.ones(9)],
        "full rank": rng.normal(size=(300, 8)),
    }
    want = {k: _srank(x, 0.01) for k, x in cases.items()}
    for name, x in cases.items():
        got = call_student(fn, "srank", x)
        try:
            got = int(got)
        except (TypeError, ValueError):
            fail(f"srank should return an integer, got {got!r}.")
        if got != want[name]:
            if got == np.linalg.matrix_rank(x) and got != want[name]:
                fail(f"srank on the '{name}' matrix: you returned the algebraic rank ({got}); srank counts the "
                     f"singular values needed for 99% of their SUM, here {want[name]}.")
            if got == want[name] - 1:
                fail(f"srank on the '{name}' matrix is off by one ({got} vs {want[name]}): k counts singular values, "
                     "so the first one is k = 1.")
            fail(f"srank on the '{name}' matrix: you return {got}, expected {want[name]}.")
    return passed("srank", f"rank-2 features have srank {want['rank 2']}; 8 independent directions of similar size "
                           f"have srank {want['full rank']}.")


def _srank(x, delta):
    s = np.linalg.svd(np.asarray(x, np.float64), compute_uv=False)
    k = 0
    while s[:k].sum() < (1 - delta) * s.sum() - 1e-12:
        k += 1
    return k


# --------------------------------------------------------------------------------------------------------------------
# Exercise 2: dormant units
# --------------------------------------------------------------------------------------------------------------------


def dormant_fraction(fn: Callable) -> bool:
    """Check ``fn(features (N, H), tau=0.1) -> float``."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 10))
    x[:, 1] = 0.0  # never active
    x[:, 4] *= 0.01  # nearly silent
    x[:, 7] = -np.abs(x[:, 7]) * 3  # very active, but negative: |.| matters
    got = call_student(fn, "dormant_fraction", x)
    try:
        got = float(got)
    except (TypeError, ValueError):
        fail(f"dormant_fraction should return one number, got {got!r}.")
    act = np.abs(x).mean(0)
    mistakes = {
        "you compared the mean activation, not the mean ABSOLUTE activation (a negative unit is active).":
            float(np.mean(x.mean(0) <= 0.1 * x.mean(0).mean())),
        "you returned the number of dormant units; return their fraction.": float((act <= 0.1 * act.mean()).sum()),
        "compare with tau times the layer's AVERAGE activity, not with tau itself.": float(np.mean(act <= 0.1)),
    }
    diagnose(np.asarray(got), np.asarray(float(np.mean(act <= 0.1 * act.mean()))), "dormant_fraction", mistakes)
    return passed("dormant_fraction", "2 of these 10 units are dormant: 0.2.")


# --------------------------------------------------------------------------------------------------------------------
# Exercise 3: the target after the freeze
# --------------------------------------------------------------------------------------------------------------------


def frozen_target(fn: Callable) -> bool:
    """Check ``fn(online (P,), target (P,), head (P,) bool, tau) -> (P,)``."""
    rng = np.random.default_rng(5)
    online, target = rng.normal(size=12), rng.normal(size=12)
    head = np.arange(12) >= 8
    tau = 0.05
    got = expect_shape("frozen_target(...)", call_student(fn, "frozen_target", online, target, head, tau), (12,))
    ema = tau * online + (1 - tau) * target
    want = np.where(head, ema, online)
    mistakes = {
        "the features of the target should be the frozen ONLINE features, not the old target's.":
            np.where(head, ema, target),
        "you EMA-updated every parameter; after the freeze only the head's target moves.": ema,
        "head and features are swapped: the head (mask True) follows the EMA.": np.where(head, online, ema),
        "the EMA is tau * online + (1 - tau) * target, not the other way round.":
            np.where(head, (1 - tau) * online + tau * target, online),
    }
    diagnose(got, want, "frozen_target", mistakes)
    return passed("frozen_target", "the TD target now reads the frozen features through the EMA head.")


__all__ = ["dormant_fraction", "frozen_target", "reference_dormant_fraction", "reference_frozen_target",
           "reference_srank", "srank"]
