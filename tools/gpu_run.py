"""The GPU run in one call: throughput, antmaze data, and time-boxed paper-configuration training of floq and FQL.

Run through ``tools/gpu_run.sh`` (which installs the carried wheels first and tees this output into the log):

    tools/gpu_run.sh                 # on the GPU machine: about 9 minutes in all
    tools/gpu_run.sh --smoke         # the same stages on a CPU with tiny sizes, in about a minute (tests run this)

Stages, in this order, each timestamped; a stage that fails is reported and the later ones still run where they can:

1. ``env``: devices, jax / jaxlib / CUDA versions (``nvidia-smi``), the Python packages in use.
2. ``throughput``: median ms per update and updates/s of floq and FQL for 1, 2, 4 and 8 vmapped seeds at the paper
   size (batch 256, 4x512, K 8, R 8), then at the teach size, after compilation, with the analytic FLOPs of
   ``floq_lite.reporting.update_flops`` and the achieved TFLOP/s (``benchmarks/update_speed.py``'s ``bench``).
   First, so that even a run cut short yields it.
3. ``data``: antmaze-large-navigate-v0 at full size (1,000 + 100 episodes of 1,001 steps) with the shipped ant
   expert, spread over the machine's CPU cores.
4. ``train``: floq, then FQL, at the paper configuration on antmaze-large-navigate-singletask-v0, 3 seeds vmapped,
   each for a fixed wall-clock budget, then evaluated with 50 episodes per seed.

Results (at most 8 files, flat, under ``--out``): ``summary.json`` (every stage's status, timings and numbers),
``throughput.json`` (a ``floq_lite.update_speed/1`` artifact), ``antmaze_large_gpu_runs.json`` (a
``floq_lite.runs/1`` artifact, as ``reporting.export_runs`` writes it for chapter 6), ``floq_run.tar.gz`` and
``fql_run.tar.gz`` (``config.json``, ``metrics.csv``, ``eval.csv`` of each run; checkpoints only if small), and the
log that ``gpu_run.sh`` writes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tarfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
ENV_NAME = "antmaze-large-navigate-singletask-v0"
DATASET = "antmaze-large-navigate-v0"
MAX_FILES = 8  # what the device tool brings back
CHECKPOINT_LIMIT = 12 * 2**20  # bytes: a checkpoint travels back only below this


class Plan:
    """Sizes and budgets of one GPU run (``smoke`` shrinks every one of them)."""

    def __init__(self, smoke: bool, train_seconds: float, throughput_seconds: float, workers: int):
        self.smoke = smoke
        self.speed_sizes = ("smoke",) if smoke else ("paper", "teach")
        self.speed_seeds = [2] if smoke else [1, 2, 4, 8]
        self.speed_steps = 3 if smoke else 20  # timed updates per measurement
        self.throughput_seconds = throughput_seconds  # no new measurement starts after this
        self.episodes = 2 if smoke else 1000  # train episodes (val: a tenth, at least 1)
        self.episode_length = 60 if smoke else 1001
        self.workers = workers
        self.tier = "smoke" if smoke else "paper"
        self.seeds = 2 if smoke else 3
        self.train_seconds = train_seconds
        self.eval_episodes = 2 if smoke else 50
        self.eval_max_steps = 30 if smoke else None  # the env's own limit (1000) on the GPU
        # One log row per 1,000 steps (the time budget is checked at the end of each chunk); evaluation only at the
        # end (eval_interval beyond any reachable step).
        self.overrides = dict(log_interval=5 if smoke else 1000, eval_interval=10**9,
                              eval_episodes=self.eval_episodes)
        # Out of reach in both modes: the wall-clock budget ends every run, as on the GPU (a smoke run that finished
        # its steps early on a fast CPU would skip the budget path the smoke mode is there to test).
        self.max_steps = 100_000 if smoke else 2_000_000


def stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


def say(message: str) -> None:
    print(f"[{stamp()}] {message}", flush=True)


class Summary:
    """``summary.json``, rewritten atomically after every stage so that a killed run still leaves it."""

    def __init__(self, out: Path, plan: Plan):
        self.path = out / "summary.json"
        self.data: dict[str, Any] = {"format": "floq_lite.gpu_run/1", "started": stamp(), "smoke": plan.smoke,
                                     "argv": sys.argv[1:], "stages": {}}
        self.write()

    def write(self) -> None:
        from floq_lite.atomic import atomic_write_bytes

        atomic_write_bytes(self.path, (json.dumps(self.data, indent=2, default=str) + "\n").encode())

    def stage(self, name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        say(f"stage {name}: start")
        t0 = time.perf_counter()
        try:
            result = fn()
            status = "ok"
        except Exception as exc:  # noqa: BLE001 - one failed stage must not lose the others' results
            traceback.print_exc()
            result, status = {"error": f"{type(exc).__name__}: {exc}"}, "failed"
        seconds = round(time.perf_counter() - t0, 1)
        self.data["stages"][name] = {"status": status, "seconds": seconds, **result}
        self.write()
        say(f"stage {name}: {status} in {seconds} s")
        return result if status == "ok" else None


# --- stages ---------------------------------------------------------------------------------------------------------


def stage_env() -> dict[str, Any]:
    import jax
    import jaxlib

    from floq_lite.training import hardware

    info: dict[str, Any] = {"hardware": hardware(), "jaxlib": jaxlib.__version__,
                            "python": platform.python_version(), "cpu_count": os.cpu_count()}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=False)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
        cuda = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=20, check=False).stdout
        info["cuda_version"] = next((ln.split("CUDA Version:")[1].split("|")[0].strip()
                                     for ln in cuda.splitlines() if "CUDA Version:" in ln), None)
    except (OSError, subprocess.SubprocessError) as exc:
        info["nvidia_smi"] = f"unavailable ({type(exc).__name__})"
    import importlib.metadata as md

    info["packages"] = {name: _version(md, name) for name in
                        ("jax", "jaxlib", "flax", "optax", "numpy", "ogbench", "mujoco", "gymnasium")}
    say(f"jax {jax.__version__} on {jax.default_backend()}: {jax.devices()}")
    return info


def _version(md: Any, name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("update_speed", ROOT / "benchmarks" / "update_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage_throughput(plan: Plan, out: Path) -> dict[str, Any]:
    import jax

    from floq_lite import reporting

    bench = _load_benchmark().bench
    rows, skipped, t0 = [], [], time.perf_counter()
    for size in plan.speed_sizes:
        for agent in ("floq", "fql"):
            if time.perf_counter() - t0 > plan.throughput_seconds:
                skipped.append(f"{size}/{agent}")
                continue
            row = bench(agent, size, "fused", plan.speed_steps, plan.speed_seeds, scan=False)
            rows.append(row)
            per_seed = ", ".join(f"{n}: {row[f'seeds{n}_ms']:.2f} ms ({row[f'seeds{n}_gflops'] / 1e3:.2f} TFLOP/s)"
                                 for n in plan.speed_seeds)
            say(f"{size} {agent}: {row['ms_per_update']:.2f} ms/update ({row['updates_per_s']:.0f}/s), compile "
                f"{row['compile_s']:.1f} s, {row['gflop_per_update']:.1f} GFLOP; vmapped seeds {per_seed}")
    if skipped:
        say(f"throughput budget of {plan.throughput_seconds:.0f} s spent; not measured: {', '.join(skipped)}")
    backend = jax.default_backend()
    reporting.export_update_speed(
        rows, out / "throughput.json",
        source=f"tools/gpu_run.py: benchmarks/update_speed.py bench(), {plan.speed_steps} timed updates per "
               f"measurement, median ms per jitted update after compilation, vmapped seeds {plan.speed_seeds}",
        extra={"measured_on": f"jax {backend} backend: {[str(d) for d in jax.devices()]}", "skipped": skipped})
    return {"rows": rows, "skipped": skipped}


def stage_data(plan: Plan, data_dir: Path) -> dict[str, Any]:
    import numpy as np

    from floq_lite.data import generate_navigate, write_dataset

    t0 = time.perf_counter()
    data = generate_navigate(DATASET, episodes=plan.episodes, episode_length=plan.episode_length,
                             workers=plan.workers, progress=False)
    seconds = time.perf_counter() - t0
    write_dataset(DATASET, data.train, data.val, data_dir)
    rows = int(len(data.train["terminals"]))
    say(f"{DATASET}: {plan.episodes} episodes, {rows:,} rows in {seconds:.0f} s with {plan.workers} workers "
        f"({rows / seconds:,.0f} env steps/s); {data.train_goals_reached.mean():.2f} goals per episode")
    return {"episodes": plan.episodes, "rows": rows, "val_rows": int(len(data.val["terminals"])),
            "generate_s": round(seconds, 1), "workers": plan.workers,
            "goals_per_episode": float(np.mean(data.train_goals_reached)),
            "observations_checksum": float(np.asarray(data.train["observations"], np.float64).sum())}


def stage_train(agent: str, plan: Plan, data_dir: Path, runs_dir: Path, out: Path) -> dict[str, Any]:
    from floq_lite import training

    run_dir = runs_dir / agent
    result = training.train(ENV_NAME, agent=agent, tier=plan.tier, seeds=plan.seeds, steps=plan.max_steps,
                            out=run_dir, dataset_dir=data_dir, overrides=dict(plan.overrides),
                            eval_max_episode_steps=plan.eval_max_steps, time_budget_s=plan.train_seconds,
                            progress=False, download=False, log=say)
    success = [r["success_rate"] for r in result.last_eval]
    say(f"{agent}: {result.step} steps in {result.wall_time_s:.0f} s ({result.status}); success per seed {success}")
    archive = out / f"{agent}_run.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("config.json", "metrics.csv", "eval.csv"):
            tar.add(run_dir / name, arcname=f"{agent}/{name}")
        ckpt = run_dir / training.CHECKPOINT
        if ckpt.exists() and ckpt.stat().st_size < CHECKPOINT_LIMIT:
            tar.add(ckpt, arcname=f"{agent}/{training.CHECKPOINT}")
    return {"steps": result.step, "run_status": result.status,
            "wall_time_s": round(result.wall_time_s, 1), "steps_per_s": round(result.step / result.wall_time_s, 2),
            "success_per_seed": success, "archive_bytes": archive.stat().st_size}


def export_runs(runs: dict[str, Path], plan: Plan, out: Path) -> dict[str, Any]:
    from floq_lite import reporting

    note = (f"tools/gpu_run.py{' --smoke' if plan.smoke else ''}: paper configuration, {plan.seeds} seeds vmapped, "
            f"{plan.train_seconds:.0f} s of wall time per agent, one evaluation of {plan.eval_episodes} episodes "
            "per seed at the end")
    reporting.export_runs({k: str(v) for k, v in runs.items()}, out / "antmaze_large_gpu_runs.json", last_n=1,
                          extra={"note": note})
    return {"artifact": "antmaze_large_gpu_runs.json"}


def imported_distributions() -> list[str]:
    """The installed distributions whose modules this run imported (what the GPU machine must have)."""
    import importlib.metadata as md

    owners = md.packages_distributions()
    tops = {name.split(".")[0] for name in list(sys.modules)}
    return sorted({dist for top in tops for dist in owners.get(top, [])})


# --- main -----------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="results folder ($OUT on the GPU machine)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes on any machine (the CI check of this script)")
    p.add_argument("--train-seconds", type=float, default=None,
                   help="wall-clock budget per agent (default: 150 on a GPU, 10 with --smoke)")
    p.add_argument("--throughput-seconds", type=float, default=None,
                   help="no new throughput measurement starts after this (default: 120, 60 with --smoke)")
    p.add_argument("--workers", type=int, default=None, help="data-generation processes (default: CPU count)")
    p.add_argument("--work", default=None, help="scratch folder for the dataset and run directories "
                                                "(default: a folder in /tmp)")
    p.add_argument("--skip", default="", help="comma list of stages to skip: throughput, data, train")
    args = p.parse_args(argv)

    smoke = args.smoke
    plan = Plan(smoke, train_seconds=args.train_seconds if args.train_seconds is not None else (10 if smoke else 150),
                throughput_seconds=args.throughput_seconds or (60 if smoke else 120),
                workers=args.workers or (2 if smoke else max(1, os.cpu_count() or 1)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else Path("/tmp") / f"floq-gpu-run-{os.getpid()}"
    data_dir, runs_dir = work / "data", work / "runs"
    skip = {s for s in args.skip.split(",") if s}
    summary = Summary(out, plan)

    summary.stage("env", stage_env)
    if "throughput" not in skip:
        summary.stage("throughput", lambda: stage_throughput(plan, out))
    have_data = False
    if "data" not in skip:
        have_data = summary.stage("data", lambda: stage_data(plan, data_dir)) is not None
    runs: dict[str, Path] = {}
    if "train" not in skip:
        if not have_data and not (data_dir / f"{DATASET}.npz").exists():
            say("stage train: skipped, no dataset")
        else:
            for agent in ("floq", "fql"):
                if summary.stage(f"train_{agent}", lambda a=agent: stage_train(a, plan, data_dir, runs_dir, out)):
                    runs[agent] = runs_dir / agent
    if runs:
        summary.stage("export", lambda: export_runs(runs, plan, out))

    files = sorted(f.name for f in out.iterdir())
    summary.data.update(finished=stamp(), files=files, imported_distributions=imported_distributions())
    summary.write()
    failed = [k for k, v in summary.data["stages"].items() if v["status"] != "ok"]
    say(f"done: {len(files)} file(s) in {out}: {', '.join(files)}; failed stages: {failed or 'none'}")
    if len(files) + 1 > MAX_FILES:  # + the log gpu_run.sh writes
        say(f"warning: more than {MAX_FILES} files; the device tool brings back only {MAX_FILES}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    raise SystemExit(main())
