"""End to end: ``floq-lite train`` against the official ``main.py``, same dataset, sizes and evaluation schedule.

    python benchmarks/official_loop.py --official PATH/TO/CMU-AIRe-floq --dataset-dir DIR \\
        [--agent floq] [--size teach] [--steps 2000] [--log-interval 500] [--eval-interval 1000] [--eval-episodes 5]

``DIR`` holds an OGBench dataset (``floq-lite data generate antmaze-large-navigate-v0 --dataset-dir DIR``); both
sides read the same files (the official code through ``ogbench.make_env_and_datasets``, pointed there by a temporary
``HOME/.ogbench/data``). Each side runs as its own process, one after the other, on one seed, with the sizes of
floq_lite's ``--size`` tier. Printed per side:

* **command**: the whole process (imports, dataset loading, compilation, training, logging, evaluations);
* **loop**: training, logging and evaluations only. floq_lite's is the ``wall_time_s`` its run records; the
  official one is its logged ``time/total_time`` at the last step plus the evaluation that follows it (timed by
  wrapping the official ``evaluate``);
* **steps/s** of the loop, and the official loop's time spent in evaluations.

Patches needed to run the official ``main.py`` offline (applied by the runner process, printed): ``wandb`` is a
stub that logs nothing (the official CSV logs are kept), and ``distrax`` a stub when it is not installed (only the
unused Gaussian actor refers to it). The official loop also evaluates at step 1; that evaluation is in its loop
time and is also printed on its own. Only meaningful on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from floq_lite.config import make_config

# Runs the official main.py with stubbed wandb (and distrax), timing every call of its evaluate().
RUNNER = r'''
import json, sys, time, types
official, timings = sys.argv[1], sys.argv[2]
sys.argv = [official + "/main.py"] + sys.argv[3:]
sys.path.insert(0, official)
run = types.SimpleNamespace(project="bench")
wandb = types.ModuleType("wandb")
wandb.init = lambda **kw: run
wandb.run = run
wandb.log = lambda *a, **k: None
wandb.Settings = lambda **kw: None
wandb.Image = wandb.Video = wandb.Histogram = type("Unused", (), {})
sys.modules["wandb"] = wandb
try:
    import distrax  # noqa: F401
except ImportError:
    stub = types.ModuleType("distrax")
    stub.__getattr__ = lambda name: type(name, (), {})
    sys.modules["distrax"] = stub
import main
durations = []
evaluate = main.evaluate
def timed(*args, **kwargs):
    t0 = time.perf_counter()
    out = evaluate(*args, **kwargs)
    durations.append(time.perf_counter() - t0)
    json.dump({"eval_s": durations}, open(timings, "w"))
    return out
main.evaluate = timed
from absl import app
app.run(main.main)
'''

CLI = "import sys; from floq_lite.cli import main; sys.exit(main())"  # floq-lite in this interpreter
PATCHES = ("wandb replaced by a stub that logs nothing (main.py's CSV logs are kept)",
           "distrax replaced by a stub when not installed (only the unused Gaussian actor refers to it)")


def _text(value) -> str:
    """A flag value as both command lines parse it: tuples without spaces."""
    return "(" + ",".join(map(str, value)) + ")" if isinstance(value, tuple) else str(value)  # (256,256)


def official_flags(agent: str, size: str, args) -> list[str]:
    ref = make_config(agent, tier=size)
    flags = [f"--agent={'agents/floq.py' if agent == 'floq' else 'agents/fql.py'}",
             f"--agent.batch_size={ref.batch_size}",
             f"--agent.actor_hidden_dims={_text(tuple(ref.actor_hidden_dims))}",
             f"--agent.value_hidden_dims={_text(tuple(ref.value_hidden_dims))}"]
    if agent == "floq":
        flags += [f"--agent.block_width={ref.block_width}", f"--agent.block_depth={ref.block_depth}",
                  f"--agent.critic_flow_steps={ref.critic_flow_steps}", f"--agent.noise_samples={ref.noise_samples}"]
    return flags + [f"--env_name={args.env}", f"--offline_steps={args.steps}", f"--log_interval={args.log_interval}",
                    f"--eval_interval={args.eval_interval}", f"--eval_episodes={args.eval_episodes}",
                    "--video_episodes=0", f"--save_interval={10 * args.steps}", f"--plot_interval={10 * args.steps}"]


def run_official(args, work: Path) -> dict:
    home = work / "home"
    (home / ".ogbench").mkdir(parents=True)
    (home / ".ogbench" / "data").symlink_to(Path(args.dataset_dir).resolve())
    timings = work / "official_eval.json"
    cmd = [sys.executable, "-c", RUNNER, str(Path(args.official).resolve()), str(timings),
           *official_flags(args.agent, args.size, args), f"--save_dir={work / 'official'}"]
    env = dict(os.environ, HOME=str(home), PYTHONPATH=os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH", ""), *args.official_path) if p))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=args.official, env=env, capture_output=True, text=True)
    command_s = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"the official main.py failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    logs = sorted((work / "official").rglob("train.csv"))
    if not logs:
        raise SystemExit(f"the official run wrote no train.csv under {work / 'official'}")
    rows = list(csv.DictReader(logs[-1].open()))
    last = rows[-1]
    eval_s = json.loads(timings.read_text())["eval_s"] if timings.exists() else []
    # total_time is logged before the evaluation at the same step, so the last evaluation is added.
    final_eval = eval_s[-1] if eval_s and args.steps % args.eval_interval == 0 else 0.0
    loop_s = float(last["time/total_time"]) + final_eval
    return {"command_s": command_s, "loop_s": loop_s, "eval_s": eval_s, "last_logged_step": int(float(last["step"]))}


def run_floq_lite(args, work: Path) -> dict:
    out = work / "floq_lite"
    # The sizes come from --tier (the official side gets the same tier's sizes as flags); only the schedule is set.
    sets = {"log_interval": args.log_interval, "eval_interval": args.eval_interval, "eval_episodes": args.eval_episodes}
    cmd = [sys.executable, "-c", CLI, "train", args.env, "--agent", args.agent, "--tier", args.size,
           "--steps", str(args.steps), "--seeds", "1", "--out", str(out), "--dataset-dir", args.dataset_dir,
           "--no-progress", *[a for k, v in sets.items() for a in ("--set", f"{k}={_text(v)}")]]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    command_s = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"floq-lite train failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    meta = json.loads((out / "config.json").read_text())
    return {"command_s": command_s, "loop_s": float(meta["wall_time_s"]), "steps_done": meta["steps_done"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--official", default=os.environ.get("FLOQ_OFFICIAL_DIR"), required="FLOQ_OFFICIAL_DIR" not in
                   os.environ, help="a CMU-AIRe/floq checkout (default: $FLOQ_OFFICIAL_DIR)")
    p.add_argument("--official-path", action="append", default=[], metavar="DIR",
                   help="extra import path for the official code's dependencies (ml_collections, absl); repeatable")
    p.add_argument("--dataset-dir", required=True, help="folder with the OGBench dataset files of --env")
    p.add_argument("--env", default="antmaze-large-navigate-singletask-v0")
    p.add_argument("--agent", default="floq", choices=("floq", "fql"))
    p.add_argument("--size", default="teach", choices=("smoke", "teach", "paper"))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--log-interval", type=int, default=500)
    p.add_argument("--eval-interval", type=int, default=1000)
    p.add_argument("--eval-episodes", type=int, default=5)
    p.add_argument("--json", default=None, help="also write the result to this JSON file")
    args = p.parse_args()
    if min(args.steps, args.log_interval, args.eval_interval, args.eval_episodes) < 1:
        p.error("--steps, --log-interval, --eval-interval and --eval-episodes must be at least 1 (both loops evaluate)")
    for patch in PATCHES:
        print(f"patch for the official run: {patch}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        official = run_official(args, work)
        ours = run_floq_lite(args, work)
    result = {"agent": args.agent, "size": args.size, "env": args.env, "steps": args.steps,
              "log_interval": args.log_interval, "eval_interval": args.eval_interval,
              "eval_episodes": args.eval_episodes, "official": official, "floq_lite": ours, "patches": PATCHES}
    for name, side in (("official", official), ("floq_lite", ours)):
        print(f"{name:9} command {side['command_s']:8.1f} s | loop {side['loop_s']:8.1f} s = "
              f"{args.steps / side['loop_s']:6.2f} steps/s")
    print(f"official evaluations: {', '.join(f'{s:.1f}' for s in official['eval_s'])} s (the first at step 1)")
    result["loop_speedup"] = round(official["loop_s"] / ours["loop_s"], 2)
    result["command_speedup"] = round(official["command_s"] / ours["command_s"], 2)
    print(f"floq_lite {result['loop_speedup']:.2f}x the official loop's steps/s "
          f"({result['command_speedup']:.2f}x for the whole command)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
