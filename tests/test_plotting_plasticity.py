"""Chapter 8's OGBench freeze figures: plain and frozen runs paired seed by seed (plotting.plasticity.freeze_pairs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from floq_lite.plotting import plasticity as plots  # noqa: E402
from floq_lite.plotting.legibility import legend_overlaps  # noqa: E402

STEPS = [10, 20, 30, 40, 50, 60]


def _run(agent, seeds, success, freeze_at=None):
    config = {"batch_size": 64} if freeze_at is None else {"batch_size": 64, "freeze_features_at": freeze_at}
    return {"agent": agent, "env_name": "toy-maze", "seeds": seeds, "steps": STEPS[-1], "tier": "teach",
            "config": config, "hardware": {"jax_backend": "cpu", "cpu_count": 2}, "wall_time_s": 1.0,
            "eval": {"steps": STEPS, "success_rate": success}}


def _artifacts():
    """floq: 5 plain seeds, 3 frozen ones that match the plain runs up to step 30 (the freeze) and then differ;
    FQL: 2 seeds each, one of them different from the first evaluation on."""
    rng = np.random.default_rng(0)
    floq_plain = rng.uniform(0, 1, (5, len(STEPS))).round(2)
    floq_frozen = floq_plain[:3].copy()
    floq_frozen[:, 3:] = [[0.0, 0.1, 0.2], [0.3, 0.3, 0.3], [1.0, 1.0, 1.0]]
    fql_plain = np.array([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])
    fql_frozen = fql_plain.copy()
    fql_frozen[1, 0] = 0.25
    plain = {"last_n": 3, "agents": {"floq": _run("floq", [0, 1, 2, 3, 4], floq_plain.tolist()),
                                     "FQL": _run("fql", [0, 1], fql_plain.tolist())}}
    frozen = {"last_n": 3, "agents": {"floq": _run("floq", [0, 1, 2], floq_frozen.tolist(), freeze_at=30),
                                      "FQL": _run("fql", [0, 1], fql_frozen.tolist(), freeze_at=30)}}
    return plain, frozen, floq_plain, floq_frozen


def test_pairs_are_the_shared_seeds_with_finals_and_the_step_until_which_they_agree():
    plain, frozen, floq_plain, floq_frozen = _artifacts()
    pairs = plots.freeze_pairs(plain, frozen)
    floq = pairs["floq"]
    assert floq["seeds"] == [0, 1, 2] and floq["freeze_at"] == 30
    np.testing.assert_array_equal(floq["curves"]["plain"], floq_plain[:3])
    np.testing.assert_allclose(floq["final"]["plain"], floq_plain[:3, -3:].mean(1))
    np.testing.assert_allclose(floq["final"]["frozen"], [0.1, 0.3, 1.0])
    assert floq["identical_until"] == 30  # the same training up to the freeze, different after
    assert pairs["FQL"]["identical_until"] is None  # seed 1 differs at the first evaluation


def test_a_missing_twin_or_a_run_that_was_not_frozen_is_named():
    plain, frozen, *_ = _artifacts()
    with pytest.raises(KeyError, match="no agent 'floq'"):
        plots.freeze_pairs({"agents": {"FQL": plain["agents"]["FQL"]}}, frozen)
    with pytest.raises(ValueError, match="expected a plain run and a frozen one"):
        plots.freeze_pairs(plain, plain)


def test_the_table_gives_each_seed_and_the_change_by_the_freeze():
    plain, frozen, floq_plain, _ = _artifacts()
    table = plots.freeze_runs_table(plain, frozen)
    change = np.array([0.1, 0.3, 1.0]) - floq_plain[:3, -3:].mean(1)
    assert ", ".join(f"{d:+.2f}" for d in change) in table
    assert "floq: the two runs' success rates are identical on every seed up to step 30 (freeze at 30)" in table
    assert "FQL: the two runs differ from the first evaluation on (freeze at 30)" in table


def test_the_figure_has_a_panel_per_agent_with_both_runs_and_the_freeze_and_no_hidden_curve():
    plain, frozen, *_ = _artifacts()
    fig = plots.plot_freeze_runs(plain, frozen)
    axes = [ax for ax in fig.axes if ax.get_lines()]
    assert len(axes) == 2
    for ax in axes:
        xs = [line.get_xdata() for line in ax.get_lines()]
        assert any(np.all(np.asarray(x) == 30) for x in xs)  # the dotted freeze line
        assert sum(len(x) == len(STEPS) for x in xs) == 2  # learning and frozen curves
    assert "seeds 0-2" in axes[0].get_title()
    assert legend_overlaps(fig) == []
    plt.close(fig)


def _ablations_study():
    from floq_lite.studies import plasticity as pl

    def phase(values):
        return {"final": {"q_error": values}}

    mono = {"baseline": phase([0.5, 0.6]), "target noise ±2": phase([0.7, 0.9])}
    flow = {**{k: phase([1.0, 1.2]) for k in mono}, "distributional backup": phase([2.0, 3.0])}
    return {"cells": {pl.Cell("ablations", "maze11", "monolithic", 0).key: {"phases": mono},
                      pl.Cell("ablations", "maze11", "flow", 0).key: {"phases": flow}}}


def test_ablations_table_marks_variants_a_critic_does_not_have():
    table = plots.ablations_table(_ablations_study(), "maze11").splitlines()
    assert table[0] == "| variant | monolithic critic | flow critic |"
    assert table[2] == "| baseline | 0.550 ± 0.050 (0.500–0.600) | 1.100 ± 0.100 (1.000–1.200) |"
    assert table[-1] == "| distributional backup | — | 2.500 ± 0.500 (2.000–3.000) |"


def test_ablations_figure_puts_every_variant_on_the_axis_and_keeps_the_legend_off_the_data():
    fig = plots.plot_ablations(_ablations_study(), "maze11", source="test")
    ax = fig.axes[0]
    assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()] == [
        "baseline", "target noise ±2", "distributional backup"]
    assert legend_overlaps(fig) == []
    plt.close(fig)


def test_a_frozen_run_still_training_is_compared_at_equal_steps():
    plain, frozen, floq_plain, floq_frozen = _artifacts()
    short = frozen["agents"]["floq"]
    short["eval"] = {"steps": STEPS[:4], "success_rate": [row[:4] for row in short["eval"]["success_rate"]]}
    pair = plots.freeze_pairs(plain, frozen)["floq"]
    assert pair["steps"] == STEPS[:4]
    np.testing.assert_allclose(pair["final"]["plain"], floq_plain[:3, 1:4].mean(1))
    np.testing.assert_allclose(pair["final"]["frozen"], floq_frozen[:, 1:4].mean(1))
    assert "| floq | 0, 1, 2 | 40 |" in plots.freeze_runs_table(plain, frozen)
