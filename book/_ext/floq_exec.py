"""Notebook execution that survives the rare lost-message hang: a per-notebook retry, with stack dumps of both sides.

About once in a few dozen notebook executions under heavy CPU load, a cell never gets its reply: the kernel and the
client both sit idle in their event loops (seen with py-spy; ipykernel 6.31, jupyter_client 8.10, pyzmq 27.3), so
only the cell timeout ends it. This extension wraps the single-notebook execution that myst-nb uses in both of its
modes (``force`` and ``cache``):

* a watchdog per cell: when a cell has run for ``DUMP_FRACTION`` of its timeout, the stacks of the client (this
  process, every thread) and of the kernel (``py-spy dump``) are written to ``<build>/hang-dumps/``, so a hang
  leaves evidence of where each side waits;
* when the execution ends in a ``CellTimeoutError``, that notebook alone is executed again from its original
  cells, once; each timeout and its dump files are logged (``<build>/notebook-hangs.jsonl``, one JSON line per
  hang) and printed in the build's output. Any other error is not retried.

In the smoke tier (``FLOQ_TIER=smoke``, what the tests build) the cell timeout is ``SMOKE_CELL_TIMEOUT``, so a hang
costs minutes instead of the teach tier's ten.
"""

from __future__ import annotations

import copy
import datetime
import faulthandler
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

SMOKE_CELL_TIMEOUT = 240  # s: a smoke-tier cell takes seconds; longer than this under load is a hang
DUMP_FRACTION = 0.75  # dump both sides' stacks when a cell has run this share of its timeout
RETRIES = 1  # extra executions of a notebook whose execution timed out


def kernel_pids(parent: int | None = None) -> list[int]:
    """Process ids of the ipykernel children of ``parent`` (default: this process)."""
    import psutil

    found = []
    for child in psutil.Process(parent or os.getpid()).children(recursive=True):
        try:
            if any("ipykernel" in part for part in child.cmdline()):
                found.append(child.pid)
        except psutil.Error:  # gone meanwhile
            continue
    return found


