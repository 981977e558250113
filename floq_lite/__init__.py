"""floq_lite: flow-matching Q-functions (floq) from first principles, in JAX.

Layers import in one direction only::

    flow (paths, solvers, exact fields) -> networks -> critic / actor -> agent
        -> data, training, evaluation -> plotting / widgets / checks

Import submodules directly (``from floq_lite import flow``); this top level stays light so that
``import floq_lite`` is fast and pulls in neither matplotlib nor ogbench.
"""

from floq_lite.tiers import TIERS, current_tier, pick, show_progress

__version__ = "0.1.0"
__all__ = ["TIERS", "__version__", "current_tier", "pick", "show_progress"]
