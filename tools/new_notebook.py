"""Create a chapter notebook whose first cell is the standard Colab install cell.

Usage: python tools/new_notebook.py book/NN_name.ipynb "Title" [EXTRA,...]

The install cell names the extras of ``floq-lite`` the chapter imports (``ogbench`` for the OGBench chapters);
``tests/test_notebooks_meta.py`` derives them from each notebook's imports and checks the cell. The repository URL
comes from ``_config.yml`` (``repository.url``), the one place it is written.
"""

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def repository_url() -> str:
    """``repository.url`` of ``_config.yml``."""
    match = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", (ROOT / "_config.yml").read_text(),
                      flags=re.MULTILINE)
    if not match:
        raise ValueError("_config.yml has no repository.url")
    return match.group(1)


def colab_cell(extras: tuple[str, ...] = ()) -> str:
    """The first cell of a chapter: installs ``floq-lite[extras]`` in Colab, does nothing elsewhere."""
    spec = f"floq-lite[{','.join(extras)}]" if extras else "floq-lite"
    return (
        "# In Colab this installs floq_lite from the repository; anywhere else it does nothing.\n"
        "import sys\n\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "{spec} @ git+{repository_url()}"'
    )


COLAB_CELL = colab_cell()


def new_notebook(path: str, title: str, extras: tuple[str, ...] = ()) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    install = nbformat.v4.new_code_cell(colab_cell(extras))
    install.metadata["tags"] = ["remove-cell"]
    nb.cells = [install, nbformat.v4.new_markdown_cell(f"# {title}\n")]
    nbformat.write(nb, path)


if __name__ == "__main__":
    new_notebook(sys.argv[1], sys.argv[2], tuple(e for e in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if e))
