"""Tests of floq_lite.reporting (small committed artifacts from runs and datasets) and the chapter-6 figures.

Runs are tiny real ones (a generated 2-episode pointmaze dataset, 16-unit networks, 20 steps, 20-step evaluation
episodes), as in tests/test_cli_train.py.
"""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("ogbench")

from floq_lite import reporting, training
from floq_lite.config import FloqConfig, FQLConfig, make_config
from floq_lite.data import MazeGrid, cell_coverage

DATASET = "pointmaze-medium-navigate-v0"
ENV = "pointmaze-medium-navigate-singletask-v0"
TINY = {
    "actor_hidden_dims": (16, 16), "value_hidden_dims": (16, 16), "block_width": 16, "block_depth": 1,
    "batch_size": 16, "critic_flow_steps": 2, "noise_samples": 2, "actor_flow_steps": 2, "log_interval": 5,
    "eval_interval": 5, "eval_episodes": 1,
}
TINY_FQL = {k: v for k, v in TINY.items() if k not in ("block_width", "block_depth", "critic_flow_steps",
                                                          "noise_samples")}
COMMITTED = ("ant_expert_training.csv", "antmaze_large_coverage.json", "antmaze_large_cpu_runs.json",
             "antmaze_large_k_eval.json", "antmaze_large_rollouts.json", "antmaze_large_value_maps.json",
             "update_speed_cpu.json")


