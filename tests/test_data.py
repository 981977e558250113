"""Tests of floq_lite.data (OGBench files, the navigate generator) and the `floq-lite data` command.

Generation runs here are tiny (a few short episodes) so the file runs in seconds on a shared 2-core CPU.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ogbench")

from floq_lite.cli import main as cli_main  # noqa: E402
from floq_lite.data import navigate, ogbench_io  # noqa: E402

MEDIUM = "pointmaze-medium-navigate-v0"
EPISODES, VAL_EPISODES, LENGTH = 6, 2, 400


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A tiny pointmaze-medium navigate dataset written to a fresh dataset directory."""
    root = tmp_path_factory.mktemp("ogbench")
    data = navigate.generate_navigate(
        MEDIUM, episodes=EPISODES, val_episodes=VAL_EPISODES, episode_length=LENGTH, seed=3, progress=False
    )
    ogbench_io.write_dataset(MEDIUM, data.train, data.val, root)
    return root, data


@pytest.fixture(scope="module")
def runner():
    return navigate.EpisodeRunner(navigate.NavigateConfig(MEDIUM, episode_length=LENGTH))


def _success(qpos: np.ndarray, goal_xy, tol: float = 1.0) -> np.ndarray:
    return np.linalg.norm(qpos[:, :2] - np.asarray(goal_xy), axis=-1) <= tol


# --- files in the official format, read by the official loader ---------------------------------------------


def test_files_have_the_official_keys_dtypes_and_episode_layout(generated):
    root, _ = generated
    for path, episodes in zip(ogbench_io.dataset_paths(MEDIUM, root), (EPISODES, VAL_EPISODES), strict=True):
        with np.load(path) as f:
            assert sorted(f.files) == ["actions", "observations", "qpos", "qvel", "terminals"]
            arrays = {k: f[k] for k in f.files}
        n = episodes * LENGTH
        for key, dtype, width in [
            ("observations", np.float32, 2),
            ("actions", np.float32, 2),
            ("qpos", np.float32, 2),
            ("qvel", np.float32, 2),
        ]:
            assert arrays[key].dtype == dtype and arrays[key].shape == (n, width), key
        assert arrays["terminals"].dtype == bool and arrays["terminals"].shape == (n,)
        # Terminals mark episode ends only (no early termination at goals).
        assert np.array_equal(np.flatnonzero(arrays["terminals"]), np.arange(LENGTH - 1, n, LENGTH))
        assert np.array_equal(arrays["observations"], arrays["qpos"])  # the point mass observes its qpos
        assert np.abs(arrays["actions"]).max() <= 1.0


def test_official_loader_relabels_rewards_and_masks_from_generated_files(generated):
    import ogbench

    root, data = generated
    raw = data.train
    keep = ~raw["terminals"]  # the official loader drops each episode's last row (it has no next observation)
    for task in (1, 3):
        name = f"pointmaze-medium-navigate-singletask-task{task}-v0"
        env, train, val = ogbench.make_env_and_datasets(name, dataset_dir=str(root), add_info=True)
        goal_xy = env.unwrapped.task_infos[task - 1]["goal_xy"]
        success = _success(raw["qpos"][keep], goal_xy).astype(np.float32)
        assert train["observations"].shape == (EPISODES * (LENGTH - 1), 2)
        assert val["observations"].shape == (VAL_EPISODES * (LENGTH - 1), 2)
        np.testing.assert_array_equal(train["rewards"], success - 1.0)
        np.testing.assert_array_equal(train["masks"], 1.0 - success)
        np.testing.assert_array_equal(train["next_observations"], raw["observations"][np.roll(keep, 1)])
    # The equality above is not vacuous: some row of the tiny dataset is a success for some task.
    visited = np.concatenate([_success(raw["qpos"], info["goal_xy"]) for info in env.unwrapped.task_infos])
    assert visited.any(), "no row of the tiny dataset reaches any task goal; the reward test would be vacuous"


