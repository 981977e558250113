"""The per-notebook retry of book/_ext/floq_exec.py: a notebook whose cell times out is executed again from its
original cells, with both sides' stacks dumped while the cell hangs; other errors are not retried."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from conftest import new_notebook




def test_watchdog_fires_only_for_a_cell_that_outlives_its_deadline(book_ext):
    ex = book_ext("floq_exec")
    slow, fired = [], threading.Event()
    dog = ex.CellWatchdog(0.2, lambda i: (slow.append(i), fired.set()))
    dog.on_cell_execute(cell_index=0)
    dog.on_cell_execute(cell_index=1)  # cell 0 finished in time: its timer is replaced
    assert fired.wait(30)
    dog.on_cell_execute(cell_index=2)
    dog.hooks()["on_cell_executed"](cell_index=2)  # cell 2's reply came: disarmed
    dog.close()
    assert slow == [1]


def test_a_timed_out_notebook_is_executed_again_with_stacks_dumped(book_ext, tmp_path):
    from jupyter_cache.executors.utils import single_nb_execution

    ex = book_ext("floq_exec")
    marker = tmp_path / "first-try"
    # the first execution hangs in cell 1 past the timeout (as a lost reply would); the retry finds the marker
    nb = new_notebook("x = 1", f"import pathlib, time\np = pathlib.Path({str(marker)!r})\n"
                   "if not p.exists():\n    p.touch()\n    time.sleep(30)\nprint('done', x)")
    log = ex.HangLog(tmp_path / "build")
    first_cells = list(nb.cells)
    result = ex.execute_with_retry(single_nb_execution, nb, str(tmp_path), timeout=8, allow_errors=False,
                                   log=log, name="book/99_test")
    assert result.err is None
    assert [a["timed_out"] for a in result.attempts] == [True, False]
    # the same notebook object (myst-nb holds it), with fresh cells from the original, run to the end
    assert result.nb is nb and nb.cells[1] is not first_cells[1]
    assert nb.cells[1].outputs[0]["text"] == "done 1\n"
    entries = [json.loads(line) for line in log.log.read_text().splitlines()]
    assert len(entries) == 1 and entries[0]["notebook"] == "book/99_test" and entries[0]["retried"]
    dumps = [Path(p) for p in entries[0]["dumps"]]
    client = [p for p in dumps if p.name.endswith("client.txt")]
    assert client and "99_test-cell1-try1" in client[0].name and "Thread" in client[0].read_text()
    kernel = [p for p in dumps if "kernel" in p.name]
    assert kernel
    if ex.find_py_spy():  # the kernel's stack: inside the cell that sleeps
        assert "run_cell" in kernel[0].read_text(), kernel[0].read_text()


def test_an_ordinary_cell_error_is_not_retried(book_ext, tmp_path):
    from jupyter_cache.executors.utils import single_nb_execution

    ex = book_ext("floq_exec")
    nb = new_notebook("raise ValueError('a real bug')")
    log = ex.HangLog(tmp_path / "build")
    result = ex.execute_with_retry(single_nb_execution, nb, str(tmp_path), timeout=60, allow_errors=False, log=log)
    assert result.err is not None and "a real bug" in str(result.err)
    assert len(result.attempts) == 1 and not log.log.exists()


def test_the_extension_routes_both_myst_nb_paths_through_the_retry_and_shortens_smoke_timeouts(book_ext, tmp_path,
                                                                                               monkeypatch):
    from types import SimpleNamespace

    from jupyter_cache.executors import utils
    from myst_nb.core.execute import cache, direct

    ex = book_ext("floq_exec")
    for module in (cache, direct):  # restored after the test
        monkeypatch.setattr(module, "single_nb_execution", module.single_nb_execution)
    monkeypatch.setenv("FLOQ_TIER", "smoke")
    app = SimpleNamespace(outdir=str(tmp_path / "_build" / "html"), env=None)
    config = SimpleNamespace(nb_execution_timeout=600)
    ex._config_inited(app, config)
    assert config.nb_execution_timeout == ex.SMOKE_CELL_TIMEOUT
    assert direct.single_nb_execution is cache.single_nb_execution is not utils.single_nb_execution
    result = direct.single_nb_execution(new_notebook("print(6 * 7)"), cwd=str(tmp_path), timeout=60,
                                        allow_errors=False, meta_override=True)  # as myst-nb calls it
    assert result.err is None and result.attempts[0]["timed_out"] is False
    assert result.nb.cells[0].outputs[0]["text"] == "42\n"
    monkeypatch.setenv("FLOQ_TIER", "teach")
    config = SimpleNamespace(nb_execution_timeout=600)
    ex._config_inited(app, config)
    assert config.nb_execution_timeout == 600  # the teach tier keeps the configured timeout