def find_py_spy() -> str | None:
    """py-spy on PATH or beside this Python (a venv's bin/, which make does not put on PATH)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.is_file() else None)


def dump_stacks(out_dir: Path, label: str, written: list[str]) -> None:
    """Write this process's thread stacks and ``py-spy dump`` of each kernel child to ``out_dir``, appending each
    file's path to ``written`` as soon as it exists (so a timeout that comes mid-dump still logs what is there)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    client = out_dir / f"{label}-{stamp}-client.txt"
    with open(client, "w") as f:
        faulthandler.dump_traceback(file=f, all_threads=True)
    written.append(str(client))
    py_spy = find_py_spy()
    for pid in kernel_pids():
        path = out_dir / f"{label}-{stamp}-kernel-{pid}.txt"
        if py_spy is None:
            text = "py-spy is not installed (pip install py-spy): no kernel stack\n"
        else:
            try:
                done = subprocess.run([py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True,
                                      timeout=60)
                text = done.stdout + done.stderr
            except (OSError, subprocess.SubprocessError) as err:  # a dump must never break the build
                text = f"py-spy dump failed: {err!r}\n"
        path.write_text(text)
        written.append(str(path))


class CellWatchdog:
    """nbclient hooks: a timer armed as each cell starts executing, which calls ``on_slow(cell_index)`` if the cell
    is still running ``after`` seconds later."""

    def __init__(self, after: float, on_slow: Callable[[int], None]):
        self.after, self.on_slow = after, on_slow
        self._timer: threading.Timer | None = None
        self._timers: list[threading.Timer] = []  # every timer started, so that close() can wait for a running dump

    def on_cell_execute(self, cell: Any = None, cell_index: int = 0, **_: Any) -> None:
        self.cancel()
        self._timer = threading.Timer(self.after, self.on_slow, args=(cell_index,))
        self._timer.daemon = True
        self._timers.append(self._timer)
        self._timer.start()

    def cancel(self, **_: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self, wait_s: float = 90.0) -> None:
        """Disarm, and wait for a dump that is already running to finish."""
        self.cancel()
        for timer in self._timers:
            timer.join(wait_s)

    def hooks(self) -> dict[str, Callable[..., None]]:
        # on_cell_executed comes with the cell's reply, which a hung cell never gets: its dump still happens
        return {"on_cell_execute": self.on_cell_execute, "on_cell_executed": self.cancel,
                "on_notebook_complete": self.cancel, "on_notebook_error": self.cancel}


class HangLog:
    """Where the dumps and the JSON-lines record of hangs go (set by the Sphinx build, or by a tool)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.dumps = self.root / "hang-dumps"
        self.log = self.root / "notebook-hangs.jsonl"

    def record(self, entry: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def execute_with_retry(execute: Callable[..., Any], nb: Any, cwd: str | None, timeout: int | None,
                       allow_errors: bool, meta_override: bool = True, record_timing: bool = False,
                       log: HangLog | None = None, name: str | None = None, **kwargs: Any):
    """``execute`` (jupyter-cache's ``single_nb_execution``) with a stack-dumping watchdog per cell and one retry
    of the whole notebook after a ``CellTimeoutError``. Same arguments and result as ``execute``; the notebook is
    executed in place, and a retry starts from a copy of the cells as they were given."""
    from nbclient.exceptions import CellTimeoutError

    log = log or HangLog(Path("_build"))
    name = name or "notebook"
    if meta_override:  # the timeout the execution will use (a notebook's metadata may set its own)
        timeout = nb.metadata.get("execution", {}).get("timeout", timeout)
    original = copy.deepcopy(nb)
    attempts = []
    for attempt in range(RETRIES + 1):
        dumps: list[str] = []

        def on_slow(cell_index: int, attempt=attempt, dumps=dumps) -> None:
            dump_stacks(log.dumps, f"{Path(name).stem}-cell{cell_index}-try{attempt + 1}", dumps)

        after = DUMP_FRACTION * timeout if timeout and timeout > 0 else None  # -1 or None: no limit
        watchdog = CellWatchdog(after, on_slow) if after else None
        hooks = watchdog.hooks() if watchdog else {}
        start = time.monotonic()
        try:
            result = execute(nb, cwd=cwd, timeout=timeout, allow_errors=allow_errors, meta_override=meta_override,
                             record_timing=record_timing, **hooks, **kwargs)
        finally:
            if watchdog:
                watchdog.close()
        timed_out = isinstance(result.err, CellTimeoutError)
        attempts.append({"attempt": attempt + 1, "seconds": round(time.monotonic() - start, 1),
                         "timed_out": timed_out, "dumps": dumps})
        if not timed_out:
            break
        log.record({"notebook": name, "when": datetime.datetime.now().isoformat(timespec="seconds"),
                    "timeout_s": timeout, "attempt": attempt + 1, "retried": attempt < RETRIES,
                    "error": str(result.err).splitlines()[0] if str(result.err) else "CellTimeoutError",
                    "dumps": dumps})
        print(f"[floq_exec] {name}: a cell timed out after {timeout} s (attempt {attempt + 1}); stacks in "
              f"{log.dumps}; " + ("executing the notebook again" if attempt < RETRIES else "giving up"), flush=True)
        if attempt < RETRIES:
            nb.clear()
            nb.update(copy.deepcopy(original))
    result.attempts = attempts
    return result


def _install(log: HangLog, current_name: Callable[[], str]) -> None:
    """Route myst-nb's two execution paths through :func:`execute_with_retry`; ``current_name()`` names the
    notebook being executed."""
    from jupyter_cache.executors import utils
    from myst_nb.core.execute import cache, direct

    plain = utils.single_nb_execution

    def wrapped(nb, cwd, timeout, allow_errors, meta_override=True, record_timing=False, **kwargs):
        return execute_with_retry(plain, nb, cwd, timeout, allow_errors, meta_override, record_timing, log=log,
                                  name=current_name(), **kwargs)

    direct.single_nb_execution = wrapped
    cache.single_nb_execution = wrapped


def _config_inited(app, config) -> None:
    if os.environ.get("FLOQ_TIER") == "smoke" and config.nb_execution_timeout > SMOKE_CELL_TIMEOUT:
        config.nb_execution_timeout = SMOKE_CELL_TIMEOUT
    # myst-nb executes a notebook while Sphinx reads it, so the document being read is the one executing
    _install(HangLog(Path(app.outdir).parent), lambda: str(app.env.docname) if app.env else "notebook")


def setup(app) -> dict:
    app.connect("config-inited", _config_inited, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
