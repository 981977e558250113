"""Critic losses: floq's flow-matching critic (:mod:`floq_lite.critic.floq`) and FQL's monolithic critic."""

from floq_lite.critic import floq, fql
from floq_lite.critic.floq import (
    aggregate_ensemble,
    critic_loss,
    distillation_loss,
    flow_matching_loss,
    integrate_returns,
    make_velocity_field,
    noise_interval,
    repeat_rows,
    td_target,
    tile_ensemble,
    unrepeat,
)

__all__ = [
    "aggregate_ensemble",
    "critic_loss",
    "distillation_loss",
    "floq",
    "flow_matching_loss",
    "fql",
    "integrate_returns",
    "make_velocity_field",
    "noise_interval",
    "repeat_rows",
    "td_target",
    "tile_ensemble",
    "unrepeat",
]
