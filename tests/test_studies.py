"""The sweeps behind chapters 3, 7 and 8 (floq_lite.studies.noise_coverage / iterative_compute / plasticity): their
plans, the FLOP matching of chapter 7's baselines, the goals of chapter 8, and the resumable artifacts they write."""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest

from floq_lite import reporting
from floq_lite.studies import iterative_compute as ic
from floq_lite.studies import mdp as mdp_lib
from floq_lite.studies import noise_coverage as nc
from floq_lite.studies import plasticity as pl
from floq_lite.studies import tabular_td as td
from floq_lite.studies._sweep import run_cells


@pytest.mark.parametrize("problem", ["maze6", "maze11"])
def test_flop_matched_critics_cost_about_what_the_flow_critic_costs(problem):
    flow = ic.Cell(problem, f"flow-K{ic.MATCH_K}", 64, 8000)
    maze = ic.PROBLEMS[problem].mdp()
    target = td.flops_per_q("flow", maze, ic.cell_config(flow), flow_steps=ic.MATCH_K)
    for critic in ("deep-mlp", "resnet"):
        cfg = ic.cell_config(ic.Cell(problem, critic, 64, 8000))
        kind = "monolithic" if critic == "deep-mlp" else "resnet"
        cost = td.flops_per_q(kind, maze, cfg)
        assert abs(cost - target) / target < 0.2, (critic, cost, target)
    plain = td.flops_per_q("monolithic", maze, ic.cell_config(ic.Cell(problem, "monolithic", 64, 8000)))
    assert plain < target / 4  # the matched baselines really are bigger than the plain MLP


def test_paper_plans_cover_every_critic_and_experiment_once():
    keys = [c.key for c in ic.plan("paper")]
    assert len(keys) == len(set(keys))
    maze11 = {c.critic for c in ic.plan("paper") if c.problem == "maze11" and c.width == 64 and not c.tag}
    assert {"monolithic", "deep-mlp", "resnet", "flow-t0", *(f"flow-K{k}" for k in ic.FLOW_KS)} <= maze11
    cells = pl.plan("paper")
    assert {(c.experiment, c.critic) for c in cells if c.problem == "maze11"} == {
        (e, c) for e in pl.EXPERIMENTS for c in pl.CRITICS}
    assert len({c.key for c in cells}) == len(cells)


@pytest.mark.parametrize("problem", ["maze6", "maze11"])
def test_goal_cells_start_at_the_maze_goal_and_move_away(problem):
    goals = pl.goal_cells(problem)
    maze = ic.PROBLEMS[problem].mdp()
    assert goals[0] == tuple(int(v) for v in maze.cells[maze.goal])
    assert len(set(goals)) == len(goals) == pl.NUM_GOALS
    assert goals == pl.goal_cells(problem)  # deterministic
    for goal in goals:
        moved = pl.problem_with_goal(problem, goal)
        assert tuple(int(v) for v in moved.cells[moved.goal]) == goal  # a free cell, now the goal
    first = mdp_lib.make_maze(ic.PROBLEMS[problem].layout, slip=0.0)
    steps_from_first = -mdp_lib.value_iteration(first).max(axis=1)
    picked = [steps_from_first[list(map(tuple, first.cells.tolist())).index(g)] for g in goals]
    assert np.all(np.diff(picked) > 0), picked  # each later goal lies farther from the first one


