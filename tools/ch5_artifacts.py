"""Write chapter 5's artifacts (floq_lite/artifacts/pointmaze_medium_*.json) from the runs of tools/ch5_runs.sh.

    python tools/ch5_artifacts.py RUNS_DIR          # RUNS_DIR holds floq/, fql/, floq-k1/, floq-k4/
    python tools/ch5_artifacts.py RUNS_DIR --update-k-sweep   # only floq-k4/ (or k1): replace it in the k sweep
    python tools/ch5_artifacts.py RUNS_DIR --freeze           # only floq-freeze/ and fql-freeze/ (chapter 8)

* ``pointmaze_medium_runs.json``: floq and FQL at equal sizes and steps (``reporting.export_runs``, final = mean of
  the last three evaluations);
* ``pointmaze_medium_k_sweep.json``: floq trained with K = 1, 4 and 8 (the K = 8 run is the 5-seed one above);
* ``pointmaze_medium_range.json``: the final checkpoints of floq and FQL started at every free maze cell
  (``reporting.export_range``), up to the env's 1,000 steps;
* ``pointmaze_medium_value_maps.json``: the critic microscope of both final checkpoints (seed 0);
* ``pointmaze_medium_freeze.json`` (with ``--freeze``): chapter 8's runs with the features frozen at a quarter of
  training, the same seeds and sizes as the plain runs above and named as them ("floq", "FQL"), so that
  :func:`floq_lite.plotting.plasticity.freeze_pairs` pairs them seed by seed;
* ``pointmaze_medium_task1_fql.json`` (with ``--task1-run DIR``): the FQL run on task 1 that showed why the chapter
  uses task 3 (same sizes; stopped after 210,000 steps without a success since step 30,000).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from floq_lite import reporting

OUT = reporting.ARTIFACTS_DIR
COMMAND = "tools/ch5_runs.sh DATA_DIR RUNS_DIR all"
K_SWEEP = ((1, "floq-k1"), (4, "floq-k4"), (8, "floq"))  # (K, run directory of tools/ch5_runs.sh)
FREEZE = (("floq", "floq-freeze"), ("FQL", "fql-freeze"))  # (name of the plain twin, run directory)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", help="the RUNS_DIR of tools/ch5_runs.sh")
    p.add_argument("--out", default=str(OUT), help="artifact directory (default: %(default)s)")
    p.add_argument("--range-steps", type=int, default=1000, help="steps per start cell in the range test")
    p.add_argument("--skip-range", action="store_true")
    p.add_argument("--task1-run", default=None, help="the FQL calibration run on task 1 (optional)")
    p.add_argument("--update-k-sweep", action="store_true",
                   help="only put the K-sweep runs found in RUNS_DIR (floq-k1/, floq-k4/) into the existing "
                        "pointmaze_medium_k_sweep.json, keeping its other runs (when the others' directories are gone)")
    p.add_argument("--freeze", action="store_true",
                   help="only write pointmaze_medium_freeze.json from floq-freeze/ and fql-freeze/ in RUNS_DIR")
    args = p.parse_args(argv)
    runs, out = Path(args.runs), Path(args.out)
    extra = {"command": COMMAND, "artifact_command": "python tools/ch5_artifacts.py RUNS_DIR"}
    if args.freeze:
        found = {name: runs / d for name, d in FREEZE if (runs / d / "eval.csv").exists()}
        if not found:
            p.error(f"no floq-freeze/ or fql-freeze/ run with evaluations in {runs}: run "
                    f"`tools/ch5_runs.sh DATA_DIR {runs} freeze` first")
        path = out / "pointmaze_medium_freeze.json"
        reporting.export_runs(found, path, extra={
            "command": "tools/ch5_runs.sh DATA_DIR RUNS_DIR freeze",
            "artifact_command": "python tools/ch5_artifacts.py RUNS_DIR --freeze",
            "plain_runs": "pointmaze_medium_runs", "missing": [n for n, _ in FREEZE if n not in found]})
        print(f"wrote {path} ({', '.join(found)})")
        return 0
    if args.update_k_sweep:
        found = {f"floq K={k}": runs / name for k, name in K_SWEEP if k != 8 and (runs / name / "eval.csv").exists()}
        if not found:
            p.error(f"no floq-k1/ or floq-k4/ run with evaluations in {runs}: run `tools/ch5_runs.sh DATA_DIR {runs} k4` "
                    "(or k1) first")
        sweep_path = out / "pointmaze_medium_k_sweep.json"
        if not sweep_path.exists():
            p.error(f"{sweep_path} does not exist: --update-k-sweep adds to the committed sweep (check --out)")
        reporting.update_runs(sweep_path, found,
                              extra={"update_command": "python tools/ch5_artifacts.py RUNS_DIR --update-k-sweep"})
        print(f"updated {out / 'pointmaze_medium_k_sweep.json'} ({', '.join(found)})")
        return 0
    reporting.export_runs({"floq": runs / "floq", "FQL": runs / "fql"}, out / "pointmaze_medium_runs.json",
                          extra=extra)
    print(f"wrote {out / 'pointmaze_medium_runs.json'}")
    sweep = {f"floq K={k}": runs / name for k, name in K_SWEEP if (runs / name / "eval.csv").exists()}
    reporting.export_runs(sweep, out / "pointmaze_medium_k_sweep.json", extra=extra)
    print(f"wrote {out / 'pointmaze_medium_k_sweep.json'} ({', '.join(sweep)})")
    pair = {"floq": runs / "floq", "FQL": runs / "fql"}
    reporting.export_value_maps(pair, out / "pointmaze_medium_value_maps.json", resolution=4, extra=extra)
    print(f"wrote {out / 'pointmaze_medium_value_maps.json'}")
    if args.task1_run:
        note = {"note": "FQL with the chapter's sizes on task 1 (10 cells from the goal), launched for 500,000 steps "
                        "and stopped by hand after 210,000: best evaluation of any seed 0.35 (step 20,000), at most 0.05 after it",
                "command": "floq-lite train pointmaze-medium-navigate-singletask-v0 --agent fql --tier teach --seeds 5 "
                           "--steps 500000 (the sizes of tools/ch5_runs.sh)"}
        reporting.export_runs({"FQL, task 1": Path(args.task1_run)}, out / "pointmaze_medium_task1_fql.json",
                              extra=note)
        print(f"wrote {out / 'pointmaze_medium_task1_fql.json'}")
    if not args.skip_range:
        study = reporting.export_range(pair,
                                       out / "pointmaze_medium_range.json", max_steps=args.range_steps, extra=extra)
        print(f"wrote {out / 'pointmaze_medium_range.json'} ({study['eval_wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    sys.exit(main())
