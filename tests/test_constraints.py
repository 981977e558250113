"""constraints.txt pins every package that `make` installs, at the version installed (see its header to refresh)."""

from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: pin {line!r} as NAME==VERSION"
            pins[_canonical(name)] = version
    return pins


def test_every_installed_package_is_pinned_at_its_installed_version():
    pins = _pins()
    installed = {_canonical(d.metadata["Name"]): d.version for d in md.distributions()}
    installed.pop("floq-lite", None)
    for tool in ("pip", "setuptools", "wheel"):  # the venv's own tools, upgraded by make, not by the constraints
        installed.pop(tool, None)
        pins.pop(tool, None)
    missing = sorted(n for n in installed if n not in pins)
    assert not missing, f"installed but not pinned in constraints.txt (run make constraints): {missing}"
    differ = {n: (installed[n], pins[n]) for n in installed if pins[n] != installed[n]}
    assert not differ, f"installed version differs from constraints.txt (installed, pinned): {differ}"


def test_the_book_and_ml_stack_are_pinned():
    pins = _pins()
    for name in ("jax", "jaxlib", "flax", "optax", "ogbench", "mujoco", "jupyter-book", "nbval", "ipykernel"):
        assert name in pins, f"{name} should be pinned in constraints.txt"
