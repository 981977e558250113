"""Fixed-step ODE solvers for dz/dt = v(t, z) on t in [0, 1], written with ``lax`` loops so they jit.

floq integrates its critic with K left-end-point Euler steps, ``t_i = i / K`` for ``i = 0..K-1``
(the official code's grid; the paper writes right end-points). Midpoint and RK4 are here for comparison
in chapter 2: same number of steps, more field evaluations per step (1, 2, 4).

``num_steps`` is a Python int (it sets the loop length, so changing it recompiles).

:func:`integrate_final` is not an ODE solver: it runs the same grid with a network that predicts the *end point*
``x1`` instead of the velocity (the follow-up paper's "predict the final value" ablation, chapter 8).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from floq_lite.flow.paths import Array, VelocityField

Method = Literal["euler", "midpoint", "rk4"]
METHODS: tuple[Method, ...] = ("euler", "midpoint", "rk4")
# Field evaluations per step, for cost-matched comparisons.
EVALS_PER_STEP: dict[str, int] = {"euler": 1, "midpoint": 2, "rk4": 4}


def step_function(field: VelocityField, method: Method):
    """One step of ``method`` as ``step(t, z, h) -> z_next`` (``h`` the step size), for loops written elsewhere."""

    def euler(t, z, h):
        return z + h * field(t, z)

    def midpoint(t, z, h):
        z_half = z + 0.5 * h * field(t, z)
        return z + h * field(t + 0.5 * h, z_half)

    def rk4(t, z, h):
        k1 = field(t, z)
        k2 = field(t + 0.5 * h, z + 0.5 * h * k1)
        k3 = field(t + 0.5 * h, z + 0.5 * h * k2)
        k4 = field(t + h, z + h * k3)
        return z + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    steps = {"euler": euler, "midpoint": midpoint, "rk4": rk4}
    if method not in steps:
        raise ValueError(f"Unknown ODE method {method!r}; choose one of {', '.join(METHODS)}.")
    return steps[method]


def _check_steps(num_steps: int) -> None:
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive Python int (the number of integration steps K), got {num_steps!r}.")


def integrate(field: VelocityField, z0: Array, num_steps: int, method: Method = "euler") -> Array:
    """Integrate ``z`` from ``t = 0`` to ``t = 1`` in ``num_steps`` equal steps.

    Args:
      field: ``v(t, z)``; ``t`` arrives as a scalar array, ``z`` with the shape of ``z0``.
      z0: start points (noise), any shape, e.g. ``(B, 1)`` or ``(E, B*R, 1)``.
      num_steps: K, the number of steps (step size ``1/K``).
      method: ``"euler"`` (floq's solver), ``"midpoint"`` or ``"rk4"``.
    Returns:
      ``z`` at ``t = 1``, shape of ``z0``.
    """
    _check_steps(num_steps)
    step = step_function(field, method)
    h = 1.0 / num_steps

    def body(i, z):
        t = jnp.asarray(i, dtype=z.dtype) * h  # left end-point: t_i = i / K
        return step(t, z, h)

    return jax.lax.fori_loop(0, num_steps, body, z0)


def integrate_final(predict: VelocityField, z0: Array, num_steps: int) -> Array:
    """The iteration of a network trained to predict the end point ``x1`` of the straight path through ``(t, z)``:
    ``z_{i+1} = (1 - t_{i+1}) z0 + t_{i+1} predict(t_i, z_i)`` on the grid ``t_i = i / K``.

    Each ``z_i`` lies on the straight line from ``z0`` to the latest prediction, as the training interpolants
    ``(1 - t) x0 + t x1`` do, and ``z_K`` is the last prediction. A predictor that returns the same ``x1`` everywhere
    walks the interpolants of ``z0 -> x1`` exactly.

    Args:
      predict: ``x1_hat(t, z)``, called like a velocity field.
      z0: start points (noise), any shape.  num_steps: ``K``.
    Returns:
      ``z_K``, shape of ``z0``.
    """
    _check_steps(num_steps)
    h = 1.0 / num_steps

    def body(i, z):
        t = jnp.asarray(i, dtype=z.dtype) * h
        t_next = t + h
        return (1.0 - t_next) * z0 + t_next * predict(t, z)

    return jax.lax.fori_loop(0, num_steps, body, z0)


def trajectory(field: VelocityField, z0: Array, num_steps: int, method: Method = "euler") -> tuple[Array, Array]:
    """Like :func:`integrate` but keeps every intermediate state.

    Returns:
      ``(ts, zs)`` with ``ts`` of shape ``(K + 1,)`` = ``0, 1/K, ..., 1`` and ``zs`` of shape ``(K + 1, *z0.shape)``,
      ``zs[0] == z0`` and ``zs[-1] == integrate(field, z0, K, method)``.
    """
    _check_steps(num_steps)
    step = step_function(field, method)
    h = 1.0 / num_steps

    def body(z, i):
        t = jnp.asarray(i, dtype=z.dtype) * h
        z_next = step(t, z, h)
        return z_next, z_next

    _, zs = jax.lax.scan(body, z0, jnp.arange(num_steps))
    ts = jnp.linspace(0.0, 1.0, num_steps + 1, dtype=z0.dtype)
    return ts, jnp.concatenate([z0[None], zs], axis=0)
