"""The resumable sweep shared by the book's studies: one JSON per cell, then one merged artifact.

A study defines its cells (objects with a ``key``) and a function that trains and measures one cell; :func:`run_cells`
skips cells whose JSON already exists, so a stopped sweep continues where it was, and writes the merged artifact with
its provenance (commit, hardware), training wall and CPU time, and the command that made it.
"""

from __future__ import annotations

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


def summary_only(line: str) -> None:
    """A ``log`` for the chapters' live re-runs: only the closing line of :func:`run_cells`, without the (temporary)
    directory it wrote to."""
    if line.startswith("wrote "):
        print("live study:", line.split(": ", 1)[-1])


def run_cells(out: str | os.PathLike[str], cells: Sequence[Any], run_cell: Callable[[Any], dict[str, Any]], *,
              artifact: str, header: Mapping[str, Any], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train every cell into ``out/cells/<key>.json`` (existing ones are kept), then write ``out/<artifact>``:
    ``header`` + provenance + ``cells`` (by key) + summed ``wall_time_s`` / ``cpu_time_s`` of the cells."""
    from floq_lite.reporting import _provenance

    out = Path(out)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for i, cell in enumerate(cells):
        path = out / "cells" / f"{cell.key}.json"
        if path.exists():
            continue
        log(f"[{i + 1}/{len(cells)}] {cell.key}")
        w0, c0 = time.perf_counter(), time.process_time()
        result = run_cell(cell)
        result.update(wall_time_s=round(time.perf_counter() - w0, 1), cpu_time_s=round(time.process_time() - c0, 1))
        write_json(path, result)
        log(f"    {result.get('summary', '')} in {result['wall_time_s']:.0f} s")
    merged = {cell.key: json.loads((out / "cells" / f"{cell.key}.json").read_text()) for cell in cells}
    study = {**header, **_provenance(), "cells": merged,
             "wall_time_s": round(sum(c["wall_time_s"] for c in merged.values()), 1),
             "cpu_time_s": round(sum(c["cpu_time_s"] for c in merged.values()), 1)}
    write_json(out / artifact, study)
    log(f"wrote {out / artifact}: {len(merged)} cells, {study['wall_time_s']:.0f} s of training "
        f"({time.perf_counter() - t0:.0f} s this call)")
    return study
