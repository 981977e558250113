"""Exercise auto-checks, one module per chapter (``floq_lite.checks.ch1``, ...).

A check prints a tick when the answer is right and raises :class:`CheckFailed` with an explanation when not.
"""

from floq_lite.checks._core import CheckFailed

__all__ = ["CheckFailed"]
