"""FQL's two policy networks (shared unchanged by floq).

* :class:`ActorVectorField` ``v(s, x, t)``: the behaviour-cloning flow policy, a velocity over actions trained by
  flow matching and integrated with 10 Euler steps. ``t`` enters raw (no embedding); no LayerNorm.
* :class:`OneStepPolicy` ``mu(s, xi)``: the one-step policy mapping a noise ``xi ~ N(0, I)`` straight to an action.
  Same MLP, no time input.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from floq_lite.networks.mlp import MLP

Array = jax.Array


class ActorVectorField(nn.Module):
    """``(observations (N, d_s), x (N, d_a), t (N, 1)) -> (N, d_a)``."""

    hidden_dims: Sequence[int]
    action_dim: int
    layer_norm: bool = False

    @nn.compact
    def __call__(self, observations: Array, x: Array, t: Array) -> Array:
        t = jnp.broadcast_to(jnp.asarray(t, x.dtype), (*x.shape[:-1], 1))  # (N, 1)
        inputs = jnp.concatenate([observations, x, t], axis=-1)  # (N, d_s + d_a + 1)
        return MLP((*self.hidden_dims, self.action_dim), layer_norm=self.layer_norm, name="mlp")(inputs)


class OneStepPolicy(nn.Module):
    """``(observations (N, d_s), noise (N, d_a)) -> (N, d_a)`` (unclipped; callers clip to [-1, 1])."""

    hidden_dims: Sequence[int]
    action_dim: int
    layer_norm: bool = False

    @nn.compact
    def __call__(self, observations: Array, noise: Array) -> Array:
        inputs = jnp.concatenate([observations, noise], axis=-1)  # (N, d_s + d_a)
        return MLP((*self.hidden_dims, self.action_dim), layer_norm=self.layer_norm, name="mlp")(inputs)
