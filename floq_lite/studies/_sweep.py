"""The resumable sweep shared by the book's studies: one JSON per cell, then one merged artifact.

A study defines its cells (objects with a ``key``) and a function that trains and measures one cell; :func:`run_cells`
skips cells whose JSON already exists, so a stopped sweep continues where it was, and writes the merged artifact with
its provenance (commit, hardware), training wall and CPU time, and the command that made it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from floq_lite.atomic import atomic_write_bytes


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=1) + "\n").encode())


def rounded(x: Any, digits: int = 5) -> Any:
    """A float array as nested lists rounded to ``digits`` (small artifacts)."""
    return np.round(np.asarray(x, dtype=float), digits).tolist()


def config_json(config: Any) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict (tuples as lists), as the studies store it in their artifacts."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def summary_only(line: str) -> None:
    """A ``log`` for the chapters' live re-runs: only the closing line of :func:`run_cells`, without the (temporary)
    directory it wrote to."""
    if line.startswith("wrote "):
        print("live study:", line.split(": ", 1)[-1])


RESUME_KEYS = ("format", "tier", "seeds", "problems")  # what must match before an earlier study's cells count


class ResumeMismatch(ValueError):
    """The earlier study given to resume from is not of this study's format, tier, seeds or problems."""


def check_resumable(earlier: Mapping[str, Any], header: Mapping[str, Any]) -> None:
    """Raise :class:`ResumeMismatch`, naming the first differing key, unless ``earlier`` is of this study."""
    for key in RESUME_KEYS:
        if json.loads(json.dumps(earlier.get(key))) != json.loads(json.dumps(header.get(key))):
            hint = f" (pass --tier {earlier.get('tier')})" if key == "tier" and earlier.get("tier") else ""
            raise ResumeMismatch(
                f"cannot resume from that study: its {key} is {_short(earlier.get(key))}, this one's is "
                f"{_short(header.get(key))}{hint}. Resume only from an artifact of the same study, tier, seeds and "
                "problems, or drop --from-artifact.")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _same_plan(stored: Mapping[str, Any], cell: Any) -> bool:
    """Was ``stored`` (a cell's JSON record) trained as ``cell`` plans it? Fields added to the plan after the record
    was written count with their defaults (an artifact older than a new field is still that plan)."""
    defaults = {f.name: f.default for f in dataclasses.fields(cell) if f.default is not dataclasses.MISSING}
    return json.loads(json.dumps({**defaults, **stored})) == json.loads(json.dumps(dataclasses.asdict(cell)))


