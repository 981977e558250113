"""Checks for the chapter 2 exercises (curved paths and the number of steps).

Each check compares the student's function with values computed here on inputs that expose the usual slips and
names the slip when it recognises one. The ``reference_*`` functions are the solutions printed in the book, verbatim.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from floq_lite.checks._core import call_student, expect_close, expect_shape, fail, passed
from floq_lite.flow import exact

# --------------------------------------------------------------------------------------------------------------------
# Reference solutions (shown verbatim in the book's solution dropdowns)
# --------------------------------------------------------------------------------------------------------------------


def reference_first_step_velocity(z, means, weights):
    mean_target = np.sum(np.asarray(weights) * np.asarray(means)) / np.sum(weights)
    # at t = 0 the point z is the noise itself and says nothing about x1
    return mean_target - z


def reference_straightness(zs):
    n = zs.shape[0] - 1
    # average velocity on each of the n segments
    segment_velocity = n * (zs[1:] - zs[:-1])
    chord_velocity = zs[-1] - zs[0]  # the straight line's constant velocity
    return np.mean((segment_velocity - chord_velocity) ** 2, axis=0)


def reference_empirical_order(ks, errors):
    slope, _ = np.polyfit(np.log(ks), np.log(errors), 1)
    return -slope  # error ~ C * K**(-p): the slope of log error against log K is -p


# --------------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------------


def _same(got, want, atol: float = 1e-6) -> bool:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return got.shape == want.shape and bool(np.all(np.isfinite(got))) and np.allclose(got, want, atol=atol, rtol=1e-6)


# --------------------------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------------------------


def first_step_velocity(fn: Callable) -> bool:
    """``fn(z, means, weights)``: the exact marginal velocity at ``t = 0`` for a mixture target, shape of ``z``."""
    means, weights = np.array([-60.0, -45.0, -30.0]), np.array([1.0, 1.0, 3.0])  # weighted mean != plain mean
    z = np.linspace(-9.5, -0.5, 7)  # inside the noise interval (its end points are a degenerate limit at t = 0)
    got = expect_shape("first_step_velocity(z, means, weights)", call_student(fn, "first_step_velocity", z, means, weights), z.shape)
    source = exact.Uniform(-10.0, 0.0)
    target = exact.GaussianMixture(tuple(means), (3.0, 3.0, 3.0), tuple(weights))
    want = np.asarray(exact.marginal_velocity(source, target, 0.0, z), dtype=np.float64)  # the closed form
    if _same(got, np.full_like(z, np.sum(weights * means) / weights.sum()), 1e-3):
        fail("first_step_velocity returns the mean target E[x1]; the velocity is where to go minus where you are.")
    if _same(got, means.mean() - z, 1e-3):
        fail("first_step_velocity uses the unweighted mean of the component means; weight each by its probability.")
    if _same(got, z - np.sum(weights * means) / weights.sum(), 1e-3):
        fail("first_step_velocity has the wrong sign: the velocity points from z towards the targets, E[x1] - z.")
    expect_close("first_step_velocity", got, want, atol=2e-3, rtol=1e-4,
                 hint="at t = 0, z_t = z0 exactly, so E[x1 - z0 | z_0 = z] = E[x1] - z.")
    return passed("first_step_velocity", "One Euler step from any noise lands on the mean target E[x1].")


def straightness(fn: Callable) -> bool:
    """``fn(zs)`` with ``zs`` of shape ``(N + 1, P)``: the straightness of each of the P paths, shape ``(P,)``."""
    t = np.linspace(0.0, 1.0, 9)[:, None]
    z0, z1 = np.array([0.0, -1.0, 2.0]), np.array([-3.0, 1.0, 2.5])
    straight = (1 - t) * z0 + t * z1  # (9, 3)
    bent = straight + np.array([0.0, 1.5, -0.7]) * np.sin(np.pi * t)  # same end points, bent in the middle
    got_straight = expect_shape("straightness(straight_paths)", call_student(fn, "straightness", straight), (3,))
    if np.any(np.abs(got_straight) > 1e-9):
        fail("straightness is not 0 for straight lines: compare each segment's velocity with the chord velocity "
             "zs[-1] - zs[0] (not with zero, and not with the first segment).")
    got = expect_shape("straightness(bent_paths)", call_student(fn, "straightness", bent), (3,))
    want = reference_straightness(bent)
    n = bent.shape[0] - 1
    seg = bent[1:] - bent[:-1]
    if _same(got, np.mean((seg - (bent[-1] - bent[0]) / n) ** 2, axis=0)):
        fail("straightness compares displacements, not velocities: multiply each segment by N (divide by dt = 1/N).")
    if _same(got, np.mean(np.abs(n * seg - (bent[-1] - bent[0])), axis=0)):
        fail("straightness uses absolute deviations; the measure squares them.")
    if _same(got, np.sum((n * seg - (bent[-1] - bent[0])) ** 2, axis=0)):
        fail("straightness sums over the segments; average them (divide by N) so that it does not grow with N.")
    expect_close("straightness", got, want, atol=1e-6, hint="mean over segments of (N (z_{i+1} - z_i) - (z_N - z_0))**2.")
    return passed("straightness")


def empirical_order(fn: Callable) -> bool:
    """``fn(ks, errors)``: the order p of ``errors ~ C ks^-p`` fitted by least squares in log-log."""
    ks = np.array([2.0, 4.0, 8.0, 16.0, 32.0])
    errors = 3.0 * ks**-2.0 * np.array([1.1, 0.95, 1.05, 0.9, 1.0])  # second order with some wobble
    got = float(np.asarray(call_student(fn, "empirical_order", ks, errors)))
    want = reference_empirical_order(ks, errors)
    if abs(got + want) < 1e-6:
        fail(f"empirical_order returns {got:.3f}: that is the slope; the order is minus the slope (errors fall as K grows).")
    two_point = -np.log(errors[-1] / errors[0]) / np.log(ks[-1] / ks[0])
    if abs(got - two_point) < 1e-6 and abs(two_point - want) > 1e-6:
        fail("empirical_order uses only the first and last points; fit a line through all of them (np.polyfit).")
    if abs(got - want) > 1e-6:
        fail(f"empirical_order returns {got:.4f}, expected {want:.4f}: fit log(errors) against log(ks) with a line.")
    return passed("empirical_order", f"p = {got:.2f} on second-order data.")
