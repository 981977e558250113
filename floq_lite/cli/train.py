"""``floq-lite train``: offline training on an OGBench singletask dataset (all seeds vmapped together).

floq-lite train ENV_NAME [--agent floq|fql] [--tier smoke|teach|paper] [--seeds N] [--steps N] [--out DIR]
                [--resume] [--dataset-dir DIR] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import ast
import sys

from floq_lite.cli.data import _DIR_HELP, _count

HELP = "train floq or FQL offline on an OGBench singletask dataset (logs, evaluations, checkpoints)"

EPILOG = """\
what it writes (in --out, default runs/<ENV_NAME>-<agent>-<tier>):
  config.json          the full agent config, seeds, tier, git commit, hardware, wall time, status, and one
                       segment per start or resume (steps, wall time, commit, hardware: a run may move machines)
  metrics.csv/.jsonl   training losses of every seed every log_interval steps, and the same losses on a
                       batch of the validation split (val/... columns; no gradient step on it)
  eval.csv/.jsonl      success rate (binary success per episode) and mean return of every seed at every evaluation
  checkpoint.msgpack   the agents after the latest evaluation (written atomically)

tiers (sizes and schedule; see floq_lite/config.py):
  smoke  2x64 nets, 1,000 steps, eval every 500 steps on 2 episodes: a minute on a laptop CPU
  teach  2x256 nets, 100,000 steps, eval every 10,000 on 10 episodes: hours on CPU, minutes on a GPU
  paper  the official sizes: 4x512 nets, 2M (floq) / 1M (FQL) steps, eval every 20,000 on 50 episodes: GPU only

examples:
  floq-lite data generate pointmaze-medium-navigate-v0 --episodes 5      # a tiny dataset, seconds
  floq-lite train pointmaze-medium-navigate-singletask-v0 --agent floq --tier smoke
  floq-lite train pointmaze-medium-navigate-singletask-v0 --agent fql --tier smoke --seeds 3 --set alpha=30
  floq-lite train pointmaze-medium-navigate-singletask-v0 --tier smoke --resume   # continue after a crash
  floq-lite eval runs/pointmaze-medium-navigate-singletask-v0-floq-smoke --episodes 10
"""


def parse_override(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE a Python literal (``alpha=30``, ``actor_hidden_dims=(32,32)``) or a bare string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip().replace("-", "_"), value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Fill in the ``train`` parser."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("env_name", metavar="ENV_NAME",
                        help="OGBench singletask env, e.g. pointmaze-medium-navigate-singletask-v0 "
                             "(-taskN- picks another task; the dataset must exist, see `floq-lite data generate`)")
    parser.add_argument("--agent", choices=("floq", "fql"), default="floq",
                        help="floq (flow-matching critic) or FQL (plain Q critic) (default: %(default)s)")
    parser.add_argument("--tier", choices=("smoke", "teach", "paper"), default=None,
                        help="compute tier: network sizes and schedule (default: $FLOQ_TIER, else teach)")
    parser.add_argument("--seeds", type=_count(1), default=1, metavar="N",
                        help="number of seeds (0..N-1), trained together in one vmapped computation "
                             "(default: %(default)s; the papers use 3-8)")
    parser.add_argument("--steps", type=_count(1), default=None, metavar="N",
                        help="total gradient steps (default: the tier's offline_steps); with --resume it can extend "
                             "a finished run")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="run directory (default: runs/<ENV_NAME>-<agent>-<tier>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out (or the default directory: give the same --tier) from its "
                             "last checkpoint, with its saved config; the result equals an uninterrupted run")
    parser.add_argument("--dataset-dir", default=None, metavar="DIR", help=_DIR_HELP)
    parser.add_argument("--set", dest="overrides", action="append", type=parse_override, default=[],
                        metavar="KEY=VALUE",
                        help="override a config field, repeatable: --set alpha=30 --set eval_episodes=5 "
                             "--set 'actor_hidden_dims=(32,32)' (fields: see floq_lite/config.py)")
    parser.add_argument("--eval-max-episode-steps", type=_count(1), default=None, metavar="T",
                        help="cap evaluation episodes at T steps (default: the env's limit, 1000 on the mazes)")
    parser.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                        help="stop after the chunk that ends past SECONDS of wall time, evaluate and checkpoint "
                             "there (continue later with --resume)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def fail(command: str, message: str, status: int) -> int:
    print(f"floq-lite {command}: error: {message}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> int:
    """Train; 0 on success, 1 on a NaN stop or dataset problem, 2 on bad input."""
    from floq_lite import reporting, training
    from floq_lite.data import ogbench_io

    try:
        ogbench_io.check_env_name(args.env_name)
    except ogbench_io.UnknownEnvError as exc:
        return fail("train", str(exc), 2)
    if "singletask" not in args.env_name.split("-"):
        return fail("train", f"{args.env_name!r} is not a singletask env (no rewards to learn from); use e.g. "
                             f"{args.env_name.replace('-v0', '-singletask-v0')}", 2)
    try:
        result = training.train(
            args.env_name, agent=args.agent, tier=args.tier, seeds=args.seeds, steps=args.steps, out=args.out,
            resume=args.resume, dataset_dir=args.dataset_dir, overrides=dict(args.overrides),
            eval_max_episode_steps=args.eval_max_episode_steps, progress=not args.no_progress,
            time_budget_s=args.time_budget,
        )
    except training.NonFiniteLossError as exc:
        return fail("train", str(exc), 1)
    except ogbench_io.DatasetError as exc:
        return fail("train", str(exc), 1)
    except (training.TrainingError, ValueError) as exc:
        return fail("train", str(exc), 2)
    rates = [r["success_rate"] for r in result.last_eval]
    line = (f"{result.status}: {result.step} steps in {result.wall_time_s:.1f} s; last evaluation "
            f"{training.summarize(rates)} over {len(rates)} seed(s)")
    try:  # the number the chapters and papers report, so that this line and an artifact's table agree
        final = reporting.run_summary(result.run_dir)["final"]
        line += (f"; final success {final['mean']:.3f} ± {final['std']:.3f} (per seed, the mean of the last "
                 f"{len(final['eval_steps'])} evaluations)")
    except ValueError:  # no evaluation yet
        pass
    print(f"{line}; run directory {result.run_dir}")
    return 0
