"""Exercise auto-checks, one module per chapter (``floq_lite.checks.ch1``, ...).

A check prints a tick when the answer is right and raises :class:`CheckFailed` with an explanation when not.
``from floq_lite import checks; checks.ch1.interpolant(my_fn)`` works: chapter modules load on first use.
"""

import importlib

from floq_lite.checks._core import CheckFailed

__all__ = ["CheckFailed"]


def __getattr__(name: str):
    if name.startswith("ch") and name[2:].isdigit():
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