def test_load_wraps_the_official_loader_including_compact_mode(generated):
    root, _ = generated
    env, train, val = ogbench_io.load(
        "pointmaze-medium-navigate-singletask-v0", dataset_dir=root, compact=True, download=False
    )
    assert set(train) >= {"observations", "actions", "terminals", "valids", "rewards", "masks"}
    assert train["observations"].shape == (EPISODES * LENGTH, 2)
    assert train["valids"].sum() == EPISODES * (LENGTH - 1)
    assert env.unwrapped._reward_task_id == 1  # the default task
    assert val["observations"].shape[0] == VAL_EPISODES * LENGTH


def test_load_clips_dataset_actions_like_the_official_loaders(generated):
    import ogbench

    root, _ = generated
    name = "pointmaze-medium-navigate-singletask-v0"
    env, train, val = ogbench_io.load(name, dataset_dir=root, download=False)
    raw = ogbench.make_env_and_datasets(name, dataset_dir=str(root), dataset_only=True, cur_env=env)[0]["actions"]
    assert np.abs(raw).max() == 1.0  # the generated data holds actions on the box's edge (clipped noise)
    bound = 1 - 1e-5
    assert np.abs(train["actions"]).max() <= bound and np.abs(val["actions"]).max() <= bound
    inside = np.abs(raw) < bound
    np.testing.assert_array_equal(train["actions"][inside], raw[inside])  # only the edge rows change
    np.testing.assert_allclose(np.abs(train["actions"][~inside]), bound)


def test_dataset_dir_comes_from_argument_then_env_var_then_default(monkeypatch, tmp_path):
    monkeypatch.delenv(ogbench_io.DATASET_DIR_ENV_VAR, raising=False)
    assert ogbench_io.resolve_dataset_dir() == Path("~/.ogbench/data").expanduser()
    monkeypatch.setenv(ogbench_io.DATASET_DIR_ENV_VAR, str(tmp_path))
    assert ogbench_io.resolve_dataset_dir() == tmp_path
    assert ogbench_io.resolve_dataset_dir(tmp_path / "x") == tmp_path / "x"


def test_names_map_to_env_ids_and_dataset_files_like_ogbench():
    assert ogbench_io.split_name("antmaze-large-navigate-singletask-task3-v0") == (
        "antmaze-large-singletask-task3-v0",
        "antmaze-large-navigate-v0",
    )
    assert ogbench_io.split_name("cube-double-play-singletask-v0") == (
        "cube-double-singletask-v0",
        "cube-double-play-v0",
    )
    assert ogbench_io.split_name(MEDIUM) == ("pointmaze-medium-v0", MEDIUM)


# --- the navigate procedure ---------------------------------------------------------------------------------


def test_oracle_agrees_with_ogbench_get_oracle_subgoal():
    import gymnasium

    env = gymnasium.make("pointmaze-large-v0")
    grid = navigate.MazeGrid.from_env(env)
    oracle = navigate.BFSOracle(grid)
    free = grid.empty_cells()
    rng = np.random.default_rng(0)
    for _ in range(300):
        xy = grid.center_of(free[rng.integers(len(free))]) + rng.uniform(-1.9, 1.9, 2)
        goal = grid.center_of(free[rng.integers(len(free))]) + rng.uniform(-1.0, 1.0, 2)
        official, _ = env.unwrapped.get_oracle_subgoal(xy, goal)
        np.testing.assert_allclose(grid.center_of(oracle.subgoal_cell(xy, goal)), official)
        direction = oracle.direction(xy, goal)
        assert abs(np.linalg.norm(direction) - 1.0) < 1e-3 or np.linalg.norm(official - xy) < 1e-3