@pytest.fixture(scope="module")
def runs(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for agent, overrides in (("floq", TINY), ("fql", TINY_FQL)):
        training.train(ENV, agent=agent, tier="smoke", seeds=2, steps=20, out=root / agent, dataset_dir=data_dir,
                       overrides=dict(overrides), eval_max_episode_steps=20, progress=False, download=False,
                       log=lambda _: None)
        out[agent] = root / agent
    return out


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --- range ------------------------------------------------------------------------------------------------------------


def test_export_range_and_its_table(runs, tmp_path):
    study = reporting.export_range(runs, tmp_path / "range.json", max_steps=3, extra={"note": "tiny"})
    assert study["format"] == reporting.RANGE_FORMAT and study["max_steps"] == 3 and study["extra"]["note"] == "tiny"
    for name, run in study["runs"].items():
        assert run["seeds"] == [0, 1] and run["checkpoint_step"] == 20 and run["run_name"] == name
        assert run["distances"][0] == 1 and run["distances"] == sorted(run["distances"])
        assert all(len(s) == 2 and all(0.0 <= v <= 1.0 for v in s) for s in run["success"])
    assert json.loads((tmp_path / "range.json").read_text())["runs"].keys() == study["runs"].keys()
    table = reporting.range_table(study)
    assert table.splitlines()[0].startswith("| agent | d=1 |") and len(table.splitlines()) == 2 + len(runs)
    assert str(tmp_path) not in json.dumps(study)  # no machine paths


# --- runs -------------------------------------------------------------------------------------------------------------


def test_export_runs_keeps_metadata_curves_and_final_numbers(runs, tmp_path):
    path = tmp_path / "study.json"
    study = reporting.export_runs(runs, path, last_n=3, extra={"note": "tiny"}, max_points=3)
    assert study["format"] == reporting.RUNS_FORMAT and study["extra"] == {"note": "tiny"}
    assert set(study["agents"]) == {"floq", "fql"}
    for name, run_dir in runs.items():
        run = study["agents"][name]
        meta = json.loads((run_dir / "config.json").read_text())
        assert run["agent"] == name and run["env_name"] == ENV and run["tier"] == "smoke"
        assert run["seeds"] == [0, 1] and run["steps"] == 20 and run["status"] == "finished"
        assert run["config"]["batch_size"] == 16 and run["config"]["offline_steps"] == 20
        assert run["git"] == meta["git"] and run["hardware"]["cpu_count"] == meta["hardware"]["cpu_count"]
        assert run["wall_time_s"] == pytest.approx(meta["wall_time_s"], rel=1e-5)
        assert [(g["from_step"], g["to_step"]) for g in run["segments"]] == [(0, 20)]
        assert run["segments"][0]["hardware"]["cpu"] == meta["hardware"]["cpu"]
        # evaluation curves: every evaluation of every seed, as in eval.csv
        evals = _rows(run_dir / "eval.csv")
        assert run["eval"]["steps"] == [5, 10, 15, 20]
        table = {(int(r["step"]), int(r["seed"])): float(r["success_rate"]) for r in evals}
        want = [[table[(t, s)] for t in (5, 10, 15, 20)] for s in (0, 1)]
        np.testing.assert_allclose(run["eval"]["success_rate"], want)
        # final = per seed, the mean of the last 3 evaluations (steps 10, 15, 20), then mean over seeds
        finals = [np.mean([table[(t, s)] for t in (10, 15, 20)]) for s in (0, 1)]
        np.testing.assert_allclose(run["final"]["per_seed"], finals, atol=1e-6)
        assert run["final"]["mean"] == pytest.approx(np.mean(finals), abs=1e-6)
        assert run["final"]["eval_steps"] == [10, 15, 20] and run["final"]["last_n"] == 3
        # training metrics thinned to 3 of the 4 logged steps, first and last kept
        assert run["metrics"]["steps"][0] == 5 and run["metrics"]["steps"][-1] == 20
        assert len(run["metrics"]["steps"]) == 3 and run["metrics"]["thinned_from"] == 4
        loss = np.asarray(run["metrics"]["critic/critic_loss"], float)
        assert loss.shape == (2, 3) and np.all(np.isfinite(loss))
        metrics = {(int(r["step"]), int(r["seed"])): float(r["critic/critic_loss"])
                   for r in _rows(run_dir / "metrics.csv")}
        assert loss[1, -1] == pytest.approx(metrics[(20, 1)], rel=1e-5)
    # round trip through the file
    assert reporting.load_artifact("study", directory=tmp_path) == study
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_final_success_sorts_steps_skips_missing_and_uses_what_there_is():
    steps = [30, 10, 20]
    success = [[0.3, 0.1, 0.2], [None, 0.5, 1.0], [np.nan, np.nan, np.nan]]
    got = reporting.final_success(steps, success, last_n=2)
    np.testing.assert_allclose(got[:2], [0.25, 0.75])  # seed 1: only steps 10 and 20 exist
    assert np.isnan(got[2])
    np.testing.assert_allclose(reporting.final_success(steps, success[:1], last_n=5), [0.2])  # fewer than n: all
    with pytest.raises(ValueError, match="last_n"):
        reporting.final_success(steps, success, last_n=0)


def test_thin_indices_keeps_ends_and_caps_the_count():
    np.testing.assert_array_equal(reporting.thin_indices(5, 200), np.arange(5))
    idx = reporting.thin_indices(1001, 200)
    assert len(idx) <= 200 and idx[0] == 0 and idx[-1] == 1000 and np.all(np.diff(idx) > 0)
    with pytest.raises(ValueError):
        reporting.thin_indices(10, 1)


def test_export_runs_needs_evaluations(tmp_path, runs):
    (tmp_path / "empty").mkdir()
    meta = json.loads((runs["fql"] / "config.json").read_text())
    (tmp_path / "empty" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="no evaluations"):
        reporting.export_runs({"fql": tmp_path / "empty"}, tmp_path / "x.json")
    with pytest.raises(ValueError, match="at least one"):
        reporting.export_runs({}, tmp_path / "x.json")


def test_update_runs_replaces_one_agent_and_keeps_the_others(tmp_path, runs):
    path = tmp_path / "sweep.json"
    first = reporting.export_runs({"floq K=1": runs["floq"], "FQL": runs["fql"]}, path, extra={"command": "c"})
    kept = first["agents"]["FQL"]
    first["agents"]["FQL"]["git"] = {"commit": "0" * 40, "dirty": False}  # as if made by an earlier commit
    reporting.write_artifact(first, path)
    updated = reporting.update_runs(path, {"floq K=4": runs["floq"]}, extra={"note": "K=4 added"})
    assert list(updated["agents"]) == ["floq K=1", "FQL", "floq K=4"]
    assert updated["agents"]["FQL"]["git"]["commit"] == "0" * 40  # the kept run keeps its own provenance
    assert updated["agents"]["FQL"]["final"] == kept["final"]
    assert updated["agents"]["floq K=4"]["final"] == updated["agents"]["floq K=1"]["final"]  # the same run directory
    assert updated["extra"] == {"command": "c", "note": "K=4 added", "updated": ["floq K=4"]}
    assert json.loads(path.read_text())["agents"].keys() == updated["agents"].keys()
    again = reporting.update_runs(path, {"floq K=1": runs["floq"]})
    assert again["extra"]["updated"] == ["floq K=1", "floq K=4"]  # every replacement so far
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a runs artifact"):
        reporting.update_runs(tmp_path / "other.json", {"x": runs["floq"]})


# --- dataset coverage -------------------------------------------------------------------------------------------------


def test_coverage_counts_every_row_and_is_small(data_dir, tmp_path):
    path = tmp_path / "coverage.json"
    cov = reporting.export_coverage(DATASET, path, data_dir, bins_per_cell=4, extra={"how": "test"})
    with np.load(data_dir / f"{DATASET}.npz") as f:
        xy, terminals = f["qpos"][:, :2], f["terminals"]
    assert cov["transitions"] == len(xy) == 400 and cov["episodes"] == int(terminals.sum()) == 2
    counts = np.asarray(cov["histogram"]["counts"])
    walls = np.asarray(cov["maze"]["walls"], bool)
    assert counts.shape == (4 * walls.shape[0], 4 * walls.shape[1])
    assert counts.sum() + cov["outside_maze"] == len(xy) and cov["outside_maze"] == 0
    assert np.asarray(cov["cell_counts"]).sum() == len(xy)
    grid = MazeGrid(walls, cov["maze"]["unit"], cov["maze"]["offset_x"], cov["maze"]["offset_y"], 0.0)
    assert cov["cells_visited_fraction"] == pytest.approx(cell_coverage(grid, xy))
    assert len(cov["task_goals_xy"]) == 5 and len(cov["sample_paths"]["xy"]) == 2
    assert cov["extra"] == {"how": "test"}
    assert path.stat().st_size < 200_000
    assert reporting.load_artifact("coverage.json", directory=tmp_path) == cov


def test_coverage_task_goal_rows_agree_with_the_official_relabelling(data_dir, tmp_path):
    """task_goal_rows[k] is the number of rows the singletask loader rewards (reward 0) for task k + 1."""
    from floq_lite.data import ogbench_io

    with np.load(data_dir / f"{DATASET}.npz") as f:
        train = {k: f[k].copy() for k in f.files}
    with np.load(data_dir / f"{DATASET}-val.npz") as f:
        val = {k: f[k].copy() for k in f.files}
    goals = reporting.dataset_coverage(DATASET, data_dir)["task_goals_xy"]
    train["qpos"][10:15, :2] = goals[0]  # five rows exactly at task 1's goal, one just inside the radius
    train["qpos"][20, :2] = np.asarray(goals[0]) + [0.9, 0.0]
    ogbench_io.write_dataset(DATASET, train, val, tmp_path)
    cov = reporting.dataset_coverage(DATASET, tmp_path)
    assert cov["goal_tolerance"] == 1.0 and cov["task_goal_rows"][0] >= 6
    for task, count in enumerate(cov["task_goal_rows"], start=1):
        _, data, _ = ogbench_io.load(f"pointmaze-medium-navigate-singletask-task{task}-v0", dataset_dir=tmp_path,
                                     download=False)
        assert int((data["rewards"] == 0).sum()) == count, task


def test_coverage_of_a_missing_dataset_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="floq-lite data generate"):
        reporting.dataset_coverage(DATASET, tmp_path)


