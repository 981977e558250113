"""Compiler options for floq_lite's programs: ``jit_once`` for programs that run once, ``jit_by_options`` for the
training steps whose best CPU options depend on the network size.

``jit_once``: compile a program that runs once, or rarely, without XLA's optimisation passes.

On a CPU, XLA spends most of a program's compile time in its optimisation passes. For a training step that runs
thousands of times that is time well spent; for an initialisation that runs once it is not. Measured on a 2-core CPU
(the teach-size live runs of chapter 5): initialising two seeds of floq took 4.6 s to compile with the default
passes and 1.3 s at optimisation level 0, FQL 3.6 s and 1.1 s, with bit-identical parameters.

The result of a program compiled at level 0 can differ from the default compilation in the last bits of a float
(fusions that contract ``a * b + c`` differently); initialisations that only draw random numbers and scale them come
out bit for bit the same (tests/test_agents.py checks the agents').
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax

# Level 0 of XLA's CPU backend: no LLVM optimisation of the fused loops (the matmuls still call the same library).
ONCE_OPTIONS: dict[str, Any] = {"xla_backend_optimization_level": 0}


def jit_once(fun: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
    """``jax.jit(fun, **jit_kwargs)`` compiled at optimisation level 0: for programs that run once or rarely
    (initialisation, an occasional validation or diagnostic pass), where the compile time is the cost."""
    return jax.jit(fun, compiler_options=ONCE_OPTIONS, **jit_kwargs)


# jax 0.10's CPU backend hands regions of fused matmuls and elementwise ops to the YNNPACK library by default. For
# floq's critic (K Euler steps of the velocity field over E members x B*R rows) XLA's own emitters are faster once the
# field is 128 wide or more; below that, and for FQL, the library is as fast or faster. Measured on the 2-core CPU
# (2026-12-07), the same compiled update with and without this option: teach size (2x256) 1.65x and 1.80x, paper size
# (4x512) 1.20x and 1.12x faster in two runs of benchmarks/official_speed.py; chapter 6's 2x128 runs (3 seeds in the
# training scan) 1.18x; 2x64 0.90x. FQL moved between 0.94x (4x512) and 1.19x (2x128) with no trend in width, about
# the run-to-run spread of its few-millisecond updates, so it keeps the defaults. On a 2-core Intel Xeon (AVX-512)
# the same day: teach 2.16x, paper 1.22x, chapter 6's 2x128 runs 1.01x. benchmarks/update_speed.py
# --variants fused,defaults re-measures it.
NO_LIBRARY_FUSIONS: dict[str, Any] = {"xla_cpu_experimental_ynn_fusion_type": ""}


@functools.lru_cache(maxsize=None)
def options_supported(options: tuple[tuple[str, Any], ...]) -> bool:
    """Whether this jax/XLA accepts these compiler options on the default backend (checked once per option set
    by compiling a trivial program), so an option a later jax drops or renames degrades to the defaults instead of
    failing every training step."""
    if jax.default_backend() != "cpu" and any(k.startswith("xla_cpu_") for k, _ in options):
        return False  # CPU options mean nothing to another backend's compiler
    try:
        jax.jit(lambda x: x + 1, compiler_options=dict(options)).lower(1.0).compile()
    except Exception:  # noqa: BLE001 - XLA reports an unknown or ill-typed option in several ways
        return False
    return True


def jit_by_options(fun: Callable[..., Any], options_of: Callable[..., dict[str, Any]],
                   **jit_kwargs: Any) -> Callable[..., Any]:
    """``jax.jit(fun, **jit_kwargs)`` compiled with the options ``options_of(*args, **kwargs)`` returns for the
    arguments of each call (decided in Python from static information such as an agent's config, before tracing).

    One ``jax.jit`` per distinct option set, each with its own cache. Options the running jax does not accept are
    dropped (:func:`options_supported`). ``.lower(*args)`` lowers with the same choice and ``.defaults`` is the
    program with XLA's default options, for benchmarks that compare the two.

    The options apply where the function is the outermost jit; called inside another jitted function it is inlined
    and compiled with that function's options.
    """
    defaults = jax.jit(fun, **jit_kwargs)
    jitted: dict[tuple[tuple[str, Any], ...], Callable[..., Any]] = {(): defaults}

    def pick(*args: Any, **kwargs: Any) -> Callable[..., Any]:
        key = tuple(sorted(options_of(*args, **kwargs).items()))
        if key and not options_supported(key):
            key = ()
        if key not in jitted:
            jitted[key] = jax.jit(fun, compiler_options=dict(key), **jit_kwargs)
        return jitted[key]

    @functools.wraps(fun)
    def call(*args: Any, **kwargs: Any) -> Any:
        return pick(*args, **kwargs)(*args, **kwargs)

    call.lower = lambda *args, **kwargs: pick(*args, **kwargs).lower(*args, **kwargs)  # type: ignore[attr-defined]
    call.pick = pick  # type: ignore[attr-defined]
    call.defaults = defaults  # type: ignore[attr-defined]
    return call


__all__ = ["NO_LIBRARY_FUSIONS", "ONCE_OPTIONS", "jit_by_options", "jit_once", "options_supported"]
