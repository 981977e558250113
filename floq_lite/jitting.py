"""``jit_once``: compile a program that runs once, or rarely, without XLA's optimisation passes.

On a CPU, XLA spends most of a program's compile time in its optimisation passes. For a training step that runs
thousands of times that is time well spent; for an initialisation that runs once it is not. Measured on a 2-core CPU
(the teach-size live runs of chapter 5): initialising two seeds of floq took 4.6 s to compile with the default
passes and 1.3 s at optimisation level 0, FQL 3.6 s and 1.1 s, with bit-identical parameters.

The result of a program compiled at level 0 can differ from the default compilation in the last bits of a float
(fusions that contract ``a * b + c`` differently); initialisations that only draw random numbers and scale them come
out bit for bit the same (tests/test_agents.py checks the agents').
"""

from __future__ import annotations

from typing import Any, Callable

import jax

# Level 0 of XLA's CPU backend: no LLVM optimisation of the fused loops (the matmuls still call the same library).
ONCE_OPTIONS: dict[str, Any] = {"xla_backend_optimization_level": 0}


def jit_once(fun: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
    """``jax.jit(fun, **jit_kwargs)`` compiled at optimisation level 0: for programs that run once or rarely
    (initialisation, an occasional validation or diagnostic pass), where the compile time is the cost."""
    return jax.jit(fun, compiler_options=ONCE_OPTIONS, **jit_kwargs)


__all__ = ["ONCE_OPTIONS", "jit_once"]
