"""Numbers typed into the book's prose must come from somewhere: the rule "glue it, compute it, or test it".

A result in a chapter's Markdown is either computed in a cell (printed, or displayed as a sentence or table) or read
from a committed artifact. This test covers the numbers that go stale most easily: every **timing** (``365 s``,
``22 minutes``) and **percentage** (``91%``) in a chapter's Markdown, outside code and math. Each must be

* a value of a committed artifact that the page loads (``reporting.load_artifact("...")`` in its code; a fraction
  may appear as a percentage, seconds as minutes or hours), or a published number the book quotes with its source
  (``reporting.PAPER_RESULTS``, the tables of ``plotting.iterative``), rounded as written; or
* a design constant of the page, listed in ``DESIGN`` below with the reason (a threshold, a mixture weight).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
PAGES = sorted(BOOK.glob("[0-9][0-9]_*.ipynb")) + sorted(p for p in BOOK.glob("*.md"))
NUMBER = re.compile(r"(?<![\w.$])(\d[\d,]*(?:\.\d+)?)\s?(%|ms|s|min|minutes|seconds|hours|h)(?![\w])")

# Numbers that are settings of a page, not results (page stem -> {literal: why}).
DESIGN = {
    "01_flow_matching_1d": {"60%": "mixture weight of the target", "40%": "mixture weight of the target"},
    "04_design_choices": {"1%": "the bin-mass threshold the chapter counts with", "0.1%": "a smaller threshold",
                          "80%": "the paper's statement about HL-Gauss bins (quoted)"},
    "08_plastic_features": {"25%": "the freeze point of the protocol", "99%": "the srank threshold (delta = 0.01)",
                            "30%": "the follow-up's distributional backup on humanoidmaze-large (quoted)",
                            "52%": "the follow-up's expected backup on humanoidmaze-large (quoted)"},
    "appendix_concordance": {"80%": "the paper's HL-Gauss statement", "86%": "a reviewer's reading of Fig. 4",
                             "55%": "a reviewer's reading of Fig. 4"},
}


def _prose(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    for pattern in (r"```.*?```", r"````.*?````", r"\$\$.*?\$\$", r"`[^`\n]*`", r"\$[^$\n]*\$"):
        text = re.sub(pattern, " ", text, flags=re.S)
    return text


def _numbers(tree) -> list[float]:
    out = []
    if isinstance(tree, dict):
        for v in tree.values():
            out += _numbers(v)
    elif isinstance(tree, list):
        for v in tree:
            out += _numbers(v)
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool) and math.isfinite(tree):
        out.append(float(tree))
    return out


@pytest.fixture(scope="module")
def paper() -> list[float]:
    from floq_lite import reporting
    from floq_lite.plotting import iterative

    return _numbers(reporting.PAPER_RESULTS) + [float(v) for _, vs in iterative.PAPER_K_SWEEP.values() for v in vs]


def _loaded_artifacts(path: Path) -> list[float]:
    """The numbers of the committed artifacts a notebook loads."""
    if path.suffix != ".ipynb":
        return []
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    values = []
    for name in re.findall(r"load_artifact\(\s*[\"']([\w.-]+)[\"']", code):
        file = ROOT / "floq_lite" / "artifacts" / (name if name.endswith((".json", ".csv")) else f"{name}.json")
        if file.suffix == ".json" and file.exists():
            values += _numbers(json.loads(file.read_text()))
    return values


def _matches(literal: str, unit: str, values: list[float]) -> bool:
    number = float(literal.replace(",", ""))
    digits = len(literal.split(".")[1]) if "." in literal else 0
    tol = 0.5 * 10 ** -digits + 1e-9
    scale = {"%": (1.0, 100.0), "ms": (1.0, 1e3), "s": (1.0,), "seconds": (1.0,), "min": (1 / 60, 1.0),
             "minutes": (1 / 60, 1.0), "h": (1 / 3600, 1.0), "hours": (1 / 3600, 1.0)}[unit]
    return any(abs(v * f - number) <= tol for v in values for f in scale)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_timings_and_percentages_in_prose_come_from_artifacts_or_are_listed(path, paper):
    allowed = DESIGN.get(path.stem, {})
    known = paper + _loaded_artifacts(path)
    stray = []
    for m in NUMBER.finditer(_prose(path)):
        literal = m.group(0).replace(" ", "")
        if literal in allowed or m.group(0) in allowed:
            continue
        if not _matches(m.group(1), m.group(2), known):
            stray.append(m.group(0))
    assert not stray, (f"{path.name}: {stray} in the prose match no committed artifact or quoted paper number; "
                       "print them from a cell (or glue them), or list a design constant in DESIGN with the reason")


def test_the_check_can_fail():
    assert not _matches("365", "s", [1.0, 2.0]) and _matches("26", "min", [1560.0]) and _matches("84", "%", [0.84])
