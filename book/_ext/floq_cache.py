"""Cached notebook execution that also notices changes to floq_lite, its artifacts and the compute tier.

Jupyter Book's ``execute_notebooks: cache`` (jupyter-cache) keys a notebook on its cell sources only: after a change
to ``floq_lite`` or to ``FLOQ_TIER`` it would show stale outputs. This extension keeps a second key next to the
cache, a hash of every file of the package (code and committed artifacts), the tier and the notebook-relevant
environment; when it differs from the stored one, the whole cache is cleared before anything executes. So a rebuild
with nothing changed re-executes nothing, and any change that can alter an output re-executes everything.

``FLOQ_EXECUTE=force`` (``make test`` and CI) executes every notebook regardless (``execute_notebooks: force``).
It also prints each notebook's name and execution time as the build reads it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

logger = logging.getLogger(__name__)
KEY_FILE = "floq_cache_key.txt"
ENV_KEYS = ("FLOQ_TIER", "MUJOCO_GL", "FLOQ_NB_BUDGET_S", "FLOQ_CHECK_LEGENDS")


def cache_key(package_dir: Path, environ: dict[str, str] | None = None) -> str:
    """SHA-256 over the package's files (path and bytes, sorted) and the environment variables notebooks read."""
    environ = os.environ if environ is None else environ
    h = hashlib.sha256()
    for path in sorted(p for p in package_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(package_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for key in ENV_KEYS:
        h.update(f"{key}={environ.get(key, '')}\0".encode())
    return h.hexdigest()


def check_cache(cache_dir: Path, key: str) -> bool:
    """Clear ``cache_dir`` if its stored key differs from ``key``; store ``key``. True if the cache was kept."""
    stored = cache_dir / KEY_FILE
    kept = stored.is_file() and stored.read_text().strip() == key
    if not kept and cache_dir.exists():
        shutil.rmtree(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stored.write_text(key + "\n")
    return kept


def _config_inited(app: Sphinx, config: Config) -> None:
    if os.environ.get("FLOQ_EXECUTE") == "force":
        config.nb_execution_mode = "force"
    if config.nb_execution_mode != "cache":
        return
    cache_dir = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    package = Path(app.srcdir) / "floq_lite"
    kept = check_cache(cache_dir, cache_key(package))
    state = "kept" if kept else "cleared (floq_lite, its artifacts or FLOQ_TIER changed)"
    logger.info(f"[floq_cache] notebook cache {state}: {cache_dir}")


_started: dict[str, float] = {}


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    _started[docname] = time.perf_counter()


def _doctree_read(app: Sphinx, doctree) -> None:
    docname = app.env.docname
    if docname in _started and str(app.env.doc2path(docname)).endswith(".ipynb"):
        print(f"[make book] {docname}: {time.perf_counter() - _started.pop(docname):.0f} s", flush=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _config_inited, priority=900)  # after myst-nb has registered its settings
    app.connect("source-read", _source_read)
    app.connect("doctree-read", _doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
