"""The straight (rectified-flow) probability path and its conditional flow-matching loss.

Convention used everywhere in floq_lite and the book: noise at ``t = 0``, target at ``t = 1``::

    z_t = (1 - t) * z0 + t * x1          # interpolant
    u_t = x1 - z0                        # conditional (target) velocity, constant along the path

Shapes broadcast: any leading batch axes work as long as ``t`` broadcasts against ``z0`` and ``x1``
(e.g. ``t`` of shape ``(B, 1)`` with ``z0, x1`` of shape ``(B, 1)``).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

Array = jax.Array
# A velocity field v(t, z) -> dz/dt; t broadcasts against z.
VelocityField = Callable[[Array, Array], Array]


def interpolant(z0: Array, x1: Array, t: Array) -> Array:
    """Point at time ``t`` on the straight line from noise ``z0`` (t=0) to target ``x1`` (t=1).

    Args:
      z0: noise sample, shape ``(..., D)``.
      x1: target sample, same shape as ``z0``.
      t: time in [0, 1], broadcastable to ``z0`` (usually ``(..., 1)``).
    Returns:
      ``(1 - t) * z0 + t * x1``, shape of ``z0``.
    """
    return (1.0 - t) * z0 + t * x1


def target_velocity(z0: Array, x1: Array) -> Array:
    """Velocity of the straight conditional path: ``x1 - z0`` (independent of ``t``)."""
    return x1 - z0


def cfm_loss(pred_velocity: Array, z0: Array, x1: Array) -> Array:
    """Conditional flow-matching loss: mean squared error to the straight-line velocity.

    Args:
      pred_velocity: the model's v(t, z_t), shape ``(B, D)``.
      z0, x1: the endpoints the interpolant was built from, shape ``(B, D)``.
    Returns:
      Scalar: ``mean_b sum_d (v - (x1 - z0))^2``.
    """
    err = pred_velocity - target_velocity(z0, x1)
    return jnp.mean(jnp.sum(err**2, axis=-1))


def sample_time(key: Array, shape: tuple[int, ...]) -> Array:
    """``t ~ U[0, 1)`` with the given shape (uniform time, as floq and FQL train)."""
    return jax.random.uniform(key, shape)


def sample_uniform_noise(key: Array, shape: tuple[int, ...], low: float | Array, high: float | Array) -> Array:
    """``z0 ~ Unif[low, high]`` written as floq writes it: ``(1 - r) * low + r * high`` with ``r ~ U[0, 1)``."""
    ratio = jax.random.uniform(key, shape)
    return (1.0 - ratio) * low + ratio * high