def test_goal_cells_exclude_exactly_the_hallways(runner):
    grid = runner.grid
    assert len(grid.empty_cells()) == 26
    hallways = sorted(set(grid.empty_cells()) - set(grid.goal_cells()))
    # Checked by eye on OGBench's medium maze: straight corridor cells with walls on both sides.
    assert hallways == [(3, 3), (4, 5), (5, 1), (5, 6), (6, 2)]


def test_episodes_start_in_free_cells_reach_goals_and_cover_the_maze(generated, runner):
    _, data = generated
    grid = runner.grid
    starts = data.train["qpos"][::LENGTH]
    assert all(not grid.walls[grid.cell_of(xy)] for xy in starts)
    # Jitter is at most 1 unit around a cell centre.
    centres = np.array([grid.center_of(grid.cell_of(xy)) for xy in starts])
    assert np.abs(starts - centres).max() <= 1.0 + 0.2  # + a few random settling moves are overwritten, not added
    # Re-goaling: each goal is reached (a row within the 1.0 tolerance), then a new one replaces it.
    assert data.train_goals_reached.sum() >= EPISODES and (data.train_goals_reached >= 2).any()
    for e, goals in enumerate(data.train_goals):
        # Success is judged after the step, i.e. on the next row's qpos; replay the goal sequence on it.
        after_step = data.train["qpos"][e * LENGTH + 1 : (e + 1) * LENGTH]
        t = 0
        for k, goal in enumerate(goals[:-1]):
            hits = np.flatnonzero(_success(after_step[t:], goal))
            if len(hits) == 0:  # only the very last step's outcome is not in the file
                assert k == len(goals) - 2
                break
            t += hits[0] + 1
        else:
            assert not _success(after_step[t:], goals[-1]).any()  # the pending goal was never reached
        goal_cells = {grid.cell_of(g) for g in goals}
        assert goal_cells <= set(grid.goal_cells())
    assert navigate.cell_coverage(grid, data.train["qpos"][:, :2]) >= 0.6
    assert navigate.cell_coverage(grid, starts) > 0


def test_action_noise_has_the_official_scale():
    zero = lambda obs, direction: np.zeros(2)  # noqa: E731  (so actions are pure clipped noise)
    data = navigate.generate_navigate(
        MEDIUM, episodes=2, val_episodes=1, episode_length=1000, expert=zero, progress=False
    )
    a = data.train["actions"].ravel()
    clipped = np.mean(np.abs(a) >= 1.0)
    assert 0.03 < clipped < 0.065  # P(|N(0, 0.5^2)| >= 1) = 0.0455
    assert 0.30 < np.median(np.abs(a)) < 0.375  # 0.5 * 0.6745
    assert navigate.NavigateConfig("antmaze-large-navigate-v0").action_noise == 0.2
    assert navigate.NavigateConfig(MEDIUM).action_noise == 0.5


def test_same_seed_same_data_and_episodes_do_not_depend_on_split_sizes(generated):
    _, data = generated
    again = navigate.generate_navigate(
        MEDIUM, episodes=2, val_episodes=1, episode_length=LENGTH, seed=3, progress=False
    )
    # Train episodes 0-1 and val episode 0 are identical to those of the bigger fixture run.
    for key in data.train:
        np.testing.assert_array_equal(again.train[key], data.train[key][: 2 * LENGTH])
        np.testing.assert_array_equal(again.val[key], data.val[key][:LENGTH])
    assert not np.array_equal(data.val["qpos"][:LENGTH], data.train["qpos"][:LENGTH])  # val has its own stream
    other = navigate.generate_navigate(
        MEDIUM, episodes=2, val_episodes=1, episode_length=LENGTH, seed=4, progress=False
    )
    assert not np.array_equal(other.train["qpos"], again.train["qpos"])


