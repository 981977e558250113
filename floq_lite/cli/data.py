"""``floq-lite data``: generate and check OGBench datasets.

floq-lite data generate ENV_NAME [--episodes N] [--dataset-dir DIR] ...
floq-lite data check ENV_NAME [--dataset-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from floq_lite.data import navigate, ogbench_io

HELP = "generate OGBench datasets offline, or check dataset files"

_DIR_HELP = (
    f"dataset directory (default: ${ogbench_io.DATASET_DIR_ENV_VAR} if set, else {ogbench_io.DEFAULT_DATASET_DIR}, "
    "where OGBench looks)"
)


def _count(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generate`` and ``check`` subcommands to ``parser``."""
    sub = parser.add_subparsers(title="data commands", dest="data_command", metavar="DATA_COMMAND", required=True)
    names = "\n  ".join(navigate.NAVIGATE_DATASETS)

    gen = sub.add_parser(
        "generate",
        help="generate a navigate dataset (train + val files) in the official OGBench format",
        description=(
            "Generate an OGBench 'navigate' dataset offline with the official procedure (BFS-oracle directions, "
            "Gaussian action noise, a new goal whenever one is reached) and write <ENV_NAME>.npz and "
            "<ENV_NAME>-val.npz, so that ogbench.make_env_and_datasets loads them without a download."
        ),
        epilog=(
            f"valid ENV_NAMEs (singletask names such as pointmaze-medium-navigate-singletask-task1-v0 are accepted "
            f"and mapped to their dataset):\n  {names}\n\n"
            "antmaze-* uses the SAC ant expert shipped with floq-lite (`floq-lite expert info` shows how it was "
            "trained); --expert-weights FILE uses one you trained (`floq-lite expert train`), and "
            "--expert package.module:factory any policy, where factory(dataset_name) returns "
            "expert(obs_without_xy, direction) -> action.\n\n"
            "example (the official size, a few minutes on 2 CPU cores):\n"
            "  floq-lite data generate pointmaze-medium-navigate-v0 --workers 2"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument("env_name", metavar="ENV_NAME", help="dataset to generate, e.g. pointmaze-medium-navigate-v0")
    gen.add_argument(
        "--episodes",
        metavar="N",
        type=_count(1),
        default=navigate.TRAIN_EPISODES,
        help="train episodes (default: %(default)s, the official size)",
    )
    gen.add_argument(
        "--val-episodes",
        metavar="M",
        type=_count(1),
        default=None,
        help="validation episodes (default: episodes // 10, at least 1; official: 100)",
    )
    gen.add_argument(
        "--episode-length",
        metavar="STEPS",
        type=_count(2),
        default=navigate.EPISODE_LENGTH,
        help="steps per episode (default: %(default)s, official)",
    )
    gen.add_argument(
        "--seed", metavar="S", type=int, default=0, help="random seed; same seed, same dataset (default: %(default)s)"
    )
    gen.add_argument(
        "--noise",
        metavar="STD",
        type=_non_negative_float,
        default=None,
        help="std of the Gaussian action noise (default: official, 0.5 point / 0.2 ant)",
    )
    gen.add_argument(
        "--workers",
        metavar="W",
        type=_count(1),
        default=1,
        help="worker processes; the data does not depend on it (default: %(default)s)",
    )
    gen.add_argument(
        "--expert",
        default=None,
        metavar="MODULE:FACTORY",
        help="low-level policy factory for antmaze (default: the shipped SAC ant expert; point mass: built in)",
    )
    gen.add_argument(
        "--expert-weights",
        default=None,
        metavar="FILE",
        help="an ant expert actor.msgpack written by `floq-lite expert train` (instead of the shipped one)",
    )
    gen.add_argument("--dataset-dir", default=None, metavar="DIR", help=_DIR_HELP)
    gen.add_argument("--force", action="store_true", help="overwrite existing files")
    gen.add_argument("--no-progress", action="store_true", help="no progress bar")
    gen.set_defaults(func=run_generate)

    check = sub.add_parser(
        "check",
        help="check that a dataset's files exist and have the official layout",
        description="Read both files of a dataset and check keys, dtypes, shapes and episodes.",
    )
    check.add_argument(
        "env_name", metavar="ENV_NAME", help="dataset or environment name, e.g. pointmaze-medium-navigate-v0"
    )
    check.add_argument("--dataset-dir", default=None, metavar="DIR", help=_DIR_HELP)
    check.set_defaults(func=run_check)


def _fail(message: str, status: int) -> int:
    print(f"floq-lite data: error: {message}", file=sys.stderr)
    return status


def _dataset_name(env_name: str) -> str:
    """Map a singletask/env name to its dataset name; ValueError with the valid names if it is not generatable."""
    try:
        _, dataset_name = ogbench_io.split_name(env_name)
    except ogbench_io.UnknownEnvError:
        dataset_name = env_name
    if dataset_name not in navigate.NAVIGATE_DATASETS:
        raise ValueError(f"cannot generate {env_name!r}. Valid names:\n  " + "\n  ".join(navigate.NAVIGATE_DATASETS))
    return dataset_name


def run_generate(args: argparse.Namespace) -> int:
    """Generate the dataset named by ``args.env_name`` and write both files."""
    try:
        name = _dataset_name(args.env_name)
        expert = args.expert
        if args.expert_weights is not None:
            if args.expert is not None:
                raise ValueError("pass --expert or --expert-weights, not both")
            if navigate.NAVIGATE_DATASETS[name] != "ant":
                raise ValueError(f"--expert-weights is for antmaze datasets; {name} uses the point mass's own expert")
            from floq_lite.expert.shipped import AntExpert

            expert = AntExpert(args.expert_weights)
        navigate.resolve_expert(expert, name)  # a missing or broken expert fails here, before any work
    except (ValueError, FileNotFoundError) as exc:
        return _fail(str(exc), 2)
    train_path, val_path = ogbench_io.dataset_paths(name, args.dataset_dir)
    if not args.force and train_path.exists() and val_path.exists():
        print(
            f"{train_path} and {val_path.name} already exist; nothing to do (--force regenerates them, "
            f"`floq-lite data check {name}` checks them)."
        )
        return 0
    start = time.perf_counter()
    try:
        data = navigate.generate_navigate(
            name,
            episodes=args.episodes,
            val_episodes=args.val_episodes,
            episode_length=args.episode_length,
            seed=args.seed,
            noise=args.noise,
            expert=expert,
            workers=args.workers,
            progress=not args.no_progress,
        )
    except ValueError as exc:
        return _fail(str(exc), 2)
    elapsed = time.perf_counter() - start
    ogbench_io.write_dataset(name, data.train, data.val, args.dataset_dir)
    rows = len(data.train["terminals"]) + len(data.val["terminals"])
    print(f"wrote {train_path} ({len(data.train['terminals'])} rows, {len(data.train_goals_reached)} episodes)")
    print(f"wrote {val_path} ({len(data.val['terminals'])} rows, {len(data.val_goals_reached)} episodes)")
    print(
        f"{rows / elapsed:,.0f} env steps/s; {data.train_goals_reached.mean():.1f} goals reached per train episode; "
        f"load with floq_lite.data.load('{name.replace('-v0', '-singletask-v0')}'"
        + (f", dataset_dir={os.fspath(args.dataset_dir)!r})" if args.dataset_dir else ")")
    )
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Validate both files of a dataset against its environment and print a summary."""
    import ogbench

    try:
        env_id, name = ogbench_io.check_env_name(args.env_name)
    except ogbench_io.UnknownEnvError as exc:
        return _fail(str(exc), 2)
    layout = ogbench_io.Layout.from_env(
        ogbench.make_env_and_datasets(name, env_only=True), needs_qpos="powderworld" not in env_id
    )
    status = 0
    for path in ogbench_io.dataset_paths(name, args.dataset_dir):
        try:
            if not path.exists():
                raise ogbench_io.DatasetMissingError(
                    f"{path} is missing. {ogbench_io.how_to_get(name, args.dataset_dir)}"
                )
            s = ogbench_io.validate_file(path, layout, dataset_name=name, dataset_dir=args.dataset_dir)
        except ogbench_io.DatasetError as exc:
            status = _fail(str(exc), 1)
            continue
        print(f"ok {path}: {s.rows} rows, {s.episodes} episodes of {s.min_episode_length}-{s.max_episode_length} rows")
    return status
