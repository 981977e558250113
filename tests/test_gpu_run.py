"""The GPU run script (tools/gpu_run.sh -> tools/gpu_run.py) in its --smoke mode, and its wheel list.

The smoke mode runs every stage of the GPU run with tiny sizes on this CPU, so a broken stage is found here rather
than in the few minutes a GPU machine is lent for.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytest.importorskip("ogbench")

ROOT = Path(__file__).resolve().parent.parent


def _wheels_module():
    spec = importlib.util.spec_from_file_location("gpu_wheels", ROOT / "tools" / "gpu_wheels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_out")
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable, MUJOCO_GL="egl")
    proc = subprocess.run(["bash", str(ROOT / "tools" / "gpu_run.sh"), "--smoke", "--work",
                           str(tmp_path_factory.mktemp("gpu_work"))], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    return out, proc


def test_smoke_run_passes_every_stage_and_returns_few_flat_files(smoke_run):
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and all((out / f).is_file() for f in files)  # the device tool's return limits
    assert {"gpu_run.log", "summary.json", "throughput.json", "antmaze_large_gpu_runs.json", "floq_run.tar.gz",
            "fql_run.tar.gz"} <= set(files)
    summary = json.loads((out / "summary.json").read_text())
    stages = summary["stages"]
    assert list(stages) == ["env", "throughput", "data", "train_floq", "train_fql", "export"]
    assert all(s["status"] == "ok" for s in stages.values()), stages
    log = (out / "gpu_run.log").read_text()
    for stage in ("install", "env", "throughput", "data", "train_floq", "train_fql"):
        assert f"stage {stage}" in log  # every stage is timestamped in the log
    assert stages["train_floq"]["run_status"] == "time budget" and stages["train_floq"]["steps"] >= 5


def test_smoke_artifacts_are_in_the_reporting_formats(smoke_run):
    from floq_lite import reporting

    out, _ = smoke_run
    speed = json.loads((out / "throughput.json").read_text())
    assert speed["format"] == reporting.SPEED_FORMAT and speed["hardware"]["jax_backend"] == "cpu"
    assert {(r["size"], r["agent"]) for r in speed["rows"]} == {("smoke", "floq"), ("smoke", "fql")}
    assert all(r["ms_per_update"] > 0 and r["seeds2_ms"] > 0 for r in speed["rows"])
    runs = json.loads((out / "antmaze_large_gpu_runs.json").read_text())
    assert runs["format"] == reporting.RUNS_FORMAT and set(runs["agents"]) == {"floq", "fql"}
    for agent in ("floq", "fql"):
        run = runs["agents"][agent]
        assert run["seeds"] == [0, 1] and len(run["final"]["per_seed"]) == 2 and run["status"] == "time budget"
        assert run["config"]["eval_episodes"] == 2 and run["wall_time_s"] > 0 and "commit" in (run["git"] or {})
        assert str(out.parent) not in json.dumps(run)  # no machine paths in an artifact
        with tarfile.open(out / f"{agent}_run.tar.gz") as tar:
            names = set(tar.getnames())
        assert {f"{agent}/config.json", f"{agent}/metrics.csv", f"{agent}/eval.csv"} <= names


def test_wheel_list_and_image_cover_every_distribution_the_run_imports(smoke_run):
    out, _ = smoke_run
    wheels = _wheels_module()
    imported = {wheels.canonical(d) for d in json.loads((out / "summary.json").read_text())["imported_distributions"]}
    assert {"ogbench", "mujoco", "jax", "flax"} <= imported  # the list is real
    missing = imported - wheels.image_packages() - set(wheels.wanted()) - {"floq-lite"}
    assert not missing, f"add these to tools/gpu_wheels.txt (the GPU machine lacks them): {sorted(missing)}"


def test_wheel_check_names_missing_and_extra_wheels(tmp_path):
    wheels = _wheels_module()
    want = wheels.wanted()
    assert "ogbench" in want and all(v for v in want.values())
    for name, version in want.items():
        (tmp_path / f"{name.replace('-', '_')}-{version}-py3-none-any.whl").write_bytes(b"")
    assert wheels.check(tmp_path) == []
    (tmp_path / f"ogbench-{want['ogbench']}-py3-none-any.whl").unlink()
    (tmp_path / "mujoco-0.0.1-py3-none-any.whl").write_bytes(b"")
    problems = wheels.check(tmp_path)
    assert any("missing wheel ogbench" in p for p in problems) and any("unexpected wheel mujoco" in p for p in problems)