# --- K, value maps, speed, expert curve -------------------------------------------------------------------------------


def test_k_eval_success_does_not_depend_on_k(runs, tmp_path):
    study = reporting.export_k_eval(runs["floq"], tmp_path / "k.json", ks=(1, 4), episodes=1, max_episode_steps=10)
    assert study["ks"] == [1, 4] and study["train_k"] == 2 and study["checkpoint_step"] == 20
    assert len(study["rows"]) == 4 and {r["K"] for r in study["rows"]} == {1, 4}
    _, seeds, succ = reporting.k_table(study, "success_rate")
    assert seeds == [0, 1] and np.all(succ[:, 0] == succ[:, 1])
    _, _, q = reporting.k_table(study, "flow_q_mean")
    assert np.all(np.isfinite(q))
    with pytest.raises(ValueError, match="floq run"):
        reporting.export_k_eval(runs["fql"], tmp_path / "k2.json", ks=(1,))


def test_value_maps_cover_the_free_cells(runs, tmp_path):
    maps = reporting.export_value_maps(runs, tmp_path / "maps.json", resolution=1)
    walls = np.asarray(maps["maze"]["walls"], bool)
    assert set(maps["maps"]) == {"floq, distilled critic", "floq, flow critic, K = 2", "fql, critic"}
    for m in maps["maps"].values():
        arr = np.asarray(m, float)  # walls are stored as null
        assert arr.shape == walls.shape
        assert np.all(np.isnan(arr[walls])) and np.all(np.isfinite(arr[~walls]))
    assert maps["runs"]["floq"]["checkpoint_step"] == 20


