"""Headless OpenGL for MuJoCo rendering: pick a backend that works on this machine before MuJoCo is imported.

MuJoCo reads ``MUJOCO_GL`` once, when it is first imported, and a missing EGL (some Colab runtimes, containers
without GPU drivers) only shows up later, deep inside the first render call. :func:`headless_gl` tries each backend
in a throw-away subprocess first (EGL, then OSMesa), sets ``MUJOCO_GL`` (and ``PYOPENGL_PLATFORM``) to the first that
can create a context, and otherwise raises an error that says what to install.
"""

from __future__ import annotations

import os
import subprocess
import sys

BACKENDS = ("egl", "osmesa")
INSTALL_HINT = ("install a headless OpenGL: on Debian/Ubuntu (and Colab) `apt-get install -y libegl1 libgl1` for "
                "EGL, or `apt-get install -y libosmesa6` for OSMesa (slower, CPU only), then restart the kernel")
_PROBE = "import mujoco; mujoco.GLContext(8, 8).make_current()"


def backend_works(backend: str, timeout: float = 60.0) -> bool:
    """Whether MuJoCo can create an offscreen context with ``MUJOCO_GL=backend`` (checked in a subprocess)."""
    env = dict(os.environ, MUJOCO_GL=backend, PYOPENGL_PLATFORM=backend)
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, timeout=timeout,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def headless_gl(preferred: str | None = None) -> str:
    """Set ``MUJOCO_GL`` to a working headless backend and return its name.

    ``preferred`` (default: ``$MUJOCO_GL`` if set, else EGL) is tried first, then the others. If MuJoCo is already
    imported, the backend cannot change any more: the current one is returned unchecked.
    """
    if "mujoco" in sys.modules:
        return os.environ.get("MUJOCO_GL", "glfw")
    first = preferred or os.environ.get("MUJOCO_GL") or BACKENDS[0]
    for backend in dict.fromkeys((first, *BACKENDS)):
        if backend_works(backend):
            os.environ["MUJOCO_GL"] = backend
            os.environ["PYOPENGL_PLATFORM"] = backend
            return backend
    raise RuntimeError(f"No headless OpenGL backend works here (tried {', '.join(dict.fromkeys((first, *BACKENDS)))})"
                       f": {INSTALL_HINT}.")


__all__ = ["BACKENDS", "backend_works", "headless_gl"]
