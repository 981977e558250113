"""Every page in _toc.yml exists, and every chapter notebook has the shape the book and Colab rely on.

A chapter notebook must: be listed in _toc.yml; start with the exact Colab install cell from
tools/new_notebook.py, with the extras its imports need (tagged remove-cell); be committed without outputs or execution counts; have a
plain-text H1 title (no math or markup: it shows raw in the sidebar); use the python3 kernel.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _load_new_notebook():
    spec = importlib.util.spec_from_file_location("new_notebook", ROOT / "tools" / "new_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NEW_NOTEBOOK = _load_new_notebook()
# Modules whose use needs the `ogbench` extra (OGBench envs, MuJoCo, the generated datasets): a notebook importing
# any of them must install floq-lite[ogbench] in Colab.
OGBENCH_MODULES = ("ogbench", "mujoco", "floq_lite.data", "floq_lite.evaluation", "floq_lite.training",
                   "floq_lite.expert", "floq_lite.plotting.maze", "floq_lite.plotting.antmaze")


def _imported_modules(code: str) -> set[str]:
    found = set()
    for line in code.splitlines():
        m = re.match(r"\s*from\s+([\w.]+)\s+import\s+(.+)", line)
        if m:
            found.add(m.group(1))
            found.update(f"{m.group(1)}.{n.strip().split(' as ')[0]}" for n in m.group(2).strip("()").split(","))
        m = re.match(r"\s*import\s+([\w.]+)", line)
        if m:
            found.add(m.group(1))
    return found


def needed_extras(nb: dict) -> tuple[str, ...]:
    code = "\n".join(_source(c) for c in nb["cells"][1:] if c["cell_type"] == "code")
    mods = _imported_modules(code)
    uses_ogbench = any(m == o or m.startswith(o + ".") for m in mods for o in OGBENCH_MODULES)
    return ("ogbench",) if uses_ogbench else ()
CODE_COLUMNS = 88
NOT_PLAIN = re.compile(r"[$\\`*<>\[\]{}]")


def _toc_files(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                found.append(node[key])
        for value in node.values():
            if isinstance(value, (dict, list)):
                found.extend(_toc_files(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_toc_files(item))
    return found


TOC_FILES = _toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text()))


def _resolve(entry: str) -> Path | None:
    path = ROOT / entry
    if path.suffix in (".ipynb", ".md") and path.is_file():
        return path
    for suffix in (".ipynb", ".md"):
        if path.with_suffix(suffix).is_file():
            return path.with_suffix(suffix)
    return None


NOTEBOOKS = [p for p in map(_resolve, TOC_FILES) if p is not None and p.suffix == ".ipynb"]


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _outside_fences(text: str) -> list[str]:
    lines, fence = [], None
    for line in text.splitlines():
        marker = re.match(r"\s*(```+|~~~+|:::+)", line)
        if marker and (fence is None or marker.group(1).startswith(fence)):
            fence = None if fence else marker.group(1)[:3]
        elif fence is None:
            lines.append(line)
    return lines


CODE_FENCE = re.compile(r"^[ \t]*(`{3,})(?![`{])[\w+-]*[ \t]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)


def _fenced_code(text: str) -> list[str]:
    """Lines of the code blocks of a markdown cell (```bash, ```python, plain ```), nested in directives or not;
    directive fences (```{exercise}) hold prose, which wraps, and are not code."""
    return [line for m in CODE_FENCE.finditer(text) for line in m.group(2).splitlines()]


def _check_title(text: str, where: str) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines and lines[0].startswith("# "), f"{where}: must start with a level-1 '# Title' heading"
    title = lines[0][2:].strip()
    assert title, f"{where}: empty title"
    assert not NOT_PLAIN.search(title), f"{where}: title {title!r} must be plain text (no math or markup)"


def test_toc_lists_pages():
    assert TOC_FILES, "_toc.yml lists no pages"
    assert len(TOC_FILES) == len(set(TOC_FILES)), "_toc.yml lists a page twice"


@pytest.mark.parametrize("entry", TOC_FILES)
def test_toc_entry_exists(entry):
    path = _resolve(entry)
    assert path is not None, f"{entry} is in _toc.yml but neither {entry}.ipynb nor {entry}.md exists"
    if path.suffix == ".md":
        _check_title(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


def test_every_notebook_is_in_toc():
    listed = {p.resolve() for p in NOTEBOOKS}
    orphans = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "book").rglob("*.ipynb"))
               if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts and p.resolve() not in listed]
    assert not orphans, f"notebooks missing from _toc.yml (only_build_toc_files would skip them): {orphans}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_meta(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    name = str(path.relative_to(ROOT))
    assert nb.get("nbformat") == 4, f"{name}: nbformat 4 expected"
    kernelspec = nb.get("metadata", {}).get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{name}: kernelspec name must be python3, got {kernelspec!r}"

    cells = nb.get("cells", [])
    assert cells, f"{name}: no cells"
    first = cells[0]
    want = NEW_NOTEBOOK.colab_cell(needed_extras(nb))
    assert first["cell_type"] == "code" and _source(first) == want, (
        f"{name}: the first cell must be tools/new_notebook.py's colab_cell{needed_extras(nb)!r} "
        f"(the extras its imports need):\n{want}"
    )
    assert "remove-cell" in first.get("metadata", {}).get("tags", []), f"{name}: the Colab cell must be tagged remove-cell"

    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{name}: cell {i} has outputs; commit notebooks without outputs"
            assert cell.get("execution_count") is None, f"{name}: cell {i} has an execution count"
            # the page's code column shows ~88 characters; a longer line is cut off or scrolls
            long = [line for line in _source(cell).splitlines() if len(line) > CODE_COLUMNS]
            assert not long, f"{name}: cell {i} has code lines over {CODE_COLUMNS} characters: {long}"

    markdown = [c for c in cells if c["cell_type"] == "markdown"]
    assert markdown, f"{name}: no markdown cell with the title"
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":  # code blocks in prose are shown in the same code column
            long = [line for line in _fenced_code(_source(cell)) if len(line) > CODE_COLUMNS]
            assert not long, f"{name}: cell {i} has code-block lines over {CODE_COLUMNS} characters: {long}"
    _check_title(_source(markdown[0]), f"{name} (first markdown cell)")
    h1 = [line for c in markdown for line in _outside_fences(_source(c)) if re.match(r"# \S", line)]
    assert len(h1) == 1, f"{name}: exactly one level-1 heading expected (the title), found {len(h1)}"


def test_code_blocks_in_markdown_are_found_and_directive_prose_is_not():
    text = ("Text\n```bash\nrun it\n```\n````{solution} x\n:class: dropdown\n\n```python\nx = 1\n```\n````\n"
            "```{exercise} A long title\nprose that wraps\n```\n")
    assert _fenced_code(text) == ["run it", "x = 1"]


def test_needed_extras_follow_the_imports():
    cell = lambda code: {"cell_type": "code", "source": code}  # noqa: E731
    nb = {"cells": [cell("install"), cell("from floq_lite import checks, pick\nfrom floq_lite.studies import mdp")]}
    assert needed_extras(nb) == ()
    nb["cells"].append(cell("from floq_lite import evaluation, training"))
    assert needed_extras(nb) == ("ogbench",)
    assert needed_extras({"cells": [cell(""), cell("from floq_lite.plotting import maze as m")]}) == ("ogbench",)


def test_repository_url_is_written_in_one_place():
    url = NEW_NOTEBOOK.repository_url()
    assert url.startswith("https://github.com/")
    readme = (ROOT / "README.md").read_text()
    others = re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", readme)
    assert all(o.removesuffix(".git") == url for o in others), f"README.md links another repository than {url}"
    assert f"colab.research.google.com/github/{url.split('github.com/')[1]}/" in readme
    for path in NOTEBOOKS:
        first = _source(json.loads(path.read_text())["cells"][0])
        assert f"git+{url}" in first, f"{path.name}: install cell does not use {url}"


def test_chapter_map_lists_the_toc_chapters_in_order():
    intro = (ROOT / "book" / "intro.md").read_text()
    chapter_map = intro.split("## Chapter map", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. \*\*(.+?)\.\*\*", chapter_map, flags=re.MULTILINE)
    titles = []
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        first_md = next(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
        titles.append(first_md.splitlines()[0][2:].strip())
    chapters = [t for p, t in zip(NOTEBOOKS, titles) if re.match(r"\d\d_", p.name)]
    assert listed == chapters, f"book/intro.md's chapter map {listed} differs from the toc's chapters {chapters}"
    assert "later release" not in chapter_map
