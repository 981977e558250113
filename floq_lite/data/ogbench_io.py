"""OGBench dataset files: where they live, checking them, writing them atomically, loading them officially.

Loading always goes through the unmodified ``ogbench.make_env_and_datasets``, so singletask reward/mask relabelling,
compact mode and the val split behave exactly as upstream. What this module adds around it:

* a dataset directory chosen by argument > ``$FLOQ_DATASET_DIR`` > ``~/.ogbench/data`` (OGBench's default);
* a check for missing files *before* OGBench tries to download them: offline, the error names the missing file and
  the command that generates it instead of a bare ``URLError``;
* validation of each file (readable, keys, dtypes, shapes, lengths, episode structure), so a truncated or corrupt file
  gives an error naming the file rather than garbage or a numpy traceback.

One ``<dataset>.npz`` (and its ``<dataset>-val.npz`` twin) holds episodes back to back::

    row:          0    1   ...  T-1 | T   T+1  ...  2T-1 | ...
    observations  s0   s1  ...  s_T-1 | s0  s1  ...  s_T-1 | ...     float32 (N, ob_dim)   (uint8 images for visual-*)
    actions       a0   a1  ...  a_T-1 | a0  a1  ...  a_T-1 | ...     float32 (N, act_dim)
    terminals     0    0   ...  1     | 0   0   ...  1     | ...     bool    (N,)  1 = last row of an episode
    qpos, qvel    MuJoCo state at each row                           float32 (N, nq), (N, nv)

The last action of each episode has no next observation; OGBench's loader drops it (regular mode) or marks it
invalid (compact mode). Singletask names (``...-singletask-task2-v0``) read the same file and relabel
``reward = success - 1`` and ``mask = 1 - success`` from ``qpos``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from floq_lite.atomic import atomic_write

DEFAULT_DATASET_DIR = "~/.ogbench/data"
DATASET_DIR_ENV_VAR = "FLOQ_DATASET_DIR"
OGBENCH_DATASET_URL = "https://rail.eecs.berkeley.edu/datasets/ogbench"  # where OGBench downloads from
REQUIRED_KEYS = ("observations", "actions", "terminals")


class DatasetError(RuntimeError):
    """Base class for dataset problems that the user can fix (the message says how)."""


class DatasetMissingError(DatasetError, FileNotFoundError):
    """A dataset file is not on disk and cannot be downloaded."""


class DatasetCorruptError(DatasetError, ValueError):
    """A dataset file cannot be read or does not have the official layout."""


class UnknownEnvError(ValueError):
    """The environment / dataset name is not an OGBench one."""


def resolve_dataset_dir(dataset_dir: str | os.PathLike[str] | None = None) -> Path:
    """The dataset directory: ``dataset_dir`` if given, else ``$FLOQ_DATASET_DIR``, else ``~/.ogbench/data``."""
    chosen = dataset_dir if dataset_dir is not None else os.environ.get(DATASET_DIR_ENV_VAR) or DEFAULT_DATASET_DIR
    return Path(chosen).expanduser()


def split_name(env_name: str) -> tuple[str, str]:
    """``(gymnasium env id, dataset file stem)`` for an OGBench name, following OGBench's own naming rules.

    ``antmaze-large-navigate-singletask-task1-v0`` -> ``('antmaze-large-singletask-task1-v0',
    'antmaze-large-navigate-v0')``; ``pointmaze-medium-navigate-v0`` -> ``('pointmaze-medium-v0',
    'pointmaze-medium-navigate-v0')``.
    """
    parts = env_name.split("-")
    if len(parts) < 3 or not parts[-1].startswith("v"):
        raise UnknownEnvError(_unknown_name_message(env_name))
    if "singletask" in parts:
        pos = parts.index("singletask")
        return "-".join(parts[: pos - 1] + parts[pos:]), "-".join(parts[:pos] + parts[-1:])
    if "oraclerep" in parts:
        return "-".join(parts[:-3] + parts[-1:]), "-".join(parts[:-2] + parts[-1:])
    return "-".join(parts[:-2] + parts[-1:]), env_name


def _registered_env_ids() -> list[str]:
    import gymnasium
    import ogbench  # noqa: F401  (registers every OGBench env)

    return sorted(k for k, spec in gymnasium.registry.items() if str(spec.entry_point).startswith("ogbench."))


def _unknown_name_message(env_name: str) -> str:
    bases = sorted({i.replace("-v0", "") for i in _registered_env_ids() if "singletask" not in i})
    return (
        f"Unknown OGBench environment {env_name!r}. Names look like <env>-<dataset type>[-singletask[-taskN]]-v0, "
        f"e.g. 'pointmaze-medium-navigate-singletask-task1-v0' or 'cube-double-play-singletask-v0', "
        f"where <env> is one of: {', '.join(bases)}."
    )


def check_env_name(env_name: str) -> tuple[str, str]:
    """Like :func:`split_name`, but also checks that the environment is registered by OGBench."""
    env_id, dataset_name = split_name(env_name)
    registered = _registered_env_ids()
    if env_id not in registered:
        task = re.search(r"-task(\d+)-v\d+$", env_id)
        if task:  # a known environment with a task number it does not have
            base = env_id[: task.start()] + "-v" + env_id.rsplit("-v", 1)[1]
            tasks = sorted(int(m.group(1)) for e in registered
                           if (m := re.fullmatch(re.escape(base[: -len("-v0")]) + r"-task(\d+)-v\d+", e)))
            if tasks:
                raise UnknownEnvError(f"{env_name!r}: there is no task {task.group(1)}; this environment has tasks "
                                      f"{', '.join(map(str, tasks))} (e.g. {env_name.replace('-task' + task.group(1), f'-task{tasks[0]}')}).")
        raise UnknownEnvError(_unknown_name_message(env_name))
    return env_id, dataset_name


def dataset_paths(dataset_name: str, dataset_dir: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
    """``(train, val)`` file paths of a dataset: ``DIR/<name>.npz`` and ``DIR/<name>-val.npz``."""
    root = resolve_dataset_dir(dataset_dir)
    return root / f"{dataset_name}.npz", root / f"{dataset_name}-val.npz"


def generate_command(dataset_name: str, dataset_dir: str | os.PathLike[str] | None = None) -> str | None:
    """The shell command that regenerates ``dataset_name`` into ``dataset_dir``, or None if floq-lite cannot."""
    from floq_lite.data.navigate import NAVIGATE_DATASETS

    if dataset_name not in NAVIGATE_DATASETS:
        return None
    command = f"floq-lite data generate {dataset_name}"
    if resolve_dataset_dir(dataset_dir) != resolve_dataset_dir(None):
        command += f" --dataset-dir {resolve_dataset_dir(dataset_dir)}"
    if NAVIGATE_DATASETS[dataset_name] != "point":
        command += " --expert package.module:factory"
    return command


def how_to_get(dataset_name: str, dataset_dir: str | os.PathLike[str] | None = None) -> str:
    """A sentence and the exact command that produce the files of ``dataset_name`` (generate, or else download)."""
    command = generate_command(dataset_name, dataset_dir)
    if command is not None:
        return f"Generate it offline with:\n    {command}"
    call = f"ogbench.download_datasets(['{dataset_name}'], '{resolve_dataset_dir(dataset_dir)}')"
    return (
        "floq-lite cannot generate this dataset; on a machine with internet run\n"
        f'    python -c "import ogbench; {call}"\n'
        "and copy both .npz files into that directory."
    )


def server_reachable(timeout: float = 5.0) -> bool:
    """True if OGBench's download server answers within ``timeout`` seconds (used to decide whether to download)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(OGBENCH_DATASET_URL + "/", method="HEAD"), timeout=timeout)
    except urllib.error.HTTPError:
        return True  # the server answered, even if not with 200 for the directory
    except (OSError, ValueError):
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Layout:
    """What a dataset file for one env must contain: per-row shapes and dtype kinds.

    ``ob_shape``/``action_shape`` exclude the row axis; ``nq``/``nv`` are None where unknown (then not checked).
    """

    ob_shape: tuple[int, ...]
    action_shape: tuple[int, ...]
    ob_kind: str = "f"  # numpy dtype kind: 'f' float, 'u' uint8 images
    action_kind: str = "f"  # 'f' float, 'i' discrete actions (powderworld)
    nq: int | None = None
    nv: int | None = None
    needs_qpos: bool = False  # singletask relabelling reads qpos

    @classmethod
    def from_env(cls, env: Any, *, needs_qpos: bool = False) -> Layout:
        """The layout an OGBench env's dataset has (observation/action spaces, MuJoCo nq/nv)."""
        model = getattr(env.unwrapped, "model", None)
        ob_space, act_space = env.observation_space, env.action_space
        return cls(
            ob_shape=tuple(ob_space.shape),
            action_shape=tuple(act_space.shape or ()),
            ob_kind="u" if np.dtype(ob_space.dtype) == np.uint8 else "f",
            action_kind="f" if np.issubdtype(np.dtype(act_space.dtype), np.floating) else "i",
            nq=int(model.nq) if model is not None else None,
            nv=int(model.nv) if model is not None else None,
            needs_qpos=needs_qpos,
        )


