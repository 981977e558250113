"""How exercise checks report: a tick when right, an explanation of what is wrong when not.

Every check in :mod:`floq_lite.checks` takes the student's function or value, compares it with a reference on
inputs chosen to expose the usual mistakes, and either prints a one-line success message or raises
:class:`CheckFailed` whose message says *what* differs and *where to look*. The test suite runs the same checks
against the reference solutions, so the solutions shown in the book cannot drift from the checks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class CheckFailed(AssertionError):
    """An exercise answer is wrong; the message says how."""


def fail(message: str) -> None:
    raise CheckFailed(message)


def passed(name: str, detail: str = "") -> bool:
    print(f"\u2713 {name}: correct." + (f" {detail}" if detail else ""))
    return True


def expect_shape(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a numpy array, or a failure that names the expected and the received shape."""
    arr = np.asarray(value)
    if arr.shape != tuple(shape):
        fail(f"{name} should have shape {tuple(shape)} but has shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        fail(f"{name} contains NaN or inf values; check for a division by zero or a log of a non-positive number.")
    return arr


def expect_close(name: str, got, want, *, atol: float = 1e-5, rtol: float = 1e-5, hint: str = "") -> None:
    """Fail with the worst mismatch (index, got, want) and a hint when ``got`` and ``want`` differ."""
    got_a, want_a = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got_a.shape != want_a.shape:
        fail(f"{name} should have shape {want_a.shape} but has shape {got_a.shape}.")
    err = np.abs(got_a - want_a)
    bad = err > atol + rtol * np.abs(want_a)
    if np.any(bad):
        idx = np.unravel_index(int(np.argmax(np.where(bad, err, -1))), err.shape) if err.ndim else ()
        where = f"at index {idx} " if idx else ""
        msg = (
            f"{name} is off: {where}you return {got_a[idx]:.6g}, expected {want_a[idx]:.6g} "
            f"({int(bad.sum())} of {bad.size} entries differ by more than {atol:g})."
        )
        fail(msg + (f" Hint: {hint}" if hint else ""))


def call_student(fn: Callable, name: str, *args):
    """Call the student's ``fn``; a template that still raises ``NotImplementedError`` gets a friendly failure."""
    try:
        return fn(*args)
    except NotImplementedError:
        fail(f"{name} still raises NotImplementedError: replace the `raise` line with your code.")


def matches(got, want, atol: float = 1e-4) -> bool:
    """Same shape, finite, and close (``atol``, ``rtol=1e-4``)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return got.shape == want.shape and bool(np.all(np.isfinite(got))) and np.allclose(got, want, atol=atol, rtol=1e-4)


def diagnose(got, want, name: str, known_mistakes: dict[str, np.ndarray], *, atol: float = 1e-4) -> None:
    """Fail with a specific hint if ``got`` equals one of the known wrong answers, a generic one if it is just off."""
    for hint, wrong in known_mistakes.items():
        if matches(got, wrong, atol) and not matches(wrong, want, atol):
            fail(f"{name}: {hint}")
    expect_close(name, got, want, atol=atol, rtol=1e-4)