def test_paths_are_kept_without_changing_the_evaluation(runs):
    from floq_lite import evaluation

    _, agents, _ = reporting.load_run_agents(runs["fql"])
    plain = evaluation.evaluate(agents, ENV, 2, seeds=[0, 1], max_episode_steps=12)
    traced = evaluation.evaluate(agents, ENV, 2, seeds=[0, 1], max_episode_steps=12, path_every=5)
    for a, b in zip(plain, traced, strict=True):
        assert (a.successes, a.returns, a.paths) == (b.successes, b.returns, [])
        for e, xy in enumerate(b.paths):
            env = evaluation.make_env(ENV, 12)
            start, _ = evaluation.seeded_reset(env, evaluation._reset_seed(b.seed, 0, e))
            ends = b.episode_length_mean == 12  # every episode runs out of time: points at t = 0, 5, 10, then the end
            assert ends and xy.shape == (4, 2)
            np.testing.assert_allclose(xy[0], start[:2])
    with pytest.raises(ValueError, match="path_every"):
        evaluation.evaluate(agents, ENV, 1, seeds=[0, 1], path_every=0)


def test_rollouts_artifact_measures_distances_to_the_goal_and_draws(runs, tmp_path):
    from floq_lite.plotting import antmaze as ant_plots

    study = reporting.export_rollouts(runs, tmp_path / "roll.json", episodes=2, every=5, max_episode_steps=12)
    assert set(study["runs"]) == {"floq", "fql"} and study["every"] == 5
    for run in study["runs"].values():
        assert run["checkpoint_step"] == 20 and len(run["episodes"]) == 4  # 2 seeds x 2 episodes
        for ep in run["episodes"]:
            assert ep["closest_cells"] <= min(ep["start_cells"], ep["end_cells"])
            assert ep["start_cells"] > 0 and not ep["success"]  # 12 steps from the task's start: far from its goal
    assert reporting.load_artifact(tmp_path / "roll.json")["runs"]["fql"]["episodes"][0]["path"]
    table = ant_plots.rollout_table(study)
    for name, run in study["runs"].items():
        reached = sum(ep["success"] for ep in run["episodes"])
        assert f"| {name} | {reached} of 4 |" in table
    fig = ant_plots.plot_rollouts(study)
    assert len(fig.axes) == 2
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_cells_to_goal_walks_around_walls():
    from floq_lite.data import MazeGrid

    # A U-shaped corridor: (1,1) and (1,3) are neighbours in a straight line but 6 cells apart on foot.
    walls = np.array([[1, 1, 1, 1, 1], [1, 0, 1, 0, 1], [1, 0, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]], bool)
    grid = MazeGrid(walls=walls, unit=1.0, offset_x=0.0, offset_y=0.0, jitter=0.0)
    goal = grid.center_of((1, 3))
    xy = np.stack([grid.center_of(c) for c in [(1, 1), (3, 2), (1, 3)]] + [grid.center_of((0, 0))])
    np.testing.assert_array_equal(reporting.cells_to_goal(grid, goal, xy), [6.0, 3.0, 0.0, np.nan])


