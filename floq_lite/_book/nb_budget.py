"""pytest plugin: a time budget per notebook for nbval runs.

    FLOQ_NB_BUDGET_S=60 pytest -p floq_lite._book.nb_budget --nbval-lax book/

lists every notebook's total run time (kernel start included) after the run, and fails the session when
one of them took longer than FLOQ_NB_BUDGET_S seconds. `make test` uses it for the smoke tier.
"""

from __future__ import annotations

import os
from collections import defaultdict

_nb_seconds: dict[str, float] = defaultdict(float)


def _budget() -> float:
    return float(os.environ.get("FLOQ_NB_BUDGET_S", "0") or 0)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _nb_seconds[path] += report.duration


def _over() -> dict[str, float]:
    budget = _budget()
    return {p: s for p, s in _nb_seconds.items() if budget and s > budget}


def pytest_sessionfinish(session, exitstatus):
    if _over() and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _nb_seconds:
        return
    budget = _budget()
    terminalreporter.section(f"notebook run times (budget {budget:.0f} s each)" if budget else "notebook run times")
    for path, secs in sorted(_nb_seconds.items(), key=lambda kv: -kv[1]):
        flag = "  OVER BUDGET" if budget and secs > budget else ""
        terminalreporter.write_line(f"{secs:7.1f}s  {path}{flag}")
    if _over():
        terminalreporter.write_line(f"FAILED: notebooks over the {budget:.0f} s budget: {', '.join(_over())}", red=True)