def test_plasticity_smoke_study_writes_a_resumable_artifact(tmp_path):
    logs = []
    study = pl.run_study(tmp_path, "smoke", progress=False, log=logs.append)
    assert study["format"] == pl.FORMAT and study["tier"] == "smoke" and study["seeds"] == [0, 1]
    assert set(study["cells"]) == {c.key for c in pl.plan("smoke")}
    for cell in study["cells"].values():
        plain, frozen = cell["phases"]["plain"], cell["phases"]["frozen"]
        assert np.asarray(plain["q_error_curve"]).shape == np.asarray(frozen["q_error_curve"]).shape
        assert np.all(np.isfinite(plain["q_error_curve"]))
        # before the freeze both runs are the same computation
        at = int(np.searchsorted(plain["steps"], cell["freeze_at"]))  # evaluations before the freeze
        assert at > 0
        np.testing.assert_allclose(np.asarray(plain["q_error_curve"])[:, :at],
                                   np.asarray(frozen["q_error_curve"])[:, :at], rtol=1e-5)
        assert not np.allclose(np.asarray(plain["q_error_curve"])[:, -1], np.asarray(frozen["q_error_curve"])[:, -1])
        assert "diagnostics" in plain and cell["wall_time_s"] > 0
    on_disk = json.loads((tmp_path / pl.ARTIFACT).read_text())
    assert on_disk["cells"].keys() == study["cells"].keys()
    assert any(line.startswith("[1/") for line in logs)
    again = []
    pl.run_study(tmp_path, "smoke", progress=False, log=again.append)
    assert not any(line.startswith("[") for line in again)  # every cell was kept, none retrained


def test_a_study_resumes_from_its_merged_artifact_and_trains_only_what_it_lacks(tmp_path):
    first = ic.run_study(tmp_path / "first", "smoke", progress=False, log=lambda line: None)
    keys = sorted(first["cells"])
    partial = {**first, "cells": {keys[0]: first["cells"][keys[0]]}}  # an artifact that lacks a cell
    logs = []
    resumed = ic.run_study(tmp_path / "lost", "smoke", progress=False, log=logs.append, resume_from=partial)
    trained = [line for line in logs if line.startswith("[")]
    assert len(trained) == 1 and keys[1] in trained[0]  # only the missing cell was trained
    assert resumed["cells"][keys[0]]["from_study"]["git"] == first["git"]  # the copied cell keeps its provenance
    assert "from_study" not in resumed["cells"][keys[1]]
    np.testing.assert_allclose(ic.final_error(resumed["cells"][keys[1]]), ic.final_error(first["cells"][keys[1]]),
                               rtol=1e-5)  # same seeds, same numbers
    with pytest.raises(ValueError, match="its tier is 'paper'"):
        ic.run_study(tmp_path / "other", "smoke", progress=False, log=lambda line: None,
                     resume_from={**first, "tier": "paper"})
    assert not (tmp_path / "other").exists()  # refused before anything was written
    # a cell trained with other settings than the plan's (here: fewer steps) is retrained, not copied
    stale = json.loads(json.dumps(first))
    stale["cells"][keys[0]]["cell"]["steps"] //= 2
    logs = []
    ic.run_study(tmp_path / "replanned", "smoke", progress=False, log=logs.append, resume_from=stale)
    trained = [line for line in logs if line.startswith("[")]
    assert len(trained) == 1 and keys[0] in trained[0]  # the re-planned cell, and only it
    assert any("retrained: " + keys[0] in line for line in logs)


def test_parallel_cells_equal_serial_ones_and_long_cells_continue_their_main_runs(tmp_path):
    base = ic.Cell("maze6", "monolithic", 16, 40)
    long = ic.Cell("maze6", "monolithic", 16, ic.LONG_FACTOR * 40, tag="long")
    assert long.base == base and long.requires == base.key and long.cost < ic.Cell("maze6", "flow-K2", 16, 80).cost
    assert ic.cell_config(long) == ic.cell_config(base).replace(num_steps=long.steps)  # same schedule, longer
    cells = [long, base, ic.Cell("maze6", "flow-K2", 16, 40)]  # the long cell first: it must wait for its base
    train = functools.partial(ic.run_cell, seeds=(0, 1), states=tmp_path / "par" / "states", keep_states={base.key})
    logs = []
    header = {"format": "test", "tier": "smoke", "seeds": [0, 1], "problems": {}}
    par = run_cells(tmp_path / "par", cells, train, artifact="a.json", header=header, log=logs.append, jobs=2)
    started = [i for i, line in enumerate(logs) if line.startswith(f"[1/3] {long.key} (started)")]
    finished = [i for i, line in enumerate(logs) if line.strip().startswith(f"{base.key}:")]
    assert started and finished and started[0] > finished[0]  # the long cell waited for its main run
    assert (tmp_path / "par" / "states" / f"{base.key}.pkl").exists()
    assert par["calls"][0]["jobs"] == 2 and par["calls"][0]["cells"] == 3 and par["elapsed_s"] > 0
    fresh = ic.run_cell(long, seeds=(0, 1))  # no saved states: all its steps from the start
    np.testing.assert_allclose(par["cells"][long.key]["q_error_curve"], fresh["q_error_curve"], rtol=1e-5)
    assert par["cells"][long.key]["steps"] == fresh["steps"]
    for cell in (base, cells[2]):  # a cell trained in a worker process is the one trained here
        np.testing.assert_allclose(par["cells"][cell.key]["final"]["q_error"],
                                   ic.run_cell(cell, seeds=(0, 1))["final"]["q_error"], rtol=1e-5)
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        run_cells(tmp_path / "x", cells, train, artifact="a.json", header=header, jobs=0)