def test_observations_at_moves_only_xy():
    body = np.arange(5, dtype=np.float32)
    obs = reporting.observations_at(body, np.array([10.0, 20.0]), np.array([-1.0, -2.0, -3.0]))
    assert obs.shape == (6, 5)
    np.testing.assert_array_equal(obs[:, 2:], np.tile(body[2:], (6, 1)))
    np.testing.assert_array_equal(obs[:3, 0], [10.0, 20.0, 10.0])
    np.testing.assert_array_equal(obs[:3, 1], [-1.0, -1.0, -2.0])


def test_update_flops_and_speed_artifact(tmp_path):
    floq = reporting.update_flops("floq", make_config("floq", tier="paper"), 29, 8)
    fql = reporting.update_flops("fql", make_config("fql", tier="paper"), 29, 8)
    assert floq[0] > 5 * fql[0] and floq[1] > 0 and fql[1] == 0
    small = reporting.update_flops("floq", make_config("floq", tier="smoke"), 29, 8)[0]
    assert small < floq[0]
    rows = [{"agent": "floq", "size": "paper", "ms_per_update": 586.0}]
    out = reporting.export_update_speed(rows, tmp_path / "speed.json", source="test")
    assert out["rows"] == rows and out["source"] == "test" and out["hardware"]["jax_backend"]


def test_expert_curve_artifact(tmp_path):
    run = tmp_path / "expert"
    run.mkdir()
    cols = ["step", "seed", "eval/unhealthy", "eval/length", "eval/return", "eval/return_per_100_steps"]
    (run / "eval.csv").write_text(",".join(cols) + "\n20000,0,0.2,900.0,5.0,0.55\n40000,0,0.0,1000.0,60.0,6.0\n")
    reporting.export_expert_training(run, tmp_path / "curve.csv")
    curve = reporting.load_artifact("curve.csv", directory=tmp_path)
    assert list(curve) == cols
    np.testing.assert_allclose(curve["eval/return_per_100_steps"], [0.55, 6.0])
    (run / "eval.csv").write_text("step,seed\n1,0\n")
    with pytest.raises(ValueError, match="lacks"):
        reporting.export_expert_training(run, tmp_path / "curve2.csv")


# --- reading artifacts ------------------------------------------------------------------------------------------------


def test_missing_artifact_lists_the_available_ones(tmp_path):
    (tmp_path / "one.json").write_text("{}")
    (tmp_path / "two.csv").write_text("a\n1\n")
    with pytest.raises(reporting.ArtifactMissingError, match=r"'nope.json'.*one.json, two.csv"):
        reporting.load_artifact("nope", directory=tmp_path)
    with pytest.raises(FileNotFoundError, match="none"):
        reporting.load_artifact("nope", directory=tmp_path / "empty")


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_artifacts_load_and_are_small(name):
    path = reporting.artifact_path(name)
    assert path.stat().st_size < 200_000
    data = reporting.load_artifact(name)
    assert data
    if name == "antmaze_large_cpu_runs.json":
        assert {"floq", "fql"} <= set(data["agents"])
        for run in data["agents"].values():
            assert run["env_name"] == "antmaze-large-navigate-singletask-v0" and run["hardware"]
    if name == "antmaze_large_coverage.json":
        assert data["dataset_name"] == "antmaze-large-navigate-v0"