def test_worker_processes_give_identical_data():
    kwargs = dict(episodes=3, val_episodes=1, episode_length=50, seed=7, progress=False)
    one = navigate.generate_navigate("pointmaze-teleport-navigate-v0", workers=1, **kwargs)
    two = navigate.generate_navigate("pointmaze-teleport-navigate-v0", workers=2, **kwargs)
    for key in one.train:
        np.testing.assert_array_equal(one.train[key], two.train[key])
        np.testing.assert_array_equal(one.val[key], two.val[key])


def ant_zero_factory(dataset_name):
    """An expert factory for the `--expert module:factory` interface: a standing-still ant."""
    assert dataset_name.startswith("antmaze-")
    return lambda obs_without_xy, direction: np.zeros(8)


def test_antmaze_takes_an_expert_and_records_ant_sized_arrays():
    seen = []

    def expert(obs_without_xy, direction):
        seen.append((obs_without_xy.shape, direction.shape))
        return np.zeros(8)

    data = navigate.generate_navigate(
        "antmaze-medium-navigate-v0", episodes=1, val_episodes=1, episode_length=20, expert=expert, progress=False
    )
    assert seen[0] == ((27,), (2,))  # 29-d ant observation without x, y; a 2-d direction
    shapes = {k: v.shape[1:] for k, v in data.train.items()}
    assert shapes == {"observations": (29,), "actions": (8,), "qpos": (15,), "qvel": (14,), "terminals": ()}
    by_spec = navigate.generate_navigate(
        "antmaze-medium-navigate-v0",
        episodes=1,
        val_episodes=1,
        episode_length=20,
        expert=f"{__name__}:ant_zero_factory",
        progress=False,
    )
    np.testing.assert_array_equal(by_spec.train["actions"], data.train["actions"])
    with pytest.raises(ValueError, match="cannot be pickled"):  # a closure cannot travel to worker processes
        navigate.generate_navigate("antmaze-medium-navigate-v0", episodes=1, expert=expert, workers=2, progress=False)


def test_antmaze_defaults_to_the_shipped_expert_and_its_files_load(tmp_path):
    from floq_lite.expert import shipped

    name, length = "antmaze-medium-navigate-v0", 50
    default = navigate.resolve_expert(None, name)
    assert isinstance(default, shipped.AntExpert) and default.path == shipped.WEIGHTS
    data = navigate.generate_navigate(name, episodes=1, val_episodes=1, episode_length=length, seed=0, progress=False)
    ogbench_io.write_dataset(name, data.train, data.val, tmp_path)
    # The official loader (through floq_lite's wrapper, which also checks the env's dimensions) reads them.
    env, train, val = ogbench_io.load("antmaze-medium-navigate-singletask-v0", dataset_dir=tmp_path, download=False)
    assert env.observation_space.shape == (29,) and env.action_space.shape == (8,)
    for split in (train, val):
        assert split["observations"].shape == split["next_observations"].shape == (length - 1, 29)
        assert split["actions"].shape == (length - 1, 8) and np.abs(split["actions"]).max() <= 1.0
    # The recorded actions are the shipped policy's plus N(0, 0.2^2) noise, clipped to [-1, 1]: replay the
    # oracle's directions (goal k until the ant comes within 1.0 of it) and compare.
    oracle = navigate.BFSOracle(navigate.MazeGrid.from_env(env))
    qpos, goals, k, expert_actions = data.train["qpos"], data.train_goals[0], 0, []
    for t in range(length):
        direction = oracle.direction(qpos[t, :2], goals[k])
        expert_actions.append(default(data.train["observations"][t, 2:], direction))
        if t + 1 < length and _success(qpos[t + 1 : t + 2], goals[k])[0]:
            k += 1
    residual = np.abs(data.train["actions"] - np.asarray(expert_actions))
    # |clip(e + n) - e| <= |n| for |e| <= 1, and E|n| = 0.16 for the ant's noise std 0.2. A different expert would
    # leave its difference to the shipped one in the residual (a zero expert: 0.21 with an early checkpoint).
    assert residual.mean() < 0.18 and residual.max() < 0.9, (residual.mean(), residual.max())


