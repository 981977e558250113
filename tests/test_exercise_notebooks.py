"""Every chapter's exercises follow the book's four-cell pattern, and the solutions shown cannot drift from the checks.

For each ``{exercise}`` labelled ``chN-ex-...`` the next three cells must be: the student's template (it raises
``NotImplementedError`` and carries the commented check call), the ``{solution}`` dropdown, and a hidden cell running
``checks.chN.<name>(checks.chN.reference_<name>)``. The dropdown's code must be ``reference_<name>``'s source verbatim.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(p for p in BOOK.glob("[0-9][0-9]_*.ipynb"))


def _exercises(path: Path):
    cells = json.loads(path.read_text())["cells"]
    texts = ["".join(c["source"]) for c in cells]
    for i, text in enumerate(texts):
        for label in re.findall(r":label: (ch\d+-ex-[\w-]+)", text):
            yield label, cells[i + 1 : i + 4], texts[i + 1 : i + 4]


CASES = [(nb, label, cells, texts) for nb in NOTEBOOKS for label, cells, texts in _exercises(nb)]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_chapter_has_two_to_four_exercises(notebook):
    assert 2 <= len(list(_exercises(notebook))) <= 4, f"{notebook.name} should have 2-4 exercises"


@pytest.mark.parametrize("notebook, label, cells, texts", CASES, ids=[c[1] for c in CASES])
def test_exercise_follows_the_pattern_and_shows_the_checked_reference(notebook, label, cells, texts):
    chapter = label.split("-")[0]  # "ch1"
    template, solution, check = texts
    assert cells[0]["cell_type"] == "code" and "raise NotImplementedError" in template
    assert re.search(rf"^# checks\.{chapter}\.\w+\(\w+\)  # uncomment to check( your answer)?$", template,
                     flags=re.MULTILINE)
    assert f"```{{solution}} {label}" in solution and ":class: dropdown" in solution
    assert "remove-cell" in cells[2]["metadata"].get("tags", [])
    call = re.fullmatch(rf"checks\.{chapter}\.(\w+)\(checks\.{chapter}\.reference_\1\)", check.strip())
    assert call, f"{label}: the hidden cell should be checks.{chapter}.<name>(checks.{chapter}.reference_<name>)"
    module = importlib.import_module(f"floq_lite.checks.{chapter}")
    reference = getattr(module, f"reference_{call.group(1)}")
    shown = [s.strip() for s in re.findall(r"```python\n(.*?)\n```", solution, flags=re.DOTALL)]
    assert inspect.getsource(reference).strip() in shown, f"{label}: the dropdown differs from {reference.__name__}"


def _check_and_reference(label: str, check_text: str):
    chapter = label.split("-")[0]
    name = re.fullmatch(rf"checks\.{chapter}\.(\w+)\(.*\)", check_text.strip()).group(1)
    module = importlib.import_module(f"floq_lite.checks.{chapter}")
    return getattr(module, name), getattr(module, f"reference_{name}")


@pytest.mark.parametrize("notebook, label, cells, texts", CASES, ids=[c[1] for c in CASES])
def test_reference_passes_its_check_with_a_tick(notebook, label, cells, texts, capsys):
    check, reference = _check_and_reference(label, texts[2])
    assert check(reference) is True
    assert "\u2713" in capsys.readouterr().out


@pytest.mark.parametrize("notebook, label, cells, texts", CASES, ids=[c[1] for c in CASES])
def test_unfinished_template_gets_a_helpful_message(notebook, label, cells, texts):
    from floq_lite.checks import CheckFailed

    check, _ = _check_and_reference(label, texts[2])

    def template(*args):
        raise NotImplementedError("Your code here")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check(template)