# --- config knobs -----------------------------------------------------------------------------------------------------


def test_every_config_field_has_a_comment_and_the_table_shows_it():
    for cls in (FloqConfig, FQLConfig):
        comments = reporting.config_comments(cls)
        assert {f.name for f in dataclasses.fields(cls)} <= set(comments), cls.__name__
    paper = dataclasses.asdict(make_config("floq", tier="paper", env_name=ENV.replace("pointmaze-medium",
                                                                                       "antmaze-large")))
    table = reporting.config_table({"paper": paper, "smoke": dataclasses.asdict(make_config("floq", tier="smoke"))},
                                   FloqConfig)
    assert "| `actor_hidden_dims` | 4×512 | 2×64 |" in table
    assert "| `offline_steps` | 2,000,000 | 1,000 |" in table
    assert "mean \\|Q\\|" in table  # a | inside a comment is escaped
    assert "| `r_min` |" not in table  # set from the data, not a knob


# --- the chapter-6 figures draw from the committed artifacts ----------------------------------------------------------


def test_antmaze_figures_from_committed_artifacts():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from floq_lite.plotting import antmaze as ant_plots

    cpu = reporting.load_artifact("antmaze_large_cpu_runs")
    maps = reporting.load_artifact("antmaze_large_value_maps")
    figs = [
        ant_plots.plot_coverage(reporting.load_artifact("antmaze_large_coverage")),
        ant_plots.plot_study_curves(cpu),
        ant_plots.plot_paper_comparison(cpu),
        ant_plots.plot_value_maps(maps["maze"], maps["xs"], maps["ys"], maps["maps"], goal_xy=maps["goal_xy"],
                                  label="test"),
        ant_plots.plot_k_eval(reporting.load_artifact("antmaze_large_k_eval")),
        ant_plots.plot_expert_curve(reporting.load_artifact("ant_expert_training.csv")),
    ]
    assert cpu["agents"]["floq"]["tier"] in ant_plots.study_label(cpu)
    assert "paper" not in ant_plots.study_label(cpu) or cpu["agents"]["floq"]["tier"] == "paper"
    assert "| floq |" in ant_plots.final_table(cpu)
    assert "ms per update" in ant_plots.speed_table(reporting.load_artifact("update_speed_cpu"))
    for fig in figs:
        plt.close(fig)


def test_equal_steps_table_compares_runs_of_unequal_length_at_their_common_step():
    from floq_lite.plotting import antmaze as ant_plots

    def run(steps, success):  # success (S, T)
        return {"steps": steps[-1], "eval": {"steps": steps, "success_rate": success}}

    study = {"last_n": 2, "agents": {"long": run([10, 20, 30, 40], [[0.0, 0.2, 0.4, 1.0], [0.0, 0.0, 0.6, 1.0]]),
                                     "short": run([10, 20, 30], [[0.1, 0.3, 0.5]])}}
    table = ant_plots.equal_steps_table(study)
    assert "step 30" in table
    assert "| long | 0.30 ± 0.00 | 0.30, 0.30 |" in table  # (0.2+0.4)/2 and (0+0.6)/2: step 40 left out
    assert "| short | 0.40 ± 0.00 | 0.40 |" in table
    only_long = {"last_n": 2, "agents": {"long": study["agents"]["long"]}}
    assert "| long | 0.75 ± 0.05 | 0.70, 0.80 |" in ant_plots.equal_steps_table(only_long, 40)
    with pytest.raises(ValueError, match="only up to step 30"):
        ant_plots.equal_steps_table(study, 40)


