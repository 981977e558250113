"""Write chapter 6's artifacts (floq_lite/artifacts/) from the real runs, each part only when its input is given.

    python tools/ch6_artifacts.py \\
        --expert-run runs/ant-expert \\                      # -> ant_expert_training.csv
        --dataset-dir ~/.ogbench/data \\                     # -> antmaze_large_coverage.json
        --floq runs/antmaze-floq --fql runs/antmaze-fql \\   # -> antmaze_large_cpu_runs.json, _value_maps.json,
                                                            #    _rollouts.json
        --k-eval --k-episodes 10 \\                          # -> antmaze_large_k_eval.json (from --floq)
        --speed-from-readme                                  # -> update_speed_cpu.json (README's measured table)

Measured speeds instead (idle machine): python benchmarks/update_speed.py --sizes smoke,teach,paper --seeds 1
--artifact floq_lite/artifacts/update_speed_cpu.json

``--maze medium`` (or giant) names the dataset and run artifacts antmaze_medium_* instead (runs made with
MAZE=medium tools/ch6_runs.sh). Every artifact records the commit and hardware of the machine that wrote it; the run
artifacts also keep those of the runs themselves. ``--note TEXT`` is stored in the run artifacts' ``extra`` (say how
the runs were made).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from floq_lite import reporting

OUT = reporting.ARTIFACTS_DIR
MAZES = ("medium", "large", "giant")

# README.md "Speed" table (commit e63afdd), measured with benchmarks/update_speed.py on this project's 2-core CPU.
README_SPEED = [
    ("smoke", "floq", 3.3), ("smoke", "fql", 0.6),
    ("teach", "floq", 86.0), ("teach", "fql", 6.1),
    ("paper", "floq", 586.0), ("paper", "fql", 40.0),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--maze", choices=MAZES, default="large", help="the antmaze of the dataset and runs")
    p.add_argument("--expert-run", help="ant-expert run directory (floq-lite expert train --out DIR)")
    p.add_argument("--dataset-dir", help="directory holding antmaze-MAZE-navigate-v0.npz")
    p.add_argument("--dataset-note", default="", help="how the dataset was made (stored in the coverage artifact)")
    p.add_argument("--floq", help="floq run directory (floq-lite train ... --agent floq)")
    p.add_argument("--fql", help="FQL run directory")
    p.add_argument("--note", default="", help="how the runs were made (stored in the runs artifact)")
    p.add_argument("--last-n", type=int, default=3, help="evaluations averaged for the final number")
    p.add_argument("--k-eval", action="store_true", help="evaluate --floq with K = 1..32 (takes minutes)")
    p.add_argument("--ks", default="1,2,4,8,16,32")
    p.add_argument("--k-episodes", type=int, default=None, help="episodes per seed and K (default: the run's)")
    p.add_argument("--k-max-episode-steps", type=int, default=None)
    p.add_argument("--value-maps-resolution", type=int, default=4)
    p.add_argument("--rollout-episodes", type=int, default=None,
                   help="episodes per seed for the rollouts artifact (default: the run's evaluation episodes)")
    p.add_argument("--speed-from-readme", action="store_true", help="write README's speed table as the artifact")
    p.add_argument("--out", default=str(OUT), help="artifact directory (default: %(default)s)")
    args = p.parse_args(argv)
    out = Path(args.out)
    dataset, stem = f"antmaze-{args.maze}-navigate-v0", f"antmaze_{args.maze}"

    if args.expert_run:
        path = reporting.export_expert_training(args.expert_run, out / "ant_expert_training.csv")
        print(f"wrote {path}")
    if args.dataset_dir:
        extra = {"note": args.dataset_note}
        try:
            from floq_lite.expert.shipped import AntExpert

            extra["expert"] = AntExpert().provenance
        except (FileNotFoundError, ValueError) as exc:
            extra["expert"] = f"unavailable: {exc}"
        path = out / f"{stem}_coverage.json"
        reporting.export_coverage(dataset, path, args.dataset_dir, extra=extra)
        print(f"wrote {path} ({path.stat().st_size:,} B)")
    runs = {name: d for name, d in (("floq", args.floq), ("fql", args.fql)) if d}
    for name, run_dir in runs.items():  # a misnamed artifact would put one maze's runs in another's chapter
        env_name = json.loads((Path(run_dir) / "config.json").read_text())["env_name"]
        if not env_name.startswith(f"antmaze-{args.maze}-"):
            p.error(f"--{name} {run_dir} is a run on {env_name}, not antmaze-{args.maze}: pass --maze to match it")
    if runs:
        command = " ".join(["tools/ch6_artifacts.py", *sys.argv[1:]])  # no machine-specific path
        reporting.export_runs(runs, out / f"{stem}_cpu_runs.json", last_n=args.last_n,
                              extra={"note": args.note, "command": command})
        print(f"wrote {out / f'{stem}_cpu_runs.json'}")
        reporting.export_value_maps(runs, out / f"{stem}_value_maps.json", resolution=args.value_maps_resolution)
        print(f"wrote {out / f'{stem}_value_maps.json'}")
        roll = reporting.export_rollouts(runs, out / f"{stem}_rollouts.json", episodes=args.rollout_episodes)
        print(f"wrote {out / f'{stem}_rollouts.json'} ({roll['eval_wall_time_s']:.0f} s of evaluation)")
    if args.k_eval:
        if not args.floq:
            p.error("--k-eval needs --floq")
        ks = [int(k) for k in args.ks.split(",") if k]
        study = reporting.export_k_eval(args.floq, out / f"{stem}_k_eval.json", ks=ks,
                                        episodes=args.k_episodes, max_episode_steps=args.k_max_episode_steps)
        print(f"wrote {out / f'{stem}_k_eval.json'} ({study['eval_wall_time_s']:.0f} s of evaluation)")
    if args.speed_from_readme:
        from floq_lite.config import make_config

        rows = []
        for size, agent, ms in README_SPEED:
            cfg = make_config(agent, tier=size)
            flops, _ = reporting.update_flops(agent, cfg, 29, 8)
            rows.append({"agent": agent, "size": size, "batch": cfg.batch_size, "ms_per_update": ms,
                         "updates_per_s": round(1e3 / ms, 1), "gflop_per_update": round(flops / 1e9, 3)})
        reporting.export_update_speed(
            rows, out / "update_speed_cpu.json",
            source="README.md speed table (commit e63afdd): median ms per jitted update measured with "
                   "benchmarks/update_speed.py on this project's 2-core CPU (no GPU), antmaze sizes (obs 29, "
                   "action 8); GFLOP per update analytic (floq_lite.reporting.update_flops)",
            extra={"measured_on": "2-core CPU, jax cpu backend; the hardware record below is the machine that "
                                  "wrote this file"})
        print(f"wrote {out / 'update_speed_cpu.json'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MUJOCO_GL", "egl")
    raise SystemExit(main())
