"""The ``floq-lite`` command line.

Each command group lives in its own module ``floq_lite.cli.<name>`` that defines::

    HELP: str                                    # one line shown by `floq-lite --help`
    def add_arguments(parser) -> None            # fills in its argparse (sub)parser and sets `func`

and is listed in :data:`COMMANDS`; ``func(args) -> int`` runs the command and returns the exit status.
Adding a command means writing its module and adding its name here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: tuple[str, ...] = ("data", "expert", "train", "eval", "render")

EPILOG = """\
examples:
  floq-lite data generate pointmaze-medium-navigate-v0              # 1000+100 episodes into ~/.ogbench/data
  floq-lite data generate pointmaze-large-navigate-v0 --episodes 100 --dataset-dir ./data
  floq-lite data check pointmaze-medium-navigate-v0
  floq-lite train pointmaze-medium-navigate-singletask-v0 --agent floq --tier smoke
  floq-lite eval runs/pointmaze-medium-navigate-singletask-v0-floq-smoke --episodes 10
  floq-lite render runs/pointmaze-medium-navigate-singletask-v0-floq-smoke --out agent.gif

Run `floq-lite COMMAND --help` for the options of a command.
"""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="floq-lite",
        description="floq-lite: flow-matching Q-functions, from data to trained agents.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"floq_lite.cli.{name}")
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``floq-lite`` console script; returns the exit status (0 ok, 1 failed, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("floq-lite: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