def test_window_table_averages_each_stretch_and_shows_the_seed_range():
    from floq_lite.plotting import antmaze as ant_plots

    study = {"agents": {
        "a": {"eval": {"steps": [10, 20, 30, 40], "success_rate": [[0.0, 0.2, 0.4, 1.0], [0.0, None, 0.6, 0.8]]}},
        "b": {"eval": {"steps": [10, 20], "success_rate": [[0.5, 0.1]]}},
    }}
    table = ant_plots.window_table(study, [0, 20, 40])
    assert "| agent | steps 0-20 | steps 20-40 |" in table
    # a, (0, 20]: seed means 0.1 and 0.0 (None skipped); (20, 40]: 0.7 and 0.7
    assert "| a | 0.05 (0.00-0.10) | 0.70 (0.70-0.70) |" in table
    assert "| b | 0.30 (0.30-0.30) | - |" in table  # b has no evaluation after step 20
    with pytest.raises(ValueError, match="increasing"):
        ant_plots.window_table(study, [0, 0])


def test_grid_points_mask_agrees_with_the_maze_cells():
    """The wall mask of the grid (used by the critic maps of chapters 5 and 6) matches MazeGrid.cell_of point by point."""
    from floq_lite.data.navigate import MazeGrid
    from floq_lite.evaluation import make_env

    grid = MazeGrid.from_env(make_env("pointmaze-medium-navigate-singletask-v0"))
    xs, ys, free = reporting.grid_points(grid.walls, grid.unit, grid.offset_x, grid.offset_y, 3)
    expected = np.array([[not grid.walls[grid.cell_of((x, y))] for x in xs] for y in ys])
    np.testing.assert_array_equal(free, expected)
    assert 0.2 < free.mean() < 0.8  # both walls and corridors are present


def test_config_changes_separate_sizes_from_algorithmic_knobs():
    env = "antmaze-large-navigate-singletask-v0"
    paper = reporting.paper_config("floq", env)
    assert paper["alpha"] == 10.0 and isinstance(paper["actor_hidden_dims"], list)  # JSON form, antmaze override
    assert reporting.config_changes(paper, paper) == ([], [])
    ours = dict(paper, batch_size=128, alpha=3.0, r_min=-5.0)
    assert reporting.config_changes(paper, ours) == (["batch_size", "alpha"], ["alpha"])
    # The committed CPU runs change sizes and schedules only, never the algorithm.
    for agent, run in reporting.load_artifact("antmaze_large_cpu_runs")["agents"].items():
        changed, algorithmic = reporting.config_changes(reporting.paper_config(agent, env), run["config"])
        assert changed and algorithmic == [], agent


def test_final_table_names_the_machines_of_a_run_resumed_elsewhere():
    from floq_lite.plotting import antmaze as ant_plots

    amd = {"jax_backend": "cpu", "cpu": "AMD EPYC", "cpu_count": 2}
    intel = {"jax_backend": "cpu", "cpu": "Intel Xeon", "cpu_count": 2}
    one = {"seeds": [0], "final": {"per_seed": [0.5], "mean": 0.5, "std": 0.0}, "steps": 300000, "wall_time_s": 7200}
    study = {"last_n": 3, "agents": {
        "floq": dict(one, segments=[{"from_step": 0, "to_step": 50000, "wall_time_s": 3000, "hardware": intel},
                                    {"from_step": 50000, "to_step": 300000, "wall_time_s": 4200, "hardware": amd}]),
        "fql": dict(one, segments=[{"from_step": 0, "to_step": 300000, "wall_time_s": 1800, "hardware": intel}]),
    }}
    note = ant_plots.segments_note(study)
    assert note.startswith("* floq ran in 2 stretches") and "fql" not in note
    assert "steps 0 to 50,000 in 50 min (CPU, 2 cores, Intel Xeon)" in note and "AMD EPYC" in note
    assert note in ant_plots.final_table(study)
    study["agents"].pop("floq")
    assert ant_plots.segments_note(study) == "" and "stretches" not in ant_plots.final_table(study)