def copy_done_cells(out: Path, cells: Sequence[Any], earlier: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Write the cells of ``earlier`` (a merged study, e.g. the committed artifact) that ``cells`` plans into
    ``out/cells/`` where they are missing, so that only the other cells train.

    A cell is copied only if it was trained with exactly this plan's settings (its stored ``cell`` equals the planned
    one, steps and width included); a cell whose plan changed is left to retrain. Each copied cell keeps the commit,
    hardware and date of the study it came from (``from_study``). Returns ``(copied keys, changed keys)``.
    """
    origin = {k: earlier[k] for k in ("created", "git", "hardware") if k in earlier}
    copied, changed = [], []
    for cell in cells:
        path = out / "cells" / f"{cell.key}.json"
        done = earlier.get("cells", {}).get(cell.key)
        if done is None or path.exists():
            continue
        if dataclasses.is_dataclass(cell) and not _same_plan(done.get("cell", {}), cell):
            changed.append(cell.key)
            continue
        write_json(path, {**done, "from_study": done.get("from_study", origin)})
        copied.append(cell.key)
    return copied, changed


def run_cells(out: str | os.PathLike[str], cells: Sequence[Any], run_cell: Callable[[Any], dict[str, Any]], *,
              artifact: str, header: Mapping[str, Any], log: Callable[[str], None] = print,
              resume_from: Mapping[str, Any] | None = None, jobs: int = 1) -> dict[str, Any]:
    """Train every cell into ``out/cells/<key>.json`` (existing ones are kept), then write ``out/<artifact>``:
    ``header`` + provenance + ``cells`` (by key) + summed ``wall_time_s`` / ``cpu_time_s`` of the cells, and
    ``elapsed_s``, the wall-clock time of the calls that trained them (``calls``: one entry per call).

    ``resume_from``: an earlier merged study of the same tier, seeds and problems; its cells are taken as done
    (:func:`copy_done_cells`), so a sweep whose run directory was lost continues from its committed artifact.

    ``jobs > 1`` trains that many cells at once, each in its own process (``run_cell`` must then be picklable, e.g. a
    ``functools.partial`` of a module-level function). A cell with a ``requires`` attribute (another cell's key)
    starts only after that cell is done, and among the cells ready to start the largest ``cost`` goes first, so the
    longest cells do not end up running alone at the end.
    """
    from floq_lite.reporting import _provenance

    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}.")
    if resume_from is not None:
        check_resumable(resume_from, header)  # before anything is written
    out = Path(out)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    if resume_from is not None:
        copied, changed = copy_done_cells(out, cells, resume_from)
        log(f"{len(copied)} of {len(cells)} cells taken from the earlier study"
            + (f"; planned differently now, so retrained: {', '.join(changed)}" if changed else ""))
    t0 = time.perf_counter()
    todo = [cell for cell in cells if not _cell_path(out, cell).exists()]
    if jobs == 1 or len(todo) < 2:
        for cell in todo:
            log(f"[{cells.index(cell) + 1}/{len(cells)}] {cell.key}")
            result = _train_cell(run_cell, cell, _cell_path(out, cell))
            log(f"    {result.get('summary', '')} in {result['wall_time_s']:.0f} s")
    else:
        _train_parallel(out, cells, todo, run_cell, jobs, log)
    calls_path = out / "calls.json"
    calls = json.loads(calls_path.read_text()) if calls_path.exists() else []
    if todo:
        calls.append({"jobs": jobs, "cells": len(todo), "elapsed_s": round(time.perf_counter() - t0, 1)})
        write_json(calls_path, calls)
    merged = {cell.key: json.loads(_cell_path(out, cell).read_text()) for cell in cells}
    study = {**header, **_provenance(), "cells": merged,
             "wall_time_s": round(sum(c["wall_time_s"] for c in merged.values()), 1),
             "cpu_time_s": round(sum(c["cpu_time_s"] for c in merged.values()), 1),
             "elapsed_s": round(sum(c["elapsed_s"] for c in calls), 1), "calls": calls}
    write_json(out / artifact, study)
    log(f"wrote {out / artifact}: {len(merged)} cells, {study['wall_time_s']:.0f} s of training "
        f"({time.perf_counter() - t0:.0f} s this call)")
    return study


def _cell_path(out: Path, cell: Any) -> Path:
    return out / "cells" / f"{cell.key}.json"


def _train_cell(run_cell: Callable[[Any], dict[str, Any]], cell: Any, path: Path) -> dict[str, Any]:
    """Train one cell, time it, write its JSON (atomically) and return it; also what a worker process runs."""
    w0, c0 = time.perf_counter(), time.process_time()
    result = run_cell(cell)
    result.update(wall_time_s=round(time.perf_counter() - w0, 1), cpu_time_s=round(time.process_time() - c0, 1))
    write_json(path, result)
    return result


def _train_parallel(out: Path, cells: Sequence[Any], todo: Sequence[Any], run_cell: Callable[[Any], dict[str, Any]],
                    jobs: int, log: Callable[[str], None]) -> None:
    """``todo`` on ``jobs`` worker processes: a cell starts once the cell it ``requires`` is done, largest ``cost``
    first. A failing cell stops the sweep after the running ones finish (their JSON is kept for the resume)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    waiting, running = list(todo), {}
    done = {cell.key for cell in cells if cell not in todo}
    # spawn: a fresh interpreter per worker (JAX's threads do not survive a fork)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        while waiting or running:
            ready = [c for c in waiting if getattr(c, "requires", None) in (None, *done)]
            for cell in sorted(ready, key=lambda c: -getattr(c, "cost", 0.0))[:jobs - len(running)]:
                waiting.remove(cell)
                log(f"[{cells.index(cell) + 1}/{len(cells)}] {cell.key} (started)")
                running[pool.submit(_train_cell, run_cell, cell, _cell_path(out, cell))] = cell
            if not running:
                missing = {getattr(c, "requires", None) for c in waiting}
                raise ValueError(f"cells require cells that are not in the plan: {', '.join(map(str, missing))}.")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                cell = running.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # a worker's traceback does not say which cell it was training
                    raise RuntimeError(f"cell {cell.key} failed: {exc}") from exc
                done.add(cell.key)
                log(f"    {cell.key}: {result.get('summary', '')} in {result['wall_time_s']:.0f} s")
