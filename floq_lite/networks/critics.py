"""Critic networks: floq's velocity-field ensemble ``v(t, z | s, a)`` and the scalar Q ensemble ``Value``.

``VelocityField`` is the reference definition (a vmapped :class:`~floq_lite.networks.mlp.MLP` on
``concat(s, a, embed(z), timefeat(t))``, exactly the official ``CriticVectorField``). Integrating it for K Euler
steps calls it K times on the same ``(s, a)`` rows, so the *(s, a) block of the first layer* is recomputed K times.
The split functions below evaluate the same network with that block computed once:

    h_sa = [s, a] @ W[:d_sa] + b                      # (E, N, H), once per row      -> sa_features
    v    = tail(h_sa + [embed(z), feat(t)] @ W[d_sa:]) # (E, N, 1), once per Euler step -> velocity_from_features

Both read the *same* parameter tree as ``VelocityField`` (``params['mlp']['Dense_0']['kernel']`` of shape
``(E, d_sa + d_zt, H)``), so they are the same function up to float rounding (tested). They also take parameter trees
with any number of members on the leading axis, which lets the critic loss stack the target and the online field
into one ``2E``-member ensemble and integrate both in one loop.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from floq_lite.networks.embeddings import (
    hl_gauss_embed,
    hl_gauss_embed_matmul,
    hl_gauss_support,
    minmax_embed,
    time_embed_dim,
    time_features,
    z_embed_dim,
)
from floq_lite.networks.mlp import MLP, ResMLP, ensemblize

Array = jax.Array
Params = Any
_LN_EPS = 1e-6  # flax.linen.LayerNorm's default epsilon


def _check_member_z(z: Array) -> None:
    if z.ndim != 3 or z.shape[-1] != 1:
        raise ValueError(f"z must have shape (E, N, 1), got {z.shape}; tile a shared z0 with "
                         "floq_lite.critic.floq.tile_ensemble(z0, E).")


class VelocityField(nn.Module):
    """floq's critic velocity field, an ensemble of ``E`` MLPs; member ``e`` integrates its own ``z[e]``.

    Attributes:
      hidden_dims: hidden widths (floq paper: ``(512,) * 4``); the output layer has width 1.
      num_ensembles: ``E`` (floq: 2).
      layer_norm: LayerNorm after each hidden GELU (floq: True).
      q_min, q_max: HL-Gauss support / min-max range of ``z`` (from :func:`~floq_lite.networks.embeddings.q_range`).
      z_embed: ``"hl_gauss"`` (floq default, 50-d) or ``"minmax"`` (1-d).
      num_bins, sigma: HL-Gauss support points (51) and std in bin widths (16).
      time_embed: ``"cos"`` (released code), ``"fourier"`` (paper) or ``"raw"``.
      time_embed_dim: width of the Fourier features.
    """

    hidden_dims: Sequence[int]
    num_ensembles: int = 2
    layer_norm: bool = True
    q_min: float = -101.0
    q_max: float = 1.0
    z_embed: str = "hl_gauss"
    num_bins: int = 51
    sigma: float = 16.0
    time_embed: str = "cos"
    time_embed_dim: int = 64

    @property
    def zt_dim(self) -> int:
        """Width of ``[embed(z), feat(t)]``, the block of the input that changes at every Euler step."""
        return z_embed_dim(self.z_embed, self.num_bins) + time_embed_dim(self.time_embed, self.time_embed_dim)

    def embed_zt(self, z: Array, t: Array) -> Array:
        """``[embed(z), feat(t)]``: ``z (M, N, 1)``, ``t`` scalar or ``(N, 1)`` -> ``(M, N, zt_dim)``. No parameters."""
        _check_member_z(z)
        if self.z_embed == "hl_gauss":
            support = hl_gauss_support(self.q_min, self.q_max, self.num_bins)
            z_feat = hl_gauss_embed(z, support, self.sigma)  # (M, N, num_bins - 1)
        else:
            z_feat = minmax_embed(z, self.q_min, self.q_max)  # (M, N, 1)
        t = jnp.broadcast_to(jnp.asarray(t, z.dtype), (z.shape[1], 1))  # (N, 1): shared by all members
        t_feat = time_features(t, self.time_embed, self.time_embed_dim)  # (N, D_t)
        t_feat = jnp.broadcast_to(t_feat[None], (z.shape[0], *t_feat.shape))  # (M, N, D_t)
        return jnp.concatenate([z_feat, t_feat.astype(z_feat.dtype)], axis=-1)

    @nn.compact
    def __call__(self, observations: Array, actions: Array, z: Array, t: Array) -> Array:
        """Velocities ``v(t, z | s, a)``.

        Args:
          observations: ``(N, d_s)``.  actions: ``(N, d_a)``.
          z: current values, one per member, ``(E, N, 1)``.
          t: flow time, scalar or ``(N, 1)``, shared by the members.
        Returns:
          ``(E, N, 1)``.
        """
        E, N = self.num_ensembles, observations.shape[0]
        if z.shape != (E, N, 1):
            raise ValueError(f"z must have shape (E, N, 1) = {(E, N, 1)}, got {z.shape}.")
        sa = jnp.concatenate([observations, actions], axis=-1)  # (N, d_sa)
        sa = jnp.broadcast_to(sa[None], (E, *sa.shape))  # (E, N, d_sa)
        x = jnp.concatenate([sa, self.embed_zt(z, t)], axis=-1)  # (E, N, d_sa + zt_dim)
        mlp = ensemblize(MLP, E, in_axes=0)((*self.hidden_dims, 1), layer_norm=self.layer_norm, name="mlp")
        return mlp(x)  # (E, N, 1)


class Value(nn.Module):
    """Ensemble of scalar critics ``Q_e(s, a)`` (FQL's Q-networks and floq's distilled critic).

    ``__call__(observations (N, d_s), actions (N, d_a)) -> (E, N)``; every member sees the same inputs.
    """

    hidden_dims: Sequence[int]
    num_ensembles: int = 2
    layer_norm: bool = True

    @nn.compact
    def __call__(self, observations: Array, actions: Array) -> Array:
        x = jnp.concatenate([observations, actions], axis=-1)  # (N, d_s + d_a)
        member = ensemblize(MLP, self.num_ensembles, in_axes=None)
        mlp = member((*self.hidden_dims, 1), layer_norm=self.layer_norm, name="mlp")
        return mlp(x)[..., 0]  # (E, N)


class ResValue(nn.Module):
    """Ensemble of ResNet critics ``Q_e(s, a)`` (the official ``ResValue``, FQL-ResNet's critic); see
    :class:`~floq_lite.networks.mlp.ResMLP`. ``__call__(observations (N, d_s), actions (N, d_a)) -> (E, N)``."""

    width: int
    num_blocks: int = 2
    block_depth: int = 2
    num_ensembles: int = 2
    layer_norm: bool = True

    @nn.compact
    def __call__(self, observations: Array, actions: Array) -> Array:
        x = jnp.concatenate([observations, actions], axis=-1)  # (N, d_s + d_a)
        member = ensemblize(ResMLP, self.num_ensembles, in_axes=None)
        net = member(self.width, self.num_blocks, self.block_depth, 1, self.layer_norm, name="resmlp")
        return net(x)[..., 0]  # (E, N)


def hidden_features(params: Params, x: Array, layer_norm: bool = True, member_matmul: str = "auto") -> list[Array]:
    """Every hidden layer's output (after GELU and LayerNorm, what the next layer reads) of an ensemble MLP.

    ``params`` is a :class:`Value` or :class:`VelocityField` parameter tree (``{"mlp": ...}``, leading member axis
    ``M``); ``x`` is its input, ``(N, d)`` shared by the members or ``(M, N, d)``. Returns one ``(M, N, H)`` array
    per hidden layer; the last one is the "penultimate" feature of the plasticity literature.
    """
    dense, norms = _layers(params)
    h, out = x, []
    for i, layer in enumerate(dense[:-1]):
        h = _member_matmul(h, layer["kernel"], member_matmul) + layer["bias"][:, None, :]
        h = nn.gelu(h)
        if layer_norm:
            h = _layer_norm(h, norms[i]["scale"], norms[i]["bias"])
        out.append(h)
    return out


def field_features(field: "VelocityField", params: Params, observations: Array, actions: Array, z: Array,
                   t: Array) -> list[Array]:
    """:func:`hidden_features` of a velocity field at ``(s, a, z, t)``: ``z (M, N, 1)``; one ``(M, N, H)`` per layer."""
    sa = jnp.concatenate([observations, actions], axis=-1)  # (N, d_sa)
    sa = jnp.broadcast_to(sa[None], (z.shape[0], *sa.shape))  # (M, N, d_sa)
    return hidden_features(params, jnp.concatenate([sa, field.embed_zt(z, t)], axis=-1), field.layer_norm)


def head_mask(params: Params) -> Params:
    """Boolean pytree like a critic's ``params``: True for the *head*, False for the *features*.

    The follow-up paper's split (its ``*_plasticity`` agents): the features are the input encoding and every hidden
    layer but the last; the head is the last hidden layer (Dense, its LayerNorm) and the output layer. Works for
    :class:`Value`, :class:`VelocityField` (``params["mlp"]``) and :class:`ResValue` (``params["resmlp"]``, whose
    head is the last block's last layer and the output), with or without a leading ensemble axis.
    """
    if len(params) != 1:
        raise ValueError(f"head_mask expects one MLP sub-module ('mlp' or 'resmlp'), got {sorted(params)}.")
    (name, layers), = params.items()
    num_dense = sum(k.startswith("Dense_") for k in layers)
    if num_dense < 2:
        raise ValueError("a critic needs at least one hidden layer to split into features and head.")
    head = {f"Dense_{num_dense - 1}", f"Dense_{num_dense - 2}", f"LayerNorm_{num_dense - 2}"}
    return {name: {k: jax.tree.map(lambda _, h=(k in head): h, v) for k, v in layers.items()}}


def freeze_features(old: Params, new: Params, target: Params, ema_target: Params, frozen: Array) -> tuple[Params,
                                                                                                         Params]:
    """The feature freeze of the follow-up paper, applied after an optimizer step and an EMA step.

    Where ``frozen`` (a traced bool): the features keep their ``old`` values exactly (``new`` discarded, so Adam's
    leftover momentum cannot move them either), the target's features are those frozen online features, and the
    target's head is the EMA ``ema_target``. Otherwise ``(new, ema_target)`` unchanged. Returns ``(params, target)``.
    """
    head = head_mask(new)
    params = jax.tree.map(lambda o, n, h: jnp.where(frozen & ~h, o, n), old, new, head)
    target = jax.tree.map(lambda p, t, h: jnp.where(frozen & ~h, p, t), params, ema_target, head)
    return params, target


# ---------------------------------------------------------------------------------------------------------------
# Split evaluation of VelocityField (same parameters, the (s, a) block of the first layer computed once).


def _layers(params: Params) -> tuple[list[dict], list[dict]]:
    mlp = params["mlp"]
    dense = [mlp[f"Dense_{i}"] for i in range(sum(k.startswith("Dense_") for k in mlp))]
    norms = [mlp[f"LayerNorm_{i}"] for i in range(sum(k.startswith("LayerNorm_") for k in mlp))]
    return dense, norms


def _layer_norm(x: Array, scale: Array, bias: Array) -> Array:
    """flax's LayerNorm (fast variance, eps 1e-6) with per-member ``scale, bias (M, H)`` on ``x (M, N, H)``."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.maximum(jnp.mean(x * x, axis=-1, keepdims=True) - mean * mean, 0.0)
    return (x - mean) * (jax.lax.rsqrt(var + _LN_EPS) * scale[:, None, :]) + bias[:, None, :]


MEMBER_MATMULS: tuple[str, ...] = ("auto", "loop", "batched")


def choose_member_matmul(width: int) -> str:
    """``"auto"`` resolution for a matmul whose largest dimension is ``width``: ``"loop"`` from 512 on, else
    ``"batched"``.

    Measured on a 2-core CPU (jax 0.10): a K=8 integration of 4 members x 2048 rows took 443 ms (loop) vs 566 ms
    (batched) at 4x512, while a whole teach-size update (2x256) took 133 ms (loop) vs 93 ms (batched).
    ``benchmarks/update_speed.py --variants loop,batched`` re-measures it on other machines.
    """
    return "loop" if width >= 512 else "batched"


def _member_matmul(x: Array, kernel: Array, how: str = "auto") -> Array:
    """``x (M, N, d) @ kernel (M, d, h) -> (M, N, h)`` (``x`` may also be ``(N, d)``, shared by the members).

    ``"batched"`` is one dot with a batch dimension; ``"loop"`` issues one plain 2-D GEMM per member (M is small and
    static); ``"auto"`` picks by size (:func:`choose_member_matmul`). Same numbers either way (tested).
    """
    if how not in MEMBER_MATMULS:
        raise ValueError(f"Unknown member_matmul {how!r}; choose one of {', '.join(MEMBER_MATMULS)}.")
    if how == "auto":
        how = choose_member_matmul(max(kernel.shape[1:]))
    if how == "batched":
        return jnp.einsum("nd,mdh->mnh" if x.ndim == 2 else "mnd,mdh->mnh", x, kernel)
    return jnp.stack([(x if x.ndim == 2 else x[m]) @ kernel[m] for m in range(kernel.shape[0])])


def sa_features(params: Params, observations: Array, actions: Array, member_matmul: str = "auto") -> Array:
    """First-layer pre-activation from the ``(s, a)`` block, bias included: ``(M, N, H)``.

    ``observations``/``actions`` are ``(N, d)`` (shared by all members) or ``(M, N, d)`` (one set per member).
    ``M`` is the leading size of ``params`` (``E``, or ``2E`` for a stacked target+online tree).
    """
    dense, _ = _layers(params)
    kernel, bias = dense[0]["kernel"], dense[0]["bias"]  # (M, d_in, H), (M, H)
    sa = jnp.concatenate([observations, actions], axis=-1)
    d_sa = sa.shape[-1]
    return _member_matmul(sa, kernel[:, :d_sa], member_matmul) + bias[:, None, :]  # (M, N, H)


def _zt_product(field: VelocityField, z: Array, t: Array, kernel: Array, member_matmul: str) -> Array:
    """``field.embed_zt(z, t) @ kernel`` per member, ``kernel (M, zt_dim, H)`` -> ``(M, N, H)``; the HL-Gauss block
    goes through :func:`~floq_lite.networks.embeddings.hl_gauss_embed_matmul` (no histogram is built)."""
    if field.z_embed != "hl_gauss":
        return _member_matmul(field.embed_zt(z, t), kernel, member_matmul)
    _check_member_z(z)
    num_z = z_embed_dim(field.z_embed, field.num_bins)
    support = hl_gauss_support(field.q_min, field.q_max, field.num_bins)
    matmul = lambda x, k: _member_matmul(x, k, member_matmul)  # noqa: E731
    h_z = hl_gauss_embed_matmul(z, support, field.sigma, kernel[:, :num_z], matmul)  # (M, N, H)
    t_feat = time_features(jnp.broadcast_to(jnp.asarray(t, z.dtype), (z.shape[1], 1)), field.time_embed,
                           field.time_embed_dim)  # (N, D_t), shared by the members
    return h_z + _member_matmul(t_feat.astype(z.dtype), kernel[:, num_z:], member_matmul)


def velocity_from_features(
    field: VelocityField, params: Params, h_sa: Array, z: Array, t: Array, member_matmul: str = "auto"
) -> Array:
    """Velocities from precomputed :func:`sa_features`: ``h_sa (M, N, H)``, ``z (M, N, 1)``, ``t`` -> ``(M, N, 1)``."""
    dense, norms = _layers(params)
    kernel0 = dense[0]["kernel"]
    h = h_sa + _zt_product(field, z, t, kernel0[:, kernel0.shape[1] - field.zt_dim :], member_matmul)
    for i, layer in enumerate(dense):
        if i > 0:
            h = _member_matmul(h, layer["kernel"], member_matmul) + layer["bias"][:, None, :]
        if i + 1 < len(dense):
            h = nn.gelu(h)
            if field.layer_norm:
                h = _layer_norm(h, norms[i]["scale"], norms[i]["bias"])
    return h  # (M, N, 1)


class SplitField(NamedTuple):
    """A velocity field in two stages, for integrators that reuse per-row work across Euler steps.

    ``prepare(params, obs, actions) -> ctx`` runs once; ``velocity(params, ctx, z, t) -> (E, N, 1)`` runs per step.
    """

    prepare: Callable[[Params, Array, Array], Any]
    velocity: Callable[[Params, Any, Array, Array], Array]


def split_field(field: VelocityField, member_matmul: str = "auto") -> SplitField:
    """The :class:`SplitField` of a :class:`VelocityField` (first-layer ``(s, a)`` block cached)."""
    return SplitField(
        prepare=lambda params, obs, actions: sa_features(params, obs, actions, member_matmul),
        velocity=lambda params, h_sa, z, t: velocity_from_features(field, params, h_sa, z, t, member_matmul),
    )


def field_apply(field: VelocityField) -> Callable[[Params, Array, Array, Array, Array], Array]:
    """The straightforward ``vf_apply(params, obs, actions, z, t) -> (E, N, 1)`` of a :class:`VelocityField`."""
    return lambda params, obs, actions, z, t: field.apply({"params": params}, obs, actions, z, t)
