"""The ``floq-lite`` command line.

Each command group lives in its own module ``floq_lite.cli.<name>`` that defines::

    HELP: str                                    # one line shown by `floq-lite --help`
    def add_arguments(parser) -> None            # fills in its argparse (sub)parser and sets `func`

and is listed in :data:`COMMANDS`; ``func(args) -> int`` runs the command and returns the exit status.
Adding a command means writing its module and adding its name here.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from collections.abc import Sequence

COMMANDS: tuple[str, ...] = ("data", "expert", "train", "eval", "render", "study")

EPILOG = """\
examples:
  floq-lite data generate pointmaze-medium-navigate-v0              # 1000+100 episodes into ~/.ogbench/data
  floq-lite data generate pointmaze-large-navigate-v0 --episodes 100 --dataset-dir ./data
  floq-lite data check pointmaze-medium-navigate-v0
  floq-lite train pointmaze-medium-navigate-singletask-v0 --agent floq --tier smoke
  floq-lite eval runs/pointmaze-medium-navigate-singletask-v0-floq-smoke --episodes 10
  floq-lite render runs/pointmaze-medium-navigate-singletask-v0-floq-smoke --out agent.gif
  floq-lite study iterative-compute --tier paper --out runs/iterative-compute

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
    except OSError as exc:  # a full disk, a read-only or forbidden folder: say which file and what to do
        print(f"floq-lite {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1


_OS_ERROR_FIXES = {
    errno.ENOSPC: "the disk is full: free some space or write somewhere else",
    errno.EDQUOT: "the disk quota is used up: free some space or write somewhere else",
    errno.EROFS: "that file system is read-only: choose a writable directory",
    errno.EACCES: "permission denied: choose a directory you can write to",
    errno.EPERM: "the operation is not permitted there: choose a directory you can write to",
}


def describe_os_error(exc: OSError) -> str:
    """One line for a failed file operation: the file, the cause, the fix, and that nothing was half-written."""
    where = f" {exc.filename}" if exc.filename else ""
    fix = _OS_ERROR_FIXES.get(exc.errno, "check the path and try again")
    return (f"could not write or read{where} ({exc.strerror or exc}); {fix} (e.g. with --out or --dataset-dir). "
            "floq-lite writes every file atomically, so nothing half-written was left behind.")


if __name__ == "__main__":
    sys.exit(main())