@dataclasses.dataclass(frozen=True)
class DatasetSummary:
    """What :func:`check_arrays` found: row and episode counts, shortest and longest episode."""

    rows: int
    episodes: int
    min_episode_length: int
    max_episode_length: int


def check_arrays(
    arrays: Mapping[str, np.ndarray], layout: Layout | None = None, *, source: str = "dataset"
) -> DatasetSummary:
    """Check that ``arrays`` have the official layout; raise :class:`DatasetCorruptError` naming ``source`` if not.

    Without ``layout`` only the structure is checked (keys, kinds, equal lengths, episodes), not the env's dims.
    """

    def bad(problem: str) -> DatasetCorruptError:
        return DatasetCorruptError(f"{source}: {problem}")

    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if layout is not None and layout.needs_qpos and "qpos" not in arrays:
        missing.append("qpos")
    if missing:
        raise bad(f"missing key(s) {missing}; it holds {sorted(arrays)}.")
    rows = len(arrays["terminals"])
    if rows == 0:
        raise bad("it holds no rows.")
    for key, value in arrays.items():
        if value.ndim == 0 or len(value) != rows:
            raise bad(
                f"'{key}' has shape {value.shape} but 'terminals' has {rows} rows; every array needs one per row."
            )

    terminals = arrays["terminals"]
    if terminals.ndim != 1 or not (terminals.dtype == bool or np.isin(terminals, (0, 1)).all()):
        raise bad(f"'terminals' must be 0/1 flags of shape (N,), got {terminals.dtype} {terminals.shape}.")
    ends = np.flatnonzero(terminals)
    if len(ends) == 0 or ends[-1] != rows - 1:
        raise bad("the last row is not an episode end (terminals[-1] is 0): the file is cut off mid-episode.")
    lengths = np.diff(np.concatenate([[-1], ends]))
    if lengths.min() < 2:
        raise bad("an episode has a single row, so no transition; the episode structure is broken.")

    expected = {}
    if layout is not None:
        expected = {
            "observations": (layout.ob_shape, layout.ob_kind),
            "actions": (layout.action_shape, layout.action_kind),
        }
        if layout.nq is not None:
            expected["qpos"] = ((layout.nq,), "f")
        if layout.nv is not None:
            expected["qvel"] = ((layout.nv,), "f")
    for key in ("observations", "actions", "qpos", "qvel"):
        if key not in arrays:
            continue
        value = arrays[key]
        shape, kind = expected.get(key, (None, None))
        if shape is not None and value.shape[1:] != shape:
            raise bad(
                f"'{key}' rows have shape {value.shape[1:]}, but this environment needs {shape}; "
                "is it a file of another environment?"
            )
        if value.dtype.kind not in ("f", "u", "i") or (kind is not None and value.dtype.kind != kind):
            raise bad(f"'{key}' has dtype {value.dtype}, expected {'float' if kind in (None, 'f') else 'integer'}.")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise bad(f"'{key}' contains NaN or infinite values.")
    return DatasetSummary(rows, len(ends), int(lengths.min()), int(lengths.max()))