def test_iterative_compute_smoke_study_measures_every_cell(tmp_path):
    study = ic.run_study(tmp_path, "smoke", progress=False, log=lambda line: None)
    assert study["format"] == ic.FORMAT
    assert set(study["cells"]) == {c.key for c in ic.plan("smoke")}
    for key, cell in study["cells"].items():
        error = ic.final_error(cell)
        assert error.shape == (2,) and np.all(np.isfinite(error)) and np.all(error > 0), key


def test_noise_coverage_smoke_study_keeps_each_coverage_apart(tmp_path):
    study = nc.run_study(tmp_path, "smoke", progress=False, log=lambda line: None)
    assert study["format"] == nc.FORMAT and study["seeds"] == [0, 1]
    cell = nc.the_cell(study)
    curves, starts = nc.by_kappa(cell, "q_error_curve"), nc.by_kappa(cell, "q_of_z0")
    assert set(curves) == set(nc.KAPPAS)
    for kappa in nc.KAPPAS:
        assert curves[kappa].shape == (2, len(cell["steps"])) and np.all(np.isfinite(curves[kappa]))
        assert starts[kappa].shape[0] == 2
    # the coverages train side by side in one vmap, yet each run is the run it would be alone
    maze = mdp_lib.make_maze()
    alone = td.train_flow(maze, nc.chapter_config("smoke"), (0, 1))
    np.testing.assert_allclose(nc.by_kappa(cell, "final_q_error")[0.1], alone.q_error[:, -1], rtol=1e-4)
    # a narrow interval leaves the integrated value nearly independent of the start, a wide one does not
    spread = nc.by_kappa(cell, "z0_spread")
    assert spread[0.01].shape == (2,) and spread[0.01].mean() < spread[1.0].mean()


def test_the_committed_noise_coverage_study_is_the_planned_one():
    study = reporting.load_artifact("noise_coverage")
    cell = nc.the_cell(study)
    assert study["format"] == nc.FORMAT and study["tier"] == "paper"
    assert tuple(study["seeds"]) == nc.study_seeds("paper") and len(study["seeds"]) >= 5
    planned = dataclasses.asdict(nc.chapter_config("paper"))
    assert cell["config"] == json.loads(json.dumps(planned))  # the chapter's sizes, as the code plans them now
    assert sorted(set(cell["kappas"])) == sorted(nc.KAPPAS)
    assert study["git"]["commit"] and study["hardware"]["cpu_count"] >= 1 and study["wall_time_s"] > 0


def test_the_committed_iterative_compute_study_is_the_planned_one():
    study = reporting.load_artifact("iterative_compute")
    assert study["format"] == ic.FORMAT and study["tier"] == "paper" and len(study["seeds"]) >= 5
    plan = {cell.key: cell for cell in ic.plan("paper")}
    assert set(study["cells"]) == set(plan)
    for key, cell in study["cells"].items():
        assert cell["cell"] == dataclasses.asdict(plan[key]), key
        assert cell["config"] == json.loads(json.dumps(dataclasses.asdict(ic.cell_config(plan[key])))), key
        assert sorted(set(cell["kappas"])) == sorted(plan[key].kappas), key
    assert study["git"]["commit"] and study["elapsed_s"] > 0 and study["calls"]
