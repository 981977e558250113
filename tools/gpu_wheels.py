"""The wheels the GPU machine lacks (``tools/gpu_wheels.txt``): download them into ``.whl/``, or check that folder.

    python tools/gpu_wheels.py            # here, before asking for a GPU: pip download into .whl/ (git-ignored)
    python tools/gpu_wheels.py --check    # .whl/ holds exactly the listed wheels (gpu_run.sh runs this there)

The machine runs Python 3.12 on x86-64 Linux and has no package registry; its own packages are listed in
``tools/gpu_image_packages.txt``. ``tests/test_gpu_run.py`` checks that the two lists cover every distribution the
GPU run imports, so a missing wheel is found here, not on the machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "tools" / "gpu_wheels.txt"
IMAGE = ROOT / "tools" / "gpu_image_packages.txt"
WHEEL_DIR = ROOT / ".whl"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64", "any")


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name (``PyOpenGL`` -> ``pyopengl``, ``mujoco_core`` -> ``mujoco-core``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(path: Path) -> list[str]:
    return [ln.split("#")[0].strip() for ln in path.read_text().splitlines() if ln.split("#")[0].strip()]


def wanted() -> dict[str, str]:
    """``{name: version}`` of ``tools/gpu_wheels.txt``."""
    out = {}
    for spec in _names(LIST):
        name, _, version = spec.partition("==")
        if not version:
            raise ValueError(f"{LIST}: pin every wheel as NAME==VERSION, got {spec!r}")
        out[canonical(name)] = version
    return out


def image_packages() -> set[str]:
    """Distributions the GPU machine's image already has (``tools/gpu_image_packages.txt``)."""
    return {canonical(n) for n in _names(IMAGE)}


def wheel_files(folder: Path = WHEEL_DIR) -> list[tuple[str, str]]:
    """``(name, version)`` of every ``.whl`` file in ``folder``."""
    return [(canonical(f.name.split("-")[0]), f.name.split("-")[1]) for f in sorted(folder.glob("*.whl"))]


def check(folder: Path = WHEEL_DIR) -> list[str]:
    """Problems with ``folder`` against the list (empty: fine). Two versions of one wheel stop the install."""
    want, have = wanted(), wheel_files(folder)
    problems = [f"missing wheel {n}=={v}" for n, v in want.items() if (n, v) not in have]
    problems += [f"unexpected wheel {n}=={v} (a second version, or not in {LIST.name})" for n, v in have
                 if want.get(n) != v]
    return problems


def download(folder: Path = WHEEL_DIR) -> None:
    folder.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
           "3.12", "--implementation", "cp", *[a for p in PLATFORMS for a in ("--platform", p)], "-d", str(folder),
           *[f"{n}=={v}" for n, v in wanted().items()]]
    subprocess.run(cmd, check=True)


def main(argv: list[str]) -> int:
    if "--check" not in argv:
        download()
    problems = check()
    for p in problems:
        print(f"gpu_wheels: {p}")
    if not problems:
        size = sum(f.stat().st_size for f in WHEEL_DIR.glob("*.whl"))
        print(f"gpu_wheels: ok, {len(wanted())} wheels in {WHEEL_DIR} ({size / 2**20:.1f} MiB; the device "
              "tool carries at most 64 MiB with the repository)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
