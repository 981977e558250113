"""Neural networks: the shared MLP and ensemble wrapper, and the velocity fields, critics and actors built on it."""

from floq_lite.networks.actors import ActorVectorField, OneStepPolicy
from floq_lite.networks.critics import (
    ResValue,
    SplitField,
    Value,
    VelocityField,
    field_apply,
    field_features,
    freeze_features,
    head_mask,
    hidden_features,
    sa_features,
    split_field,
    velocity_from_features,
)
from floq_lite.networks.embeddings import (
    hl_gauss_embed,
    hl_gauss_support,
    minmax_embed,
    q_range,
    time_embed_dim,
    time_features,
    z_embed_dim,
)
from floq_lite.networks.mlp import MLP, ResMLP, default_init, ensemblize

__all__ = [
    "MLP",
    "ActorVectorField",
    "OneStepPolicy",
    "ResMLP",
    "ResValue",
    "SplitField",
    "Value",
    "VelocityField",
    "default_init",
    "ensemblize",
    "field_apply",
    "field_features",
    "freeze_features",
    "head_mask",
    "hidden_features",
    "hl_gauss_embed",
    "hl_gauss_support",
    "minmax_embed",
    "q_range",
    "sa_features",
    "split_field",
    "time_embed_dim",
    "time_features",
    "velocity_from_features",
    "z_embed_dim",
]