def read_arrays(path: str | os.PathLike[str], *, regenerate_hint: str = "") -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file, turning any read/decompress failure into :class:`DatasetCorruptError`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as file:
            return {key: file[key] for key in file.files}
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise  # not a corrupt file: the OS error already says what is wrong
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        raise DatasetCorruptError(
            f"{path} is truncated or corrupt and cannot be read ({type(exc).__name__}: {exc}). "
            f"Delete it and get it again.{regenerate_hint}"
        ) from exc


def validate_file(
    path: str | os.PathLike[str],
    layout: Layout | None = None,
    *,
    dataset_name: str | None = None,
    dataset_dir: str | os.PathLike[str] | None = None,
) -> DatasetSummary:
    """Read ``path`` fully and check its layout; errors name the file and how to replace it."""
    hint = f" {how_to_get(dataset_name, dataset_dir)}" if dataset_name else ""
    arrays = read_arrays(path, regenerate_hint=hint)
    try:
        return check_arrays(arrays, layout, source=str(path))
    except DatasetCorruptError as exc:
        raise DatasetCorruptError(f"{exc} Delete it and get it again.{hint}") from None


def save_npz_atomic(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` to a compressed ``.npz`` at ``path`` atomically: a reader sees the old file or the new one,
    never half of one (temp file in the same directory, fsync, ``os.replace``)."""
    # a file object: numpy would append ".npz" to a str name
    return atomic_write(path, lambda file: np.savez_compressed(file, **arrays))


def write_dataset(
    dataset_name: str,
    train: Mapping[str, np.ndarray],
    val: Mapping[str, np.ndarray],
    dataset_dir: str | os.PathLike[str] | None = None,
) -> tuple[Path, Path]:
    """Check both splits and write ``<name>.npz`` and ``<name>-val.npz`` atomically into the dataset directory."""
    train_path, val_path = dataset_paths(dataset_name, dataset_dir)
    check_arrays(train, source=f"train split of {dataset_name}")
    check_arrays(val, source=f"val split of {dataset_name}")
    save_npz_atomic(val_path, val)
    save_npz_atomic(train_path, train)
    return train_path, val_path


def load(
    env_name: str,
    *,
    dataset_dir: str | os.PathLike[str] | None = None,
    compact: bool = False,
    add_info: bool = False,
    download: bool | None = None,
    validate: bool = True,
    **env_kwargs: Any,
) -> tuple[Any, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Make an OGBench env and load its train/val datasets through the official loader.

    Args:
        env_name: any OGBench name, e.g. ``"pointmaze-medium-navigate-singletask-task1-v0"``.
        dataset_dir: where the ``.npz`` files are (see :func:`resolve_dataset_dir`).
        compact: OGBench's ``compact_dataset`` (``valids`` instead of ``next_observations``).
        add_info: keep ``qpos``/``qvel`` in the returned datasets.
        download: fetch missing files from the OGBench server. None: only if the server is reachable.
        validate: check both files before loading (reads them once more; off for speed when they are trusted).
        **env_kwargs: passed to the env constructor.

    Returns:
        ``(env, train, val)`` as ``ogbench.make_env_and_datasets`` returns them, with actions clipped to
        ``+-(1 - 1e-5)`` (:func:`clip_actions`, as the official FQL / floq loaders do): float32 arrays
        ``observations``/``actions`` (N, ·), ``terminals`` (N,), ``next_observations`` or ``valids``, and for
        singletask names ``rewards``/``masks`` (N,).

    Raises:
        UnknownEnvError: not an OGBench name (the message lists the valid environments).
        DatasetMissingError: a file is missing and cannot be downloaded (names the file and the fix).
        DatasetCorruptError: a file is unreadable or malformed (names the file and the fix).
    """
    import ogbench

    _, dataset_name = check_env_name(env_name)
    root = resolve_dataset_dir(dataset_dir)
    from floq_lite.evaluation import make_env  # the env-only call, with gymnasium's dtype warnings filtered

    env = make_env(env_name, **env_kwargs)

    paths = dataset_paths(dataset_name, root)
    missing = [p for p in paths if not p.exists()]
    if missing:
        if download is None:
            download = server_reachable()
        problem = f"Dataset file(s) missing: {', '.join(map(str, missing))}."
        if not download:
            raise DatasetMissingError(
                f"{problem} The OGBench server is not used (offline). {how_to_get(dataset_name, root)}"
            )
        try:
            ogbench.download_datasets([dataset_name], str(root))
        except OSError as exc:  # URLError and HTTPError are OSErrors
            raise DatasetMissingError(
                f"{problem} Downloading them failed ({exc}). {how_to_get(dataset_name, root)}"
            ) from exc
    if validate:
        layout = Layout.from_env(env, needs_qpos="singletask" in env_name.split("-"))
        for path in paths:
            validate_file(path, layout, dataset_name=dataset_name, dataset_dir=root)
    train, val = ogbench.make_env_and_datasets(
        env_name, dataset_dir=str(root), compact_dataset=compact, dataset_only=True, cur_env=env, add_info=add_info
    )
    return env, clip_actions(train), clip_actions(val)


ACTION_CLIP = 1 - 1e-5  # the official FQL / floq loaders clip dataset actions to +-(1 - 1e-5)


def clip_actions(dataset: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The dataset with ``actions`` clipped to ``+-ACTION_CLIP``, as the official ``envs/env_utils.py`` loads it:
    the BC flow's targets then stay strictly inside the ``[-1, 1]`` box its sampled actions are clipped to."""
    if "actions" not in dataset:
        return dataset
    out = dict(dataset)
    out["actions"] = np.clip(np.asarray(dataset["actions"]), -ACTION_CLIP, ACTION_CLIP).astype(np.float32)
    return out
