"""Checks for the chapter 1 exercises (flow matching in one dimension).

Each ``check`` compares the student's function with values computed independently here (plain numpy formulas, or
:func:`floq_lite.flow.integrate` for the sampler) on inputs that expose the usual slips, and names the slip when
it recognises one. The ``reference_*`` functions are the solutions printed in the book, verbatim.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from floq_lite.checks._core import call_student, diagnose, expect_shape, fail, matches, passed
from floq_lite.flow import integrate

# --------------------------------------------------------------------------------------------------------------------
# Reference solutions (shown verbatim in the book's solution dropdowns)
# --------------------------------------------------------------------------------------------------------------------


def reference_interpolant_and_velocity(z0, x1, t):
    z_t = (1 - t) * z0 + t * x1  # noise at t = 0, target at t = 1
    u_t = x1 - z0  # constant along the straight line
    return z_t, u_t


def reference_cfm_loss(velocity_fn, z0, x1, t):
    z_t = (1 - t) * z0 + t * x1
    target = x1 - z0
    prediction = velocity_fn(t, z_t)  # the network sees the point on the path, not z0
    return jnp.mean((prediction - target) ** 2)


def reference_euler_sample(velocity_fn, z0, num_steps):
    h = 1.0 / num_steps
    z = z0
    for i in range(num_steps):
        t = i * h  # left end-point of step i: 0, 1/K, ..., (K-1)/K
        z = z + h * velocity_fn(t, z)
    return z


# Inputs: times include both end-points, so swapped end-points and a wrong sign cannot hide.
_Z0 = np.array([[-1.2], [0.3], [2.0], [0.7], [-0.4], [1.5]], dtype=np.float32)  # (6, 1)
_X1 = np.array([[2.5], [-1.0], [2.2], [-3.1], [0.9], [0.6]], dtype=np.float32)  # (6, 1)
_T = np.array([[0.0], [1.0], [0.25], [0.5], [0.8], [0.1]], dtype=np.float32)  # (6, 1)


# --------------------------------------------------------------------------------------------------------------------
# Exercise 1: interpolant and conditional velocity
# --------------------------------------------------------------------------------------------------------------------


def interpolant_and_velocity(fn: Callable) -> bool:
    """Check ``fn(z0, x1, t) -> (z_t, u_t)`` for the straight path with noise at t=0 and target at t=1."""
    name = "interpolant_and_velocity"
    out = call_student(fn, name, jnp.asarray(_Z0), jnp.asarray(_X1), jnp.asarray(_T))
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"{name} should return a pair (z_t, u_t), got {type(out).__name__}.")
    z_t = expect_shape("z_t", out[0], _Z0.shape)
    u_t = expect_shape("u_t", out[1], _Z0.shape)
    diagnose(
        z_t,
        (1 - _T) * _Z0 + _T * _X1,
        "z_t",
        {
            "the end-points are swapped: at t = 0 the path must sit at the noise z0, at t = 1 at the target x1.": (
                _T * _Z0 + (1 - _T) * _X1
            ),
            "z_t ignores t: it should move from z0 to x1 as t grows, (1 - t) * z0 + t * x1.": 0.5 * (_Z0 + _X1),
        },
    )
    diagnose(
        u_t,
        _X1 - _Z0,
        "u_t",
        {
            "the velocity has the wrong sign: it points from the noise to the target, x1 - z0.": _Z0 - _X1,
            "u_t should not depend on t: along a straight line the velocity is constant, x1 - z0.": _T * (_X1 - _Z0),
            "u_t should be the difference x1 - z0, not the target itself.": _X1,
        },
    )
    return passed(name)


# --------------------------------------------------------------------------------------------------------------------
# Exercise 2: the conditional flow-matching loss
# --------------------------------------------------------------------------------------------------------------------


def _probe_field(t, z):
    """A field that depends on both t and z, so evaluating it at the wrong place shows."""
    return jnp.sin(2.0 * z) + 3.0 * t - 0.5


def cfm_loss(fn: Callable) -> bool:
    """Check ``fn(velocity_fn, z0, x1, t) -> scalar`` against the mean squared conditional-velocity error."""
    name = "cfm_loss"
    rng = np.random.default_rng(1)
    z0 = rng.normal(size=(64, 1)).astype(np.float32)  # (B, 1)
    x1 = (rng.normal(size=(64, 1)) * 0.5 + 2.0).astype(np.float32)
    t = rng.uniform(size=(64, 1)).astype(np.float32)
    out = call_student(fn, name, _probe_field, jnp.asarray(z0), jnp.asarray(x1), jnp.asarray(t))
    loss = expect_shape("the loss", out, ())

    def mse_at(z, target, reduce=np.mean):
        return reduce((np.sin(2.0 * z) + 3.0 * t - 0.5 - target) ** 2)

    z_t = (1 - t) * z0 + t * x1
    want = mse_at(z_t, x1 - z0)
    diagnose(
        loss,
        want,
        "the loss",
        {
            "it sums over the batch; average instead (jnp.mean), so the loss does not grow with the batch size.": (
                mse_at(z_t, x1 - z0, np.sum)
            ),
            "the field is evaluated at the noise z0; evaluate it at the point on the path, z_t.": mse_at(z0, x1 - z0),
            "the field is evaluated at the target x1; evaluate it at the point on the path, z_t.": mse_at(x1, x1 - z0),
            "the end-points of the interpolant are swapped: z_t = (1 - t) * z0 + t * x1.": mse_at(
                t * z0 + (1 - t) * x1, x1 - z0
            ),
            "the regression target has the wrong sign: it is x1 - z0.": mse_at(z_t, z0 - x1),
            "the regression target is x1 - z0, the velocity, not the target x1.": mse_at(z_t, x1),
            "that is the root of the mean squared error; drop the square root.": np.sqrt(want),
        },
        atol=1e-3,
    )
    return passed(name, f"(loss {float(loss):.4f} on the probe batch)")


# --------------------------------------------------------------------------------------------------------------------
# Exercise 3: Euler sampling with left end-point times
# --------------------------------------------------------------------------------------------------------------------


def _probe_velocity(t, z):
    """Depends on t and z, and is smooth everywhere, so a shifted time grid changes the answer."""
    return jnp.cos(3.0 * t) - t * z


def _euler_variant(z0: np.ndarray, num_steps: int, times: np.ndarray, h: float) -> np.ndarray:
    z = np.asarray(z0, dtype=np.float64)
    for t in times:
        z = z + h * (np.cos(3.0 * t) - t * z)
    return z


def euler_sample(fn: Callable) -> bool:
    """Check ``fn(velocity_fn, z0, num_steps) -> z1`` against ``floq_lite.flow.integrate(..., "euler")``."""
    name = "euler_sample"
    z0 = np.linspace(-2.0, 2.0, 7, dtype=np.float32)  # (7,)
    for k in (1, 3, 10):
        label = f"euler_sample(..., num_steps={k})"
        got = expect_shape(label, call_student(fn, name, _probe_velocity, jnp.asarray(z0), k), z0.shape)
        want = np.asarray(integrate(_probe_velocity, jnp.asarray(z0), k, "euler"))
        i = np.arange(k)
        mistakes = {
            "it uses right end-point times t = (i + 1) / K; floq's Euler evaluates the field at the start of each "
            "step, t_i = i / K, and never at t = 1.": _euler_variant(z0, k, (i + 1) / k, 1.0 / k),
            "it evaluates at t_i = i / (K - 1) (e.g. from linspace(0, 1, K)), which reaches t = 1; use t_i = i / K.": (
                _euler_variant(z0, k, i / max(k - 1, 1), 1.0 / k)
            ),
            "it takes K - 1 steps; a range over num_steps gives exactly K.": _euler_variant(z0, k, i[:-1] / k, 1.0 / k),
            "it takes K + 1 steps; a range over num_steps gives exactly K.": _euler_variant(
                z0, k, np.arange(k + 1) / k, 1.0 / k
            ),
            "it keeps t = 0 in every step; the time must advance, t_i = i / K.": _euler_variant(
                z0, k, np.zeros(k), 1.0 / k
            ),
        }
        diagnose(got, want, label, mistakes, atol=1e-4)
    # The ideal field towards one point: left-end-point Euler lands on it exactly, for any K.
    for k in (1, 4):
        got = np.asarray(call_student(fn, name, lambda t, z: (1.5 - z) / (1.0 - t), jnp.asarray(z0), k))
        if not matches(got, np.full_like(z0, 1.5), atol=1e-4):
            fail(
                f"{name}: with the field v = (1.5 - z) / (1 - t) every start should land on 1.5 after {k} step(s), "
                f"but it gives {np.round(got, 4)}. Check the time grid t_i = i / K and the step size 1 / K."
            )
    return passed(name)


__all__ = [
    "cfm_loss",
    "euler_sample",
    "interpolant_and_velocity",
    "reference_cfm_loss",
    "reference_euler_sample",
    "reference_interpolant_and_velocity",
]
