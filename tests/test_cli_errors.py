"""Bad input to the `floq-lite` commands: an error that names the problem and the fix, no traceback, and nothing
half-written. (The basic cases of `train` and `eval` are in test_cli_train.py; these are the rest.)"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("ogbench")

from floq_lite import training
from floq_lite.cli import main as cli_main

ENV = "pointmaze-medium-navigate-singletask-v0"
TINY = ["--set", "actor_hidden_dims=(8,)", "--set", "value_hidden_dims=(8,)", "--set", "block_width=8",
        "--set", "block_depth=1", "--set", "batch_size=8", "--set", "critic_flow_steps=2", "--set", "noise_samples=2",
        "--set", "actor_flow_steps=2", "--set", "eval_episodes=1", "--set", "log_interval=5", "--set",
        "eval_interval=5"]


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def tiny_run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("errs") / "run"
    assert cli_main(["train", ENV, "--tier", "smoke", "--steps", "5", "--out", str(out), "--dataset-dir",
                     str(data_dir), "--eval-max-episode-steps", "5", "--no-progress", *TINY]) == 0
    return out


def test_unknown_task_names_the_tasks_there_are(data_dir, capsys):
    assert cli_main(["train", ENV.replace("-v0", "-task9-v0"), "--dataset-dir", str(data_dir)]) == 2
    err = _error(capsys)
    assert "no task 9" in err and "1, 2, 3, 4, 5" in err


def test_out_of_range_settings_name_the_field(data_dir, tmp_path, capsys):
    for setting, words in (("discount=1.5", "discount must be in [0, 1)"), ("batch_size=0", "batch_size must be"),
                           ("noise_coverage=0.0", "noise_coverage must be > 0"), ("tau=2.0", "tau must be")):
        out = tmp_path / setting.split("=")[0]
        assert cli_main(["train", ENV, "--tier", "smoke", "--dataset-dir", str(data_dir), "--out", str(out),
                         "--set", setting, "--no-progress"]) == 2, setting
        assert words in _error(capsys)
        assert not out.exists()  # nothing was written for a rejected config


def test_resume_with_a_different_config_says_which_field(tiny_run, data_dir, capsys):
    base = ["train", ENV, "--resume", "--out", str(tiny_run), "--dataset-dir", str(data_dir), "--no-progress"]
    before = (tiny_run / "config.json").read_text()
    assert cli_main([*base, "--set", "alpha=30"]) == 2
    err = _error(capsys)
    assert "alpha=30 differs from the run's 10.0" in err and "--out" in err
    assert (tiny_run / "config.json").read_text() == before  # untouched
    # Repeating the run's own settings is fine: the same command line can be run again to resume.
    assert cli_main([*base, *TINY, "--steps", "5", "--eval-max-episode-steps", "5"]) == 0
    capsys.readouterr()


def test_missing_and_corrupt_checkpoints(tiny_run, tmp_path, capsys):
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "config.json").write_text((tiny_run / "config.json").read_text())
    assert cli_main(["eval", str(copy)]) == 2
    assert "does not exist" in _error(capsys)
    (copy / training.CHECKPOINT).write_bytes(b"not msgpack at all")
    assert cli_main(["eval", str(copy)]) == 2
    err = _error(capsys)
    assert "cannot be read" in err and "corrupt" in err
    (copy / training.CHECKPOINT).write_bytes((tiny_run / training.CHECKPOINT).read_bytes()[:200])  # truncated
    assert cli_main(["eval", str(copy)]) == 2
    assert "cannot be read" in _error(capsys)


def test_corrupt_dataset_is_named(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("pointmaze-medium-navigate-v0.npz", "pointmaze-medium-navigate-v0-val.npz"):
        (data / name).write_bytes(b"PK\x03\x04 truncated zip")
    assert cli_main(["train", ENV, "--tier", "smoke", "--dataset-dir", str(data), "--out", str(tmp_path / "r"),
                     "--no-progress"]) == 1
    err = _error(capsys)
    assert "pointmaze-medium-navigate-v0" in err and "floq-lite data generate" in err
    assert not (tmp_path / "r").exists()


def test_missing_or_corrupt_expert_weights_for_antmaze_data(tmp_path, capsys):
    base = ["data", "generate", "antmaze-large-navigate-v0", "--episodes", "1", "--dataset-dir", str(tmp_path / "d"),
            "--no-progress"]
    assert cli_main([*base, "--expert-weights", str(tmp_path / "none.msgpack")]) == 2
    assert "none.msgpack" in _error(capsys)
    bad = tmp_path / "bad.msgpack"
    bad.write_bytes(b"\x00\x01garbage")
    assert cli_main([*base, "--expert-weights", str(bad)]) == 2
    assert "bad.msgpack" in _error(capsys)
    assert not (tmp_path / "d").exists() or not list((tmp_path / "d").iterdir())  # no dataset was started


def test_unwritable_output_directory(data_dir, tmp_path, monkeypatch, capsys):
    # Root can write anywhere, so a read-only file system is simulated where every write starts: making the folder.
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if str(self).startswith(str(tmp_path / "ro")):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert cli_main(["train", ENV, "--tier", "smoke", "--dataset-dir", str(data_dir), "--out",
                     str(tmp_path / "ro" / "run"), "--no-progress", *TINY]) == 1
    err = _error(capsys)
    assert "read-only" in err and str(tmp_path / "ro") in err and "--out" in err
    assert cli_main(["study", "iterative-compute", "--tier", "smoke", "--out", str(tmp_path / "ro" / "s")]) in (1, 2)
    assert "ro" in _error(capsys)


def test_full_disk_while_writing_a_dataset_leaves_nothing_half_written(tmp_path, monkeypatch, capsys):
    import floq_lite.atomic as atomic

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    out = tmp_path / "data"
    assert cli_main(["data", "generate", "pointmaze-medium-navigate-v0", "--episodes", "1", "--episode-length", "20",
                     "--dataset-dir", str(out), "--no-progress"]) == 1
    err = _error(capsys)
    assert "disk is full" in err and "nothing half-written" in err
    assert sorted(p.name for p in out.iterdir()) == []  # no partial .npz, no temp file


def test_full_disk_during_training_keeps_the_last_good_checkpoint(tiny_run, data_dir, tmp_path, monkeypatch,
                                                                  capsys):
    import shutil

    import floq_lite.atomic as atomic

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    good = (run / training.CHECKPOINT).read_bytes()
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space")))
    assert cli_main(["train", ENV, "--resume", "--steps", "10", "--out", str(run), "--dataset-dir", str(data_dir),
                     "--eval-max-episode-steps", "5", "--no-progress"]) == 1
    assert "disk is full" in _error(capsys)
    assert (run / training.CHECKPOINT).read_bytes() == good  # the old checkpoint is intact
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    json.loads((run / "config.json").read_text())  # still valid JSON


def test_study_from_a_missing_or_mismatched_artifact(tmp_path, capsys):
    assert cli_main(["study", "plasticity", "--tier", "smoke", "--out", str(tmp_path / "s"),
                     "--from-artifact", str(tmp_path / "nope.json")]) == 2
    err = _error(capsys)
    assert "nope.json" in err and "plasticity.json" in err  # names the file it could not read and the right one
    committed = Path(__file__).resolve().parents[1] / "floq_lite" / "artifacts" / "plasticity.json"  # tier paper
    assert cli_main(["study", "plasticity", "--tier", "smoke", "--out", str(tmp_path / "s"),
                     "--from-artifact", str(committed)]) == 2
    assert "its tier is 'paper'" in _error(capsys)
    assert cli_main(["study", "iterative-compute", "--tier", "smoke", "--out", str(tmp_path / "j"), "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in _error(capsys)
    assert not (tmp_path / "j").exists()
