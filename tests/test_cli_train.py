"""Tests of floq_lite.training / floq_lite.evaluation and the `floq-lite train|eval|render` commands.

Everything runs on a tiny generated pointmaze dataset (2 short episodes) with 16-unit networks, 20 steps and
20-step evaluation episodes, so the file takes well under a minute on a shared 2-core CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("ogbench")

from floq_lite import evaluation, reporting, training
from floq_lite.agents import FloqAgent
from floq_lite.agents._common import BATCH_KEYS
from floq_lite.cli import main as cli_main
from floq_lite.data import ogbench_io

DATASET = "pointmaze-medium-navigate-v0"
ENV = "pointmaze-medium-navigate-singletask-v0"
TINY = dict(
    actor_hidden_dims=(16, 16), value_hidden_dims=(16, 16), block_width=16, block_depth=1, batch_size=16,
    critic_flow_steps=2, noise_samples=2, actor_flow_steps=2, log_interval=5, eval_interval=10, eval_episodes=1,
)
TINY_FQL = {k: v for k, v in TINY.items() if k not in ("block_width", "block_depth", "critic_flow_steps",
                                                          "noise_samples")}
EVAL_T = 20  # evaluation episode cap (steps)


def _cli_sets(overrides: dict) -> list[str]:
    out = []
    for k, v in overrides.items():
        out += ["--set", f"{k}={v!r}"]
    return out


def _train(data_dir, out, **kwargs):
    kwargs.setdefault("overrides", dict(TINY))
    kwargs.setdefault("steps", 20)
    return training.train(ENV, agent=kwargs.pop("agent", "floq"), tier="smoke", out=out, dataset_dir=data_dir,
                          eval_max_episode_steps=EVAL_T, progress=False, download=False, log=lambda _: None,
                          **kwargs)


@pytest.fixture(scope="module")
def floq_run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "floq"
    result = _train(data_dir, out, seeds=2)
    return out, result


def _table(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k != "time_s"} for row in csv.DictReader(f)]


# --- the training loop ---------------------------------------------------------------------------------------------


def test_train_writes_config_logs_evals_and_checkpoint(floq_run):
    out, result = floq_run
    assert result.status == "finished" and result.step == 20
    meta = json.loads((out / "config.json").read_text())
    assert meta["seeds"] == [0, 1] and meta["tier"] == "smoke" and meta["status"] == "finished"
    assert meta["config"]["r_min"] == -1.0 and meta["config"]["offline_steps"] == 20
    assert meta["config"]["actor_hidden_dims"] == [16, 16]
    assert meta["hardware"]["cpu_count"] >= 1 and meta["hardware"]["jax_devices"]
    assert "commit" in (meta["git"] or {"commit": None}) and meta["wall_time_s"] > 0
    assert isinstance(meta["hardware"]["cpu"], str)
    (segment,) = meta["segments"]  # one start, no resume
    assert (segment["from_step"], segment["to_step"]) == (0, 20)
    assert segment["wall_time_s"] == pytest.approx(meta["wall_time_s"]) and segment["hardware"] == meta["hardware"]
    metrics = _table(out / "metrics.csv")
    assert [(int(r["step"]), int(r["seed"])) for r in metrics] == [(s, i) for s in (5, 10, 15, 20) for i in (0, 1)]
    assert {"critic/critic_loss", "critic/floq_loss", "actor/actor_loss"} <= set(metrics[0])
    assert all(np.isfinite(float(r["critic/critic_loss"])) for r in metrics)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == len(metrics)
    evals = _table(out / "eval.csv")
    assert [(int(r["step"]), int(r["seed"])) for r in evals] == [(10, 0), (10, 1), (20, 0), (20, 1)]
    assert all(0.0 <= float(r["success_rate"]) <= 1.0 and int(r["episodes"]) == 1 for r in evals)
    assert training.load_checkpoint_step(out / "checkpoint.msgpack") == 20
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temp files behind


def test_seeds_train_differently_and_checkpoint_restores_the_state(floq_run):
    out, _ = floq_run
    meta = training.load_run(out)
    template = training.template_agents("floq", meta["config_obj"], [0, 1], 2, 2)
    agents, step, _ = training.load_checkpoint(out, template)
    assert step == 20 and int(agents.step[0]) == 20
    w = agents.params["critic"]
    leaf = jax.tree.leaves(w)[0]
    assert not np.array_equal(np.asarray(leaf[0]), np.asarray(leaf[1]))


def test_resume_after_a_kill_ends_like_an_uninterrupted_run(data_dir, floq_run, tmp_path):
    full, _ = floq_run
    part = tmp_path / "part"
    stopped = _train(data_dir, part, seeds=2, stop_after=15)
    assert stopped.status == "stopped" and stopped.step == 15
    assert training.load_checkpoint_step(part / "checkpoint.msgpack") == 10  # the kill came after step 15's log
    resumed = _train(data_dir, part, seeds=2, resume=True, overrides={})
    assert resumed.status == "finished" and resumed.step == 20
    meta = training.load_run(full)
    template = training.template_agents("floq", meta["config_obj"], [0, 1], 2, 2)
    a, _, _ = training.load_checkpoint(full, template)
    b, _, _ = training.load_checkpoint(part, template)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert _table(full / "metrics.csv") == _table(part / "metrics.csv")
    assert _table(full / "eval.csv") == _table(part / "eval.csv")
    # Each stretch is recorded (a run may move machines); the first one counts only up to its checkpoint.
    segments = json.loads((part / "config.json").read_text())["segments"]
    assert [(g["from_step"], g["to_step"]) for g in segments] == [(0, 10), (10, 20)]
    assert all(g["wall_time_s"] > 0 and g["hardware"]["cpu_count"] >= 1 for g in segments)


def test_resuming_a_run_saved_without_segments_records_its_first_stretch(data_dir, tmp_path):
    part = tmp_path / "part"
    _train(data_dir, part, seeds=1, stop_after=15)
    meta = json.loads((part / "config.json").read_text())
    del meta["segments"]  # as written by floq_lite before segments were recorded
    meta["hardware"] = dict(meta["hardware"], cpu="the first machine")
    (part / "config.json").write_text(json.dumps(meta))
    _train(data_dir, part, seeds=1, resume=True, overrides={})
    first, second = json.loads((part / "config.json").read_text())["segments"]
    assert (first["from_step"], first["to_step"], first["hardware"]["cpu"]) == (0, 10, "the first machine")
    assert 0 < first["wall_time_s"] <= meta["wall_time_s"]  # the wall time stored with its checkpoint (step 10)
    assert (second["from_step"], second["to_step"]) == (10, 20) and second["hardware"]["cpu"] != "the first machine"


def test_resume_across_the_feature_freeze_reproduces_an_uninterrupted_run(data_dir, tmp_path):
    # The last checkpoint before the kill (after step 15) is step 10's: the resumed run crosses the freeze at 14.
    overrides = dict(TINY, freeze_features_at=14)
    full = _train(data_dir, tmp_path / "full", seeds=2, overrides=dict(overrides))
    part = tmp_path / "part"
    _train(data_dir, part, seeds=2, overrides=dict(overrides), stop_after=15)
    assert training.load_checkpoint_step(part / "checkpoint.msgpack") == 10
    resumed = _train(data_dir, part, seeds=2, resume=True, overrides={})
    assert full.step == resumed.step == 20
    meta = training.load_run(part)
    assert meta["config"]["freeze_features_at"] == 14
    template = training.template_agents("floq", meta["config_obj"], [0, 1], 2, 2)
    a, _, _ = training.load_checkpoint(tmp_path / "full", template)
    b, _, _ = training.load_checkpoint(part, template)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert _table(tmp_path / "full" / "metrics.csv") == _table(part / "metrics.csv")


def test_time_budget_stops_after_a_chunk_with_an_evaluation_and_checkpoint_there(data_dir, floq_run, tmp_path):
    full, _ = floq_run
    part = tmp_path / "budget"
    stopped = _train(data_dir, part, seeds=2, time_budget_s=0.0)  # every chunk is past a zero budget
    assert stopped.status == "time budget" and stopped.step == 5  # the first chunk ends at log_interval = 5
    assert training.load_checkpoint_step(part / "checkpoint.msgpack") == 5
    assert [int(r["step"]) for r in _table(part / "eval.csv")] == [5, 5]  # one evaluation per seed, at step 5
    assert json.loads((part / "config.json").read_text())["status"] == "time budget"
    resumed = _train(data_dir, part, seeds=2, resume=True, overrides={})
    assert resumed.status == "finished" and resumed.step == 20
    a = training.load_checkpoint(full, training.template_agents("floq", training.load_run(full)["config_obj"],
                                                                [0, 1], 2, 2))[0]
    b = training.load_checkpoint(part, training.template_agents("floq", training.load_run(part)["config_obj"],
                                                                [0, 1], 2, 2))[0]
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):  # the extra evaluation changes nothing
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_nan_guard_names_metric_seed_and_step_and_keeps_the_good_checkpoint(data_dir, tmp_path, monkeypatch):
    original = FloqAgent._update

    def poisoned(self, batch):
        new, info = original(self, batch)
        bad = self.step >= 11  # the 12th update
        info["critic/critic_loss"] = jnp.where(bad, jnp.nan, info["critic/critic_loss"])
        new = new.replace(params=jax.tree.map(lambda p: jnp.where(bad, jnp.nan, p), new.params))
        return new, info

    monkeypatch.setattr(FloqAgent, "_update", poisoned)
    out = tmp_path / "nan"
    # lr differs from the other tests so the compiled chunk is traced again with the poisoned update.
    with pytest.raises(training.NonFiniteLossError, match=r"critic/critic_loss for seed 0 at step 12") as err:
        _train(data_dir, out, overrides=dict(TINY, lr=1e-3))
    assert "step 10" in str(err.value)  # names the kept checkpoint
    meta = training.load_run(out)
    assert meta["status"] == "nan"
    template = training.template_agents("floq", meta["config_obj"], [0], 2, 2)
    agents, step, _ = training.load_checkpoint(out, template)
    assert step == 10
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(agents.params))


def test_validation_losses_are_the_training_losses_on_a_val_batch_without_a_gradient_step(floq_run, data_dir):
    out, _ = floq_run
    rows = _table(out / "metrics.csv")
    val_cols = [k for k in rows[0] if k.startswith(training.VAL_PREFIX)]
    train_cols = [k for k in rows[0] if "/" in k and not k.startswith(training.VAL_PREFIX)]
    assert {"val/critic/critic_loss", "val/critic/floq_loss", "val/actor/actor_loss"} <= set(val_cols)
    assert {c[len(training.VAL_PREFIX):] for c in val_cols} <= set(train_cols)
    assert all(np.isfinite(float(r[k])) for r in rows for k in val_cols)
    # The row of step 20 is the total loss of the checkpointed (step-20) agents on seed s's val batch of step 20.
    meta = training.load_run(out)
    agents, step, _ = training.load_checkpoint(out, training.template_agents("floq", meta["config_obj"], [0, 1], 2, 2))
    _, _, val = ogbench_io.load(ENV, dataset_dir=data_dir, download=False)
    val_ds = {k: jnp.asarray(np.asarray(val[k], np.float32)) for k in BATCH_KEYS}
    for i, seed in enumerate(meta["seeds"]):
        agent = evaluation.select_seed(agents, i)
        key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), training.VAL_KEY_SALT), step)
        idx = jax.random.randint(key, (meta["config"]["batch_size"],), 0, len(val["rewards"]))
        _, info = agent.total_loss({k: agent.params[k] for k in agent.TRAINABLE},
                                   {k: v[idx] for k, v in val_ds.items()}, agent.rng)
        row = next(r for r in rows if int(r["step"]) == step and int(r["seed"]) == seed)
        for name in ("critic/critic_loss", "critic/floq_loss", "actor/actor_loss", "actor/q"):
            np.testing.assert_allclose(float(row["val/" + name]), float(info[name]), rtol=1e-4, atol=1e-6)


# --- evaluation ------------------------------------------------------------------------------------------------------


def test_evaluate_is_deterministic_and_flow_steps_only_change_q_diagnostics(floq_run):
    out, _ = floq_run
    meta = training.load_run(out)
    template = training.template_agents("floq", meta["config_obj"], [0, 1], 2, 2)
    agents, _, _ = training.load_checkpoint(out, template)
    one = evaluation.select_seeds(agents, [1])
    kw = dict(seeds=[1], step=3, max_episode_steps=EVAL_T)
    a = evaluation.evaluate(one, ENV, 2, **kw)[0]
    b = evaluation.evaluate(one, ENV, 2, flow_steps=1, **kw)[0]
    c = evaluation.evaluate(one, ENV, 2, flow_steps=6, **kw)[0]
    assert a.returns == b.returns == c.returns and a.successes == b.successes  # K does not change the actions
    assert len(a.successes) == 2 and all(s in (0.0, 1.0) for s in a.successes)
    assert a.q_diagnostics == {} and b.q_diagnostics["flow_steps"] == 1.0 and c.q_diagnostics["flow_steps"] == 6.0
    assert b.q_diagnostics["distilled_q_mean"] == c.q_diagnostics["distilled_q_mean"]
    assert b.q_diagnostics["flow_q_mean"] != c.q_diagnostics["flow_q_mean"]
    assert 0 < b.q_diagnostics["q_pairs"] <= 2 * EVAL_T


def test_evaluate_gives_the_same_numbers_whatever_the_number_of_parallel_episodes(floq_run):
    out, _ = floq_run
    meta = training.load_run(out)
    agents, _, _ = training.load_checkpoint(out, training.template_agents("floq", meta["config_obj"], [0, 1], 2, 2))
    runs = []
    for width in (1, 2, 3):  # episodes side by side per seed: one at a time, in two waves, all at once
        envs = evaluation.make_envs(ENV, 2 * width, EVAL_T)
        runs.append(evaluation.evaluate(agents, episodes=3, seeds=[0, 1], step=7, envs=envs, flow_steps=3))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert a.successes == b.successes and a.returns == b.returns and a.seed == b.seed
            assert a.q_diagnostics == pytest.approx(b.q_diagnostics, rel=1e-6)
    # The visited (s, a) pairs behind the diagnostics really depend on the seed and the step (else this is trivial).
    assert runs[0][0].q_diagnostics["distilled_q_mean"] != runs[0][1].q_diagnostics["distilled_q_mean"]
    other_step = evaluation.evaluate(agents, episodes=3, seeds=[0, 1], step=8, envs=envs, flow_steps=3)
    assert other_step[0].q_diagnostics["distilled_q_mean"] != runs[0][0].q_diagnostics["distilled_q_mean"]
    with pytest.raises(ValueError, match="multiple of 2"):
        evaluation.evaluate(agents, episodes=3, seeds=[0, 1], envs=evaluation.make_envs(ENV, 3, EVAL_T))


def test_success_by_start_distance_groups_every_free_cell_by_walking_distance(floq_run):
    from floq_lite.data.navigate import MazeGrid

    out, _ = floq_run
    meta = training.load_run(out)
    agents, _, _ = training.load_checkpoint(out, training.template_agents("floq", meta["config_obj"], [0, 1], 2, 2))
    reach = evaluation.success_by_start_distance(agents, ENV, [0, 1], max_steps=3)
    env = evaluation.make_env(ENV)
    maze = MazeGrid.from_env(env)
    _, info = env.reset(seed=0)
    dist = maze.distances_to(maze.cell_of(info["goal"]))
    want = sorted({int(dist[c]) for c in maze.empty_cells() if dist[c] != 0})
    assert sorted(reach) == want and want[0] == 1
    assert all(r.shape == (2,) and np.all((r >= 0) & (r <= 1)) for r in reach.values())
    # Three steps cannot cross several cells: from far away nobody arrives.
    assert reach[max(reach)].max() == 0.0
    again = evaluation.success_by_start_distance(agents, ENV, [0, 1], max_steps=3)
    assert all(np.array_equal(again[d], reach[d]) for d in reach)  # deterministic


# --- the commands ----------------------------------------------------------------------------------------------------


def test_cli_train_and_eval_fql(data_dir, tmp_path, capsys):
    out = tmp_path / "fql"
    argv = ["train", ENV, "--agent", "fql", "--tier", "smoke", "--steps", "10", "--out", str(out), "--dataset-dir",
            str(data_dir), "--eval-max-episode-steps", str(EVAL_T), "--no-progress", *_cli_sets(TINY_FQL)]
    assert cli_main(argv) == 0
    text = capsys.readouterr().out
    assert "finished: 10 steps" in text
    final = reporting.run_summary(out)["final"]  # what an artifact's table shows for this run
    assert f"final success {final['mean']:.3f} ± {final['std']:.3f} (per seed, the mean of the last " in text
    assert cli_main(argv) == 2  # the run exists: needs --resume
    assert "--resume" in capsys.readouterr().err
    assert cli_main(["eval", str(out), "--episodes", "1", "--max-episode-steps", str(EVAL_T), "--json"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[1])
    assert row["step"] == 10 and row["episodes"] == 1
    assert cli_main(["eval", str(out), "--flow-steps", "4"]) == 2  # FQL has no flow critic
    assert "floq run" in capsys.readouterr().err


def test_cli_eval_floq_with_flow_steps(floq_run, capsys):
    out, _ = floq_run
    assert cli_main(["eval", str(out), "--episodes", "1", "--max-episode-steps", str(EVAL_T), "--flow-steps", "3",
                     "--seed-index", "1"]) == 0
    text = capsys.readouterr().out
    assert "seed 1: success" in text and "flow-Q(K=3)" in text and "distilled" in text
    assert cli_main(["eval", str(out), "--seed-index", "5"]) == 2
    assert "has 2 seed(s)" in capsys.readouterr().err


def test_cli_errors_are_actionable(data_dir, tmp_path, capsys):
    assert cli_main(["train", "pointmaze-huge-navigate-singletask-v0", "--dataset-dir", str(data_dir)]) == 2
    assert "pointmaze-medium" in capsys.readouterr().err  # lists the valid environments
    assert cli_main(["train", DATASET, "--dataset-dir", str(data_dir)]) == 2
    assert "singletask" in capsys.readouterr().err
    assert cli_main(["train", "pointmaze-large-navigate-singletask-v0", "--tier", "smoke", "--dataset-dir",
                     str(tmp_path), "--out", str(tmp_path / "r"), "--no-progress"]) in (1,)
    assert f"floq-lite data generate pointmaze-large-navigate-v0 --dataset-dir {tmp_path}" in capsys.readouterr().err
    assert cli_main(["train", ENV, "--tier", "smoke", "--dataset-dir", str(data_dir), "--out", str(tmp_path / "x"),
                     "--set", "not_a_field=1", "--no-progress"]) == 2
    assert "not_a_field" in capsys.readouterr().err
    assert cli_main(["train", ENV, "--resume", "--dataset-dir", str(data_dir), "--out", str(tmp_path / "none")]) == 2
    assert "without --resume" in capsys.readouterr().err
    assert cli_main(["eval", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    for bad in (["train", ENV, "--seeds", "0"], ["train", ENV, "--agent", "sac"], ["train", ENV, "--set", "alpha"],
                ["render", str(tmp_path)]):
        with pytest.raises(SystemExit) as exc:
            cli_main(bad)
        assert exc.value.code == 2
    for command in ("train", "eval", "render"):
        with pytest.raises(SystemExit):
            cli_main([command, "--help"])
        assert "--" in capsys.readouterr().out


def test_cli_render_writes_a_gif(floq_run, tmp_path):
    out, _ = floq_run
    gif = tmp_path / "agent.gif"
    exe = Path(sys.executable).with_name("floq-lite")
    cmd = [str(exe), "render", str(out), "--out", str(gif), "--size", "32", "--max-episode-steps", "12",
           "--every", "3"]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    if proc.returncode != 0 and "OpenGL context failed" in proc.stderr:
        pytest.skip(f"no headless OpenGL here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    import imageio.v2 as imageio

    frames = imageio.mimread(gif)
    assert len(frames) >= 3 and frames[0].shape[:2] == (32, 32)
    assert np.asarray(frames[-1]).std() > 0  # not a blank image
