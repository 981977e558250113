"""Fixtures shared by several test files."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A dataset directory holding a tiny generated pointmaze-medium navigate dataset (2 + 1 episodes of 200 steps).

    Read-only for the tests that use it (tiny real training runs and the reporting artifacts).
    """
    pytest.importorskip("ogbench")
    from floq_lite.data import navigate, ogbench_io

    name = "pointmaze-medium-navigate-v0"
    root = tmp_path_factory.mktemp("ogbench")
    data = navigate.generate_navigate(name, episodes=2, val_episodes=1, episode_length=200, seed=0, progress=False)
    ogbench_io.write_dataset(name, data.train, data.val, root)
    return root
