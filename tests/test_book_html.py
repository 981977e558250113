"""Headless-browser check of the built book (tools/check_pages.mjs), with the network blocked.

`make test` runs this after building the book in the smoke tier. Run it by hand with
    FLOQ_BOOK_HTML=_build/html pytest -m browser tests/test_book_html.py
It skips, saying why, when there is no built book, no node/playwright-core or no chromium, except under
CI=true, where a missing tool is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("FLOQ_BOOK_HTML", ROOT / "_build" / "html")).resolve()
SHOTS = Path(os.environ.get("FLOQ_SCREENSHOTS", ROOT / "_build" / "screenshots")).resolve()
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing_tool() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed (run `npm ci`)"
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)"
    return None


@pytest.mark.browser
def test_built_pages_work_offline():
    if not (HTML / "index.html").is_file():
        pytest.skip(f"no built book at {HTML} (build it first: `make test` does, or set FLOQ_BOOK_HTML)")
    missing = _missing_tool()
    if missing:
        if IN_CI:
            pytest.fail(f"browser check cannot run in CI: {missing}")
        pytest.skip(f"browser check skipped: {missing}")
    proc = subprocess.run(
        ["node", str(ROOT / "tools" / "check_pages.mjs"), str(HTML), str(SHOTS)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
        env={**os.environ, "CHROMIUM": CHROMIUM},
    )
    print(proc.stdout)
    assert proc.returncode == 0, f"check_pages.mjs failed (exit {proc.returncode}):\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
