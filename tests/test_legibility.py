"""plotting.legibility.legend_overlaps: finds a curve hidden under a legend, and stays quiet when nothing is."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from floq_lite.plotting.legibility import legend_overlaps  # noqa: E402


def _figure(y, legend_kw):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(np.linspace(0, 1, len(y)), y, label="curve")
    ax.plot([0, 1], [0, 0], label="floor")
    ax.set_ylim(-0.1, 1.1)
    ax.legend(**legend_kw)
    return fig


def test_a_curve_under_the_legend_is_reported_with_its_share():
    fig = _figure(np.full(50, 0.95), {"loc": "upper right"})  # a flat line along the top runs under the legend
    problems = legend_overlaps(fig)
    assert len(problems) == 1 and "'curve'" in problems[0]
    share = float(problems[0].split("% of")[0].rsplit(" ", 1)[1])
    assert 5 < share < 60
    plt.close(fig)


def test_a_line_that_crosses_the_box_between_two_points_is_found():
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([0, 1], [0.95, 0.95], label="two points, both outside the box")
    ax.set_ylim(-0.1, 1.1)
    ax.legend(loc="upper center")
    assert legend_overlaps(fig)
    plt.close(fig)


def test_nothing_is_reported_when_the_legend_sits_off_the_data():
    fig = _figure(np.full(50, 0.95), {"loc": "lower right"})  # the floor at 0 may run under it; the top curve not
    assert [p for p in legend_overlaps(fig) if "'curve'" in p] == []
    fig2 = _figure(np.full(50, 0.95), {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)})  # outside the axes
    assert legend_overlaps(fig2) == []
    plt.close(fig)
    plt.close(fig2)


def _committed_figures():
    """The chapters' figures drawn from committed artifacts (chapters 5-8), as the pages call them."""
    from floq_lite import reporting
    from floq_lite.plotting import antmaze, iterative, plasticity
    from floq_lite.studies import plasticity as pl

    art = reporting.load_artifact
    yield "ch5 runs", lambda: antmaze.plot_study_curves(art("pointmaze_medium_runs"))
    yield "ch5 K sweep", lambda: antmaze.plot_study_curves(art("pointmaze_medium_k_sweep"))
    cpu = art("antmaze_large_cpu_runs")
    yield "ch6 runs", lambda: antmaze.plot_study_curves(cpu)
    yield "ch6 paper", lambda: antmaze.plot_paper_comparison(cpu)
    yield "ch6 K at evaluation", lambda: antmaze.plot_k_eval(art("antmaze_large_k_eval"))
    yield "ch6 expert", lambda: antmaze.plot_expert_curve(art("ant_expert_training.csv"), title="expert")
    ic = art("iterative_compute")
    critics = ["monolithic", "deep-mlp", "resnet", "flow-K1", "flow-K8"]
    yield "ch7 curves", lambda: iterative.plot_curves(ic, "maze11", critics)
    yield "ch7 long", lambda: iterative.plot_long(ic, "maze11")
    yield "ch7 error vs K", lambda: iterative.plot_error_vs_k(ic)
    yield "ch7 error vs FLOPs", lambda: iterative.plot_error_vs_flops(ic)
    yield "ch7 recovery", lambda: iterative.plot_recovery(ic, "maze11")
    yield "ch7 paths", lambda: iterative.plot_paths(ic, "maze11")
    st = art("plasticity")
    for problem in st["problems"]:
        freeze_at = pl.cell_of(st, "freeze", problem, "flow")["freeze_at"]
        yield f"ch8 freeze {problem}", lambda p=problem, f=freeze_at: plasticity.plot_phases(
            st, "freeze", p, ["plain", "frozen"], source="", title="", vline=f)
        yield f"ch8 moved {problem}", lambda p=problem: plasticity.plot_phases(
            st, "moved-goal", p, ["moved, frozen features", "moved, all learning", "moved, fresh"], source="",
            title="")
        yield f"ch8 sequence {problem}", lambda p=problem: plasticity.plot_sequence(st, p, source="")
        yield f"ch8 replay {problem}", lambda p=problem: plasticity.plot_phases(
            st, "replay", p, ["exact dataset", "small dataset"], source="", title="")
        yield f"ch8 diagnostics {problem}", lambda p=problem: plasticity.plot_diagnostics(
            st, "sequence", p, f"goal {pl.NUM_GOALS}", source="")
        yield f"ch8 norm {problem}", lambda p=problem: plasticity.plot_norm_vs_t(st, "freeze", p, "plain", source="")
    yield "ch8 ablations", lambda: plasticity.plot_ablations(st, "maze11", source="")
    yield "ch8 OGBench freeze", lambda: plasticity.plot_freeze_runs(art("pointmaze_medium_runs"),
                                                                    art("pointmaze_medium_freeze"))


def test_no_figure_of_the_committed_results_hides_a_curve_under_its_legend():
    problems = []
    for name, draw in _committed_figures():
        fig = draw()
        problems += [f"{name}: {p}" for p in legend_overlaps(fig)]
        plt.close(fig)
    assert not problems, problems


def test_the_installed_check_fails_a_drawing_with_a_hidden_curve_and_passes_a_clean_one(monkeypatch):
    import io

    import pytest

    from floq_lite.plotting.legibility import LegendOverData, install_legend_check

    monkeypatch.setitem(matplotlib.rcParams, "figure.hooks", [])  # this test's figures only
    install_legend_check()
    install_legend_check()  # idempotent
    assert len(matplotlib.rcParams["figure.hooks"]) == 1
    bad = _figure(np.full(50, 0.95), {"loc": "upper right"})
    with pytest.raises(LegendOverData, match="'curve'"):
        bad.savefig(io.BytesIO())  # what the inline backend does to show it
    good = _figure(np.full(50, 0.95), {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)})
    good.savefig(io.BytesIO())
    plt.close(bad)
    plt.close(good)


def test_floq_check_legends_switches_the_check_on_for_the_notebooks():
    import os
    import subprocess
    import sys

    code = "import matplotlib, floq_lite.plotting; print(matplotlib.rcParams['figure.hooks'])"
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                        env={**os.environ, "FLOQ_CHECK_LEGENDS": "1"})
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "FLOQ_CHECK_LEGENDS"})
    assert "legibility:_check_when_drawn" in on.stdout and "legibility" not in off.stdout
