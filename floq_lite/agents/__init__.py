"""Agents: one file per agent (``floq``, ``fql``), sharing the actor code and the update/seed machinery."""

from floq_lite.agents._common import check_batch_finite, sample_batches, shard_seeds
from floq_lite.agents.floq import FloqAgent
from floq_lite.agents.fql import FQLAgent

AGENT_CLASSES = {"floq": FloqAgent, "fql": FQLAgent}

__all__ = ["AGENT_CLASSES", "FQLAgent", "FloqAgent", "check_batch_finite", "sample_batches", "shard_seeds"]
