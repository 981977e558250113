"""Create a chapter notebook whose first cell is the standard Colab install cell.

Usage: python tools/new_notebook.py book/NN_name.ipynb "Title"
"""

import sys

import nbformat

COLAB_CELL = """\
# In Colab this installs floq_lite from the repository; anywhere else it does nothing.
import sys

if "google.colab" in sys.modules:
    %pip install -q "floq-lite @ git+https://github.com/floq-book/floq-book"\
"""


def new_notebook(path: str, title: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    install = nbformat.v4.new_code_cell(COLAB_CELL)
    install.metadata["tags"] = ["remove-cell"]
    nb.cells = [install, nbformat.v4.new_markdown_cell(f"# {title}\n")]
    nbformat.write(nb, path)


if __name__ == "__main__":
    new_notebook(sys.argv[1], sys.argv[2])
