"""Choosing a headless OpenGL backend for MuJoCo (floq_lite.rendering)."""

import os
import sys

import pytest

from floq_lite import rendering


def test_falls_back_to_the_next_backend_and_names_the_fix(monkeypatch):
    monkeypatch.delitem(sys.modules, "mujoco", raising=False)
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    tried = []
    monkeypatch.setattr(rendering, "backend_works", lambda b, timeout=60.0: tried.append(b) or b == "osmesa")
    assert rendering.headless_gl() == "osmesa" and tried == ["egl", "osmesa"]
    assert os.environ["MUJOCO_GL"] == "osmesa" == os.environ["PYOPENGL_PLATFORM"]
    monkeypatch.setattr(rendering, "backend_works", lambda b, timeout=60.0: False)
    with pytest.raises(RuntimeError, match="apt-get install -y libosmesa6"):
        rendering.headless_gl("egl")


def test_keeps_the_backend_once_mujoco_is_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "mujoco", object())
    monkeypatch.setenv("MUJOCO_GL", "egl")
    monkeypatch.setattr(rendering, "backend_works", lambda b, timeout=60.0: pytest.fail("must not probe"))
    assert rendering.headless_gl("osmesa") == "egl"


def test_a_bogus_backend_does_not_work_here():
    assert rendering.backend_works("no-such-backend") is False
