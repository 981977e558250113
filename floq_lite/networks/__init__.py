"""Neural networks: the shared MLP and ensemble wrapper, and the velocity fields, critics and actors built on it."""

from floq_lite.networks.mlp import MLP, default_init, ensemblize

__all__ = ["MLP", "default_init", "ensemblize"]
