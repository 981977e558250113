"""The MLP every floq_lite network is built from, and the ensemble wrapper.

Each hidden layer is ``Dense -> GELU -> LayerNorm`` (activation before the norm, as FQL and floq write it);
the output layer is a plain ``Dense``. Kernels use Glorot-uniform init (variance scaling 1.0, fan_avg, uniform).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

default_init = nn.initializers.variance_scaling(1.0, "fan_avg", "uniform")


class MLP(nn.Module):
    """``x (..., D_in) -> (..., hidden_dims[-1] or out_dim)``.

    Attributes:
      hidden_dims: widths of the layers; the last one is the output width.
      activate_final: apply GELU (+ LayerNorm) after the last layer too.
      layer_norm: LayerNorm after each activation (floq's critics: True; FQL's actors: False).
    """

    hidden_dims: Sequence[int]
    activate_final: bool = False
    layer_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i, width in enumerate(self.hidden_dims):
            x = nn.Dense(width, kernel_init=default_init)(x)
            if i + 1 < len(self.hidden_dims) or self.activate_final:
                x = nn.gelu(x)
                if self.layer_norm:
                    x = nn.LayerNorm()(x)
        return x


class ResMLP(nn.Module):
    """The official ``ResMLP`` (floq's ResNet critics): ``x (..., D_in) -> (..., out_dim)``.

    A stem ``Dense(width) -> GELU -> LayerNorm``, then ``num_blocks`` residual blocks ``x <- block(x) + x`` where a
    block is ``block_depth`` x (``Dense(width) -> GELU -> LayerNorm``), then a plain ``Dense(out_dim)``.

    Attributes:
      width: width of the stem and of every block layer.
      num_blocks: residual blocks (the official ``num_transformations``, default 2).
      block_depth: layers per block (the official ``block_depth``).
      out_dim: output width.
      layer_norm: LayerNorm after each activation.
    """

    width: int
    num_blocks: int = 2
    block_depth: int = 2
    out_dim: int = 1
    layer_norm: bool = True

    def _layer(self, x: jax.Array) -> jax.Array:
        x = nn.gelu(nn.Dense(self.width, kernel_init=default_init)(x))
        return nn.LayerNorm()(x) if self.layer_norm else x

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = self._layer(x)  # stem
        for _ in range(self.num_blocks):
            h = x
            for _ in range(self.block_depth):
                h = self._layer(h)
            x = h + x
        return nn.Dense(self.out_dim, kernel_init=default_init)(x)


def mlp_flops(dims: Sequence[int], rows: int = 1) -> int:
    """Matmul FLOPs of one forward pass of a dense stack with layer widths ``dims`` (input first) on ``rows`` rows:
    ``2 * in * out`` per layer and row (biases, activations and norms are not counted)."""
    return sum(2 * a * b for a, b in zip(dims[:-1], dims[1:])) * rows


def ensemblize(module_cls: type[nn.Module], num: int, in_axes: int | None = None) -> type[nn.Module]:
    """Stack ``num`` independently initialised copies of ``module_cls`` along a new leading axis.

    With ``in_axes=None`` every member sees the same inputs; with ``in_axes=0`` member ``e`` sees ``inputs[e]``
    (floq's velocity field: each member integrates its own ``z``). Outputs gain a leading ``(num, ...)`` axis.
    """
    return nn.vmap(
        module_cls,
        variable_axes={"params": 0},
        split_rngs={"params": True},
        in_axes=in_axes,
        out_axes=0,
        axis_size=num,
    )
