"""``floq-lite expert``: train the low-level ant expert (SAC on online-ant-xy-v0) and inspect the shipped one.

floq-lite expert train [--out DIR] [--steps N] [--seed S] [--resume]
floq-lite expert info [WEIGHTS]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys

from floq_lite.cli.data import _count

HELP = "train the ant expert that antmaze datasets are generated with, or show the shipped one"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` and ``info`` subcommands to ``parser``."""
    sub = parser.add_subparsers(title="expert commands", dest="expert_command", metavar="EXPERT_COMMAND", required=True)
    train = sub.add_parser(
        "train",
        help="train SAC on online-ant-xy-v0 (OGBench's expert settings; ~1 h on 2 CPU cores)",
        description=(
            "Train the ant's low-level locomotion policy with SAC on online-ant-xy-v0: the observation is the ant's "
            "state without x-y plus a unit direction redrawn every 100 steps, the reward is the displacement along "
            "it. Writes metrics, evaluations, resumable checkpoints and actor.msgpack (the policy, with provenance)."
        ),
        epilog=(
            "example:\n  floq-lite expert train --out runs/ant-expert\n"
            "  floq-lite data generate antmaze-large-navigate-v0 --expert-weights runs/ant-expert/actor.msgpack"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--out", metavar="DIR", default="runs/ant-expert", help="run directory (default: %(default)s)")
    train.add_argument("--steps", metavar="N", type=_count(2), default=None,
                       help="environment steps (default: 400000, OGBench's)")
    train.add_argument("--random-steps", metavar="N", type=_count(1), default=None,
                       help="warm-up steps with random actions (default: 10000)")
    train.add_argument("--eval-interval", metavar="N", type=_count(1), default=None,
                       help="steps between evaluations (default: 20000)")
    train.add_argument("--seed", metavar="S", type=int, default=0, help="random seed (default: %(default)s)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    info = sub.add_parser("info", help="print the provenance of an expert weights file (default: the shipped one)")
    info.add_argument("weights", metavar="WEIGHTS", nargs="?", default=None,
                      help="an actor.msgpack file (default: the expert shipped with floq-lite)")
    info.set_defaults(func=_info)


def _train(args: argparse.Namespace) -> int:
    from floq_lite.expert.sac import SACConfig
    from floq_lite.expert.train import train_expert

    if args.resume and any(v is not None for v in (args.steps, args.random_steps, args.eval_interval)):
        print("floq-lite expert train: --resume continues with the run's saved config; drop --steps, "
              "--random-steps and --eval-interval (a finished run cannot be extended)", file=sys.stderr)
        return 2
    changes = {k: v for k, v in (("total_steps", args.steps), ("random_steps", args.random_steps),
                                 ("eval_interval", args.eval_interval)) if v is not None}
    config = dataclasses.replace(SACConfig(), **changes)
    try:
        final = train_expert(args.out, config, seed=args.seed, resume=args.resume, progress=not args.no_progress,
                             command=shlex.join(["floq-lite", *sys.argv[1:]]))
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"floq-lite expert train: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(final, indent=2))
    print(f"policy written to {args.out}/actor.msgpack")
    return 0


def _info(args: argparse.Namespace) -> int:
    from floq_lite.expert.shipped import WEIGHTS, AntExpert

    try:
        expert = AntExpert(args.weights or WEIGHTS)
    except (FileNotFoundError, ValueError) as exc:
        print(f"floq-lite expert info: {exc}", file=sys.stderr)
        return 2
    print(f"{expert.path}\n{json.dumps(expert.provenance, indent=2)}")
    return 0