# --- bad inputs give clear errors ---------------------------------------------------------------------------


def test_unknown_names_list_the_valid_ones(tmp_path, capsys):
    with pytest.raises(ogbench_io.UnknownEnvError, match="pointmaze-medium"):
        ogbench_io.load("pointmaze-huge-navigate-singletask-v0", dataset_dir=tmp_path, download=False)
    with pytest.raises(ValueError, match="antmaze-large-navigate-v0"):
        navigate.generate_navigate("cube-double-play-v0")
    assert cli_main(["data", "generate", "pointmaze-huge-navigate-v0", "--dataset-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in navigate.NAVIGATE_DATASETS)


def test_missing_files_offline_name_the_file_and_the_command(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(ogbench_io.DatasetMissingError) as info:
        ogbench_io.load("pointmaze-large-navigate-singletask-task2-v0", dataset_dir=tmp_path)  # auto: probes, offline
    message = str(info.value)
    assert str(tmp_path / "pointmaze-large-navigate-v0.npz") in message
    assert f"floq-lite data generate pointmaze-large-navigate-v0 --dataset-dir {tmp_path}" in message
    with pytest.raises(ogbench_io.DatasetMissingError, match="Downloading them failed"):
        ogbench_io.load("pointmaze-large-navigate-singletask-v0", dataset_dir=tmp_path, download=True)
    # Only one of the two files missing: that one is named.
    (tmp_path / "pointmaze-large-navigate-v0.npz").write_bytes(b"")
    with pytest.raises(ogbench_io.DatasetMissingError, match=r"navigate-v0-val\.npz\.") as info:
        ogbench_io.load("pointmaze-large-navigate-singletask-v0", dataset_dir=tmp_path, download=False)
    assert "navigate-v0.npz," not in str(info.value)
    # Datasets floq-lite cannot generate point to the official download instead.
    with pytest.raises(ogbench_io.DatasetMissingError, match="download_datasets"):
        ogbench_io.load("puzzle-3x3-play-singletask-v0", dataset_dir=tmp_path, download=False)


def _copy_dataset(generated, tmp_path) -> tuple[Path, Path]:
    root, _ = generated
    pair = ogbench_io.dataset_paths(MEDIUM, tmp_path)
    for src, dst in zip(ogbench_io.dataset_paths(MEDIUM, root), pair, strict=True):
        dst.write_bytes(src.read_bytes())
    return pair


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_corrupt_or_truncated_files_are_rejected_by_name(generated, tmp_path, damage):
    train, _ = _copy_dataset(generated, tmp_path)
    raw = bytearray(train.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "garbage":
        raw = bytearray(b"not a zip file at all" * 10)
    else:  # flip bytes inside the compressed data: only the CRC / inflate step notices
        for k in range(200, 260):
            raw[k] ^= 0xFF
    train.write_bytes(bytes(raw))
    with pytest.raises(ogbench_io.DatasetCorruptError) as info:
        ogbench_io.load("pointmaze-medium-navigate-singletask-v0", dataset_dir=tmp_path, download=False)
    message = str(info.value)
    assert str(train) in message and "Delete it" in message
    assert f"floq-lite data generate {MEDIUM} --dataset-dir {tmp_path}" in message


def test_structurally_wrong_files_are_rejected(generated, tmp_path):
    train, val = _copy_dataset(generated, tmp_path)
    arrays = ogbench_io.read_arrays(train)
    cut = {k: v[: LENGTH + 7] for k, v in arrays.items()}  # stops mid-episode
    ogbench_io.save_npz_atomic(train, cut)
    with pytest.raises(ogbench_io.DatasetCorruptError, match="cut off mid-episode"):
        ogbench_io.load("pointmaze-medium-navigate-singletask-v0", dataset_dir=tmp_path, download=False)
    ogbench_io.save_npz_atomic(train, {k: v for k, v in arrays.items() if k != "qpos"})
    with pytest.raises(ogbench_io.DatasetCorruptError, match=r"missing key\(s\) \['qpos'\]"):
        ogbench_io.load("pointmaze-medium-navigate-singletask-v0", dataset_dir=tmp_path, download=False)
    # A pointmaze file under an antmaze name: the shapes do not fit the environment.
    ogbench_io.save_npz_atomic(train, arrays)
    for src in (train, val):
        src.rename(tmp_path / src.name.replace("pointmaze", "antmaze"))
    with pytest.raises(ogbench_io.DatasetCorruptError, match="another environment"):
        ogbench_io.load("antmaze-medium-navigate-singletask-v0", dataset_dir=tmp_path, download=False)


def test_writes_are_atomic(generated, tmp_path, monkeypatch):
    train, _ = _copy_dataset(generated, tmp_path)
    before = train.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("disk full (test)")

    monkeypatch.setattr(np, "savez_compressed", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        ogbench_io.save_npz_atomic(train, {"terminals": np.ones(2, bool)})
    assert train.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([train.name, train.name.replace(".npz", "-val.npz")])


def test_bad_flags_are_usage_errors(tmp_path, capsys):
    for argv, expected in [
        (["--episodes", "0"], "must be at least 1"),
        (["--episodes", "ten"], "expected a whole number"),
        (["--workers", "0"], "must be at least 1"),
        (["--noise", "-1"], "must be >= 0"),
        (["--episode-length", "1"], "must be at least 2"),
    ]:
        with pytest.raises(SystemExit) as info:
            cli_main(["data", "generate", MEDIUM, "--dataset-dir", str(tmp_path), *argv])
        assert info.value.code == 2
        assert expected in capsys.readouterr().err
    ant = ["data", "generate", "antmaze-large-navigate-v0", "--dataset-dir", str(tmp_path)]
    missing = tmp_path / "no-such-run" / "actor.msgpack"
    assert cli_main([*ant, "--expert-weights", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "floq-lite expert train" in err
    assert cli_main([*ant, "--expert", f"{__name__}:ant_zero_factory", "--expert-weights", str(missing)]) == 2
    assert "not both" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written on bad input


# --- the command line end to end ----------------------------------------------------------------------------


def test_cli_generates_checks_and_skips_existing_files(tmp_path, capsys):
    argv = [
        "data",
        "generate",
        "pointmaze-large-navigate-singletask-task1-v0",
        "--episodes",
        "2",
        "--episode-length",
        "60",
        "--dataset-dir",
        str(tmp_path),
        "--no-progress",
    ]
    assert cli_main(argv) == 0
    train, val = ogbench_io.dataset_paths("pointmaze-large-navigate-v0", tmp_path)
    assert ogbench_io.validate_file(train).rows == 120 and ogbench_io.validate_file(val).rows == 60
    stamp = train.stat().st_mtime_ns
    assert cli_main(argv) == 0 and "already exist" in capsys.readouterr().out
    assert train.stat().st_mtime_ns == stamp
    assert cli_main(["data", "check", "pointmaze-large-navigate-v0", "--dataset-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("ok ") == 2
    val.unlink()
    assert cli_main(["data", "check", "pointmaze-large-navigate-v0", "--dataset-dir", str(tmp_path)]) == 1
    assert "floq-lite data generate pointmaze-large-navigate-v0" in capsys.readouterr().err


def test_console_script_help_and_light_import():
    exe = Path(sys.executable).with_name("floq-lite")
    if exe.exists():
        out = subprocess.run([str(exe), "data", "generate", "--help"], capture_output=True, text=True, check=True)
        assert "--episodes N" in out.stdout and "pointmaze-large-navigate-v0" in out.stdout
    code = (
        "import sys, floq_lite.data, floq_lite.cli\n"
        "print(any(m.split('.')[0] in ('ogbench', 'mujoco') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
