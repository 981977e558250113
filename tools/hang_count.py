"""Count notebook-execution hangs: execute every chapter ROUNDS times in the smoke tier, the way the book build does.

    python tools/hang_count.py --rounds 20 --out _build/hang-count      # about 3 min a round on 2 idle cores

Each notebook goes through book/_ext/floq_exec.py's ``execute_with_retry`` (jupyter-cache's single-notebook
execution, a stack-dumping watchdog per cell, one retry after a cell timeout) with the smoke-tier cell timeout, so
a hang here is the one the build would meet. Prints one line per round and a summary; writes ``summary.json``,
``notebook-hangs.jsonl`` and the stack dumps of any hang under ``--out``. The hang appeared under heavy CPU load:
run it beside a training run to reproduce those conditions, and say so when quoting the count.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _floq_exec():
    spec = importlib.util.spec_from_file_location("floq_exec", ROOT / "book" / "_ext" / "floq_exec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=20, help="executions of every chapter (default: %(default)s)")
    p.add_argument("--out", default="_build/hang-count", help="summary, hang log and dumps (default: %(default)s)")
    p.add_argument("--timeout", type=int, default=None, help="cell timeout in s (default: the smoke build's)")
    p.add_argument("--chapters", nargs="*", default=None, help="notebook paths (default: book/[0-9][0-9]_*.ipynb)")
    args = p.parse_args(argv)

    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    ex = _floq_exec()
    timeout = args.timeout or ex.SMOKE_CELL_TIMEOUT
    chapters = [Path(c) for c in args.chapters] if args.chapters else sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = ex.HangLog(out)
    os.environ["FLOQ_TIER"] = "smoke"  # the kernels inherit it
    os.environ.setdefault("FLOQ_PROGRESS", "0")
    executions, timeouts, failures, seconds = 0, 0, [], {c.stem: [] for c in chapters}
    started = time.time()
    for round_ in range(1, args.rounds + 1):
        line = []
        for chapter in chapters:
            nb = nbformat.read(chapter, as_version=4)
            # in the notebook's folder, as the build executes it (execute.run_in_temp: false)
            result = ex.execute_with_retry(single_nb_execution, nb, str(chapter.parent), timeout,
                                           allow_errors=False, log=log, name=f"round{round_}/{chapter.stem}")
            executions += 1
            timeouts += sum(a["timed_out"] for a in result.attempts)
            seconds[chapter.stem].append(sum(a["seconds"] for a in result.attempts))
            if result.err is not None:
                failures.append(f"round {round_} {chapter.stem}: {type(result.err).__name__}")
            line.append(f"{chapter.stem[:2]} {seconds[chapter.stem][-1]:.0f}s" + ("!" * (len(result.attempts) - 1)))
        print(f"round {round_}/{args.rounds}: " + ", ".join(line) + f" | timeouts so far {timeouts}", flush=True)
    summary = {"rounds": args.rounds, "executions": executions, "cell_timeout_s": timeout, "timeouts": timeouts,
               "failures": failures, "wall_time_s": round(time.time() - started),
               "median_s": {k: sorted(v)[len(v) // 2] for k, v in seconds.items()},
               "max_s": {k: max(v) for k, v in seconds.items()},
               "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()}}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{timeouts} cell timeout(s) in {executions} notebook executions ({args.rounds} rounds), "
          f"{len(failures)} failure(s) after retries; {summary['wall_time_s']} s; details in {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
