"""The scripts that make chapter 6's committed runs and artifacts: arguments, a run carried between machines, and
artifacts named after the maze of their runs.

``tools/ch6_runs.sh`` runs for hours; a run in progress travels to the next machine through git (``save`` copies its
checkpoint and logs into ``tools/ch6_inflight/``, and the next ``floq``/``fql`` call starts from that copy). The
tests replace ``floq-lite`` with a stub that prints its arguments, so nothing trains.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CH6 = ROOT / "tools" / "ch6_runs.sh"
RUN_FILES = ("config.json", "checkpoint.msgpack", "eval.csv", "eval.jsonl", "metrics.csv", "metrics.jsonl")


@pytest.fixture
def ch6(tmp_path):
    """``ch6(action) -> CompletedProcess`` with a stub ``floq-lite`` and the in-flight copies under ``tmp_path``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "floq-lite"
    stub.write_text('#!/bin/sh\necho "floq-lite $*"\n')
    stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", CH6_INFLIGHT=str(tmp_path / "inflight"))

    def run(action: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(CH6), str(tmp_path / "data"), str(tmp_path / "runs"), action],
                              env=env | extra_env, capture_output=True, text=True)

    return run


def _fake_run(directory: Path, step: int, env_name: str = "antmaze-large-navigate-singletask-v0") -> None:
    directory.mkdir(parents=True)
    for name in RUN_FILES:
        (directory / name).write_text(f"{name} at step {step}\n")
    (directory / "config.json").write_text(f'{{"env_name": "{env_name}", "steps_done": {step}}}\n')


def test_unknown_action_is_refused(ch6):
    proc = ch6("flq")
    assert proc.returncode == 2
    assert "unknown action 'flq'" in proc.stderr and "save" in proc.stderr


def test_new_run_starts_without_resume(ch6, tmp_path):
    proc = ch6("fql")
    assert proc.returncode == 0, proc.stderr
    assert f"--out {tmp_path / 'runs' / 'fql'} --tier teach" in proc.stdout
    assert "--resume" not in proc.stdout and "--steps 300000" in proc.stdout


def test_save_then_continue_on_a_new_machine(ch6, tmp_path):
    _fake_run(tmp_path / "runs" / "floq", 45000)
    saved = ch6("save")
    assert saved.returncode == 0, saved.stderr
    inflight = tmp_path / "inflight"
    assert sorted(p.name for p in (inflight / "floq").iterdir()) == sorted(RUN_FILES)
    assert not (inflight / "fql").exists()  # no FQL run here: nothing saved for it

    shutil.rmtree(tmp_path / "runs")  # a new machine: the run directory is gone
    proc = ch6("floq")
    assert proc.returncode == 0, proc.stderr
    assert "continuing" in proc.stdout and "--resume" in proc.stdout
    assert (tmp_path / "runs" / "floq" / "checkpoint.msgpack").read_text() == "checkpoint.msgpack at step 45000\n"


def test_a_local_run_wins_over_the_committed_copy(ch6, tmp_path):
    _fake_run(tmp_path / "inflight" / "floq", 45000)
    _fake_run(tmp_path / "runs" / "floq", 60000)
    proc = ch6("floq")
    assert proc.returncode == 0, proc.stderr
    assert "continuing" not in proc.stdout and "--resume" in proc.stdout
    assert (tmp_path / "runs" / "floq" / "checkpoint.msgpack").read_text() == "checkpoint.msgpack at step 60000\n"


def test_another_maze_uses_its_own_dataset_and_is_refused_a_large_copy(ch6, tmp_path):
    proc = ch6("data", MAZE="medium")
    assert proc.returncode == 0, proc.stderr
    assert "floq-lite data generate antmaze-medium-navigate-v0 " in proc.stdout
    assert "antmaze-medium-navigate-singletask-v0" in ch6("fql", MAZE="medium").stdout

    _fake_run(tmp_path / "inflight" / "floq", 45000)  # a large-maze run in progress (CH6_INFLIGHT points at it)
    proc = ch6("floq", MAZE="medium")
    assert proc.returncode == 2
    assert "another environment" in proc.stderr and "MAZE" in proc.stderr
    assert not (tmp_path / "runs" / "floq").exists()  # nothing was copied or started


def test_unknown_maze_is_refused(ch6):
    proc = ch6("fql", MAZE="huge")
    assert proc.returncode == 2 and "unknown MAZE 'huge'" in proc.stderr


def test_default_in_flight_folder_is_per_maze(tmp_path):
    """Without CH6_INFLIGHT, a medium-maze run never picks up the large maze's copy beside the script
    (tools/ch6_inflight); the script runs from a copy so that the test owns that folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "floq-lite").write_text('#!/bin/sh\necho "floq-lite $*"\n')
    (bin_dir / "floq-lite").chmod(0o755)
    tools = tmp_path / "tools"
    tools.mkdir()
    script = Path(shutil.copy(CH6, tools / "ch6_runs.sh"))
    _fake_run(tools / "ch6_inflight" / "floq", 45000)  # the large maze's committed copy
    env = {k: v for k, v in os.environ.items() if k != "CH6_INFLIGHT"}
    env |= dict(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", MAZE="medium")
    proc = subprocess.run(["bash", str(script), str(tmp_path / "data"), str(tmp_path / "runs"), "floq"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "continuing" not in proc.stdout and "--resume" not in proc.stdout
    env["MAZE"] = "large"  # and the large maze does continue from it
    proc = subprocess.run(["bash", str(script), str(tmp_path / "data"), str(tmp_path / "runs2"), "floq"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "continuing" in proc.stdout and "--resume" in proc.stdout


def _artifacts_main():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ch6_artifacts", ROOT / "tools" / "ch6_artifacts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_ch6_artifacts_are_named_after_the_maze_of_their_runs(tmp_path, capsys):
    """A tiny antmaze-medium FQL run gives antmaze_medium_* artifacts; a run of another maze is refused."""
    pytest.importorskip("ogbench")
    from floq_lite import training
    from floq_lite.data import generate_navigate, write_dataset

    data = generate_navigate("antmaze-medium-navigate-v0", episodes=1, episode_length=40, progress=False)
    write_dataset("antmaze-medium-navigate-v0", data.train, data.val, tmp_path / "data")
    tiny = {"actor_hidden_dims": (16, 16), "value_hidden_dims": (16, 16), "batch_size": 8, "actor_flow_steps": 2,
            "log_interval": 5, "eval_interval": 5, "eval_episodes": 1}
    training.train("antmaze-medium-navigate-singletask-v0", agent="fql", tier="smoke", seeds=1, steps=5,
                   out=tmp_path / "fql", dataset_dir=tmp_path / "data", overrides=tiny, eval_max_episode_steps=10,
                   progress=False, download=False, log=lambda _: None)
    main = _artifacts_main()
    out = tmp_path / "artifacts"
    assert main(["--maze", "medium", "--fql", str(tmp_path / "fql"), "--value-maps-resolution", "1",
                 "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["antmaze_medium_cpu_runs.json", "antmaze_medium_rollouts.json",
                                                     "antmaze_medium_value_maps.json"]
    with pytest.raises(SystemExit) as stop:  # the default maze is large: this run does not belong there
        main(["--fql", str(tmp_path / "fql"), "--out", str(out)])
    assert stop.value.code == 2
    assert "not antmaze-large: pass --maze" in capsys.readouterr().err
