"""FQL's actor (BC flow policy + one-step policy), shared by the floq and FQL agents."""

from floq_lite.actor import fql
from floq_lite.actor.fql import actor_loss, bc_flow_loss, flow_actions, sample_actions

__all__ = ["actor_loss", "bc_flow_loss", "flow_actions", "fql", "sample_actions"]
