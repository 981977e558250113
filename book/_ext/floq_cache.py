"""Cached notebook execution that also notices changes to floq_lite, its artifacts and the compute tier.

Jupyter Book's ``execute_notebooks: cache`` (jupyter-cache) keys a notebook on its cell sources only: after a change
to ``floq_lite`` or to ``FLOQ_TIER`` it would show stale outputs. This extension keeps a second key next to the
cache, a hash of every file of the package (code and committed artifacts), the tier and the notebook-relevant
environment; when it differs from the stored one, the whole cache is cleared before anything executes. So a rebuild
with nothing changed re-executes nothing, and any change that can alter an output re-executes everything.

``FLOQ_EXECUTE=force`` (``make test`` and CI) executes every notebook regardless (``execute_notebooks: force``).
It also prints each notebook's name and execution time as the build reads it.

In cache mode, the notebooks the cache lacks are executed ``FLOQ_BOOK_JOBS`` at a time (default 2 where there are
2 CPUs or more) before Sphinx reads anything, each through ``floq_exec``'s retrying execution, and cached; Sphinx
then reads them from the cache. Sphinx itself reads one document at a time, so without this a 2-core machine runs
one notebook at a time. A notebook whose execution fails here is not cached, so Sphinx executes it again in the
usual way and reports the error there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
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


def _cache_dir(app: Sphinx) -> Path:
    """Where myst-nb keeps the executed notebooks (its setting, else jupyter-book's default beside the HTML)."""
    return Path(app.config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")


def _config_inited(app: Sphinx, config: Config) -> None:
    if os.environ.get("FLOQ_EXECUTE") == "force":
        config.nb_execution_mode = "force"
    if config.nb_execution_mode != "cache":
        return
    cache_dir = _cache_dir(app)
    package = Path(app.srcdir) / "floq_lite"
    kept = check_cache(cache_dir, cache_key(package))
    state = "kept" if kept else "cleared (floq_lite, its artifacts or FLOQ_TIER changed)"
    logger.info(f"[floq_cache] notebook cache {state}: {cache_dir}")


def toc_notebooks(srcdir: Path) -> list[Path]:
    """The notebooks ``_toc.yml`` lists, in its order."""
    import yaml

    def files(node):
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                yield node["file"]
            for value in node.values():
                yield from files(value)
        elif isinstance(node, list):
            for value in node:
                yield from files(value)

    toc = yaml.safe_load((srcdir / "_toc.yml").read_text())
    paths = [srcdir / f"{name}.ipynb" for name in [toc.get("root"), *files(toc)]]
    return [path for path in paths if path.is_file()]


def pre_execute(notebooks: list[Path], cache_dir: Path, jobs: int, timeout: int | None, hang_root: Path) -> None:
    """Execute the notebooks that ``cache_dir`` holds no outputs for, ``jobs`` at a time, and cache them.

    The executions run in threads: each only drives its own kernel process, which does the work. Database writes
    stay in this thread (jupyter-cache's SQLite store).
    """
    import nbformat
    from floq_exec import HangLog, execute_with_retry
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    cache = get_cache(str(cache_dir))
    todo = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            todo.append((path, nb, cache.add_nb_to_project(str(path))))
    if not todo:
        return
    log = HangLog(hang_root)
    start = time.perf_counter()
    print(f"[make book] executing {len(todo)} notebooks, {jobs} at a time", flush=True)

    def run(path: Path, nb):
        t0 = time.perf_counter()
        result = execute_with_retry(single_nb_execution, nb, cwd=str(path.parent), timeout=timeout,
                                    allow_errors=False, log=log, name=path.stem)
        return result, time.perf_counter() - t0

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run, path, nb): (path, nb, record) for path, nb, record in todo}
        for future in as_completed(futures):
            path, nb, record = futures[future]
            try:
                result, seconds = future.result()
            except Exception as exc:  # e.g. a kernel that would not start: Sphinx tries again and reports it
                print(f"[make book] {path.stem}: could not be executed here ({exc!r}); executing it again while "
                      "reading it", flush=True)
                continue
            if result.err is None:
                cache.cache_notebook_bundle(CacheBundleIn(nb, record.uri, data={"execution_seconds": result.time}),
                                            check_validity=False, overwrite=True)
                print(f"[make book] {path.stem}: executed in {seconds:.0f} s", flush=True)
            else:  # Sphinx executes it again and reports the error with the build's usual context
                print(f"[make book] {path.stem}: failed ({type(result.err).__name__}); executing it again while "
                      "reading it, to report the error", flush=True)
    print(f"[make book] executed {len(todo)} notebooks in {time.perf_counter() - start:.0f} s", flush=True)


def _builder_inited(app: Sphinx) -> None:
    if app.config.nb_execution_mode != "cache":
        return
    jobs = int(os.environ.get("FLOQ_BOOK_JOBS", min(2, os.cpu_count() or 1)))
    if jobs < 2:
        return
    pre_execute(toc_notebooks(Path(app.srcdir)), _cache_dir(app), jobs, app.config.nb_execution_timeout,
                Path(app.outdir).parent)


_started: dict[str, float] = {}


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    _started[docname] = time.perf_counter()


def _doctree_read(app: Sphinx, doctree) -> None:
    docname = app.env.docname
    if docname in _started and str(app.env.doc2path(docname)).endswith(".ipynb"):
        print(f"[make book] {docname}: {time.perf_counter() - _started.pop(docname):.0f} s", flush=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _config_inited, priority=900)  # after myst-nb has registered its settings
    app.connect("builder-inited", _builder_inited)
    app.connect("source-read", _source_read)
    app.connect("doctree-read", _doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
