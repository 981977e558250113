"""Fixtures shared by several test files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from floq_lite.agents._common import random_transitions  # noqa: F401  (tests import it from here)

BOOK_EXT = Path(__file__).resolve().parents[1] / "book" / "_ext"


@pytest.fixture(scope="session")
def book_ext():
    """``book_ext(name)`` loads ``book/_ext/<name>.py``, one of the book's Sphinx extensions (not a package);
    skipped without the book extra."""
    pytest.importorskip("myst_nb", reason="book/_ext needs the book extra (pip install -e .[book])")

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, BOOK_EXT / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def new_notebook(*sources: str):
    """An nbformat v4 notebook with a python3 kernelspec and one code cell per source."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb




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
