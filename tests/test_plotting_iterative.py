"""Chapter 7's reading of the long cells: the numbers of ``long_table`` and the figure of ``plot_long``."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from floq_lite.plotting import iterative  # noqa: E402


def _cell(critic: str, finals: list[float], steps: int, tag: str = "") -> dict:
    n = 5
    curve = np.linspace(1.0, 0.0, n)[None, :] + np.asarray(finals)[:, None]  # ends at each seed's final
    return {"cell": {"problem": "maze11", "critic": critic, "width": 64, "tag": tag},
            "steps": list(np.linspace(0, steps, n).astype(int)), "q_error_curve": curve.tolist(),
            "kappas": [0.1] * len(finals), "final": {"q_error": finals}}


def _study() -> dict:
    cells = {"mono": _cell("monolithic", [0.4, 0.5], 20000), "flow": _cell("flow-K16", [0.6, 0.8], 20000),
             "mono_long": _cell("monolithic", [0.2, 0.2], 60000, "long"),
             "flow_long": _cell("flow-K16", [0.3, 0.5], 60000, "long")}
    return {"problems": {"maze11": {}}, "cells": cells}


def test_long_table_gives_both_lengths_and_the_gap_at_each():
    table = iterative.long_table(_study())
    lines = table.splitlines()
    assert "20,000 steps" in lines[0] and "60,000 steps" in lines[0]
    mono = next(line for line in lines if line.startswith("| monolithic MLP |"))
    assert "0.450 ± 0.050" in mono and "0.200 ± 0.000" in mono and "-56%" in mono  # 0.2 / 0.45 - 1
    flow = next(line for line in lines if line.startswith("| flow, K = 16 |"))
    assert "0.700 ± 0.100" in flow and "0.400 ± 0.100" in flow and "0.300-0.500" in flow
    gap = next(line for line in lines if "minus" in line)
    assert "+0.250" in gap and "+0.200" in gap and "-20%" in gap  # 0.70 - 0.45, then 0.40 - 0.20


def test_long_table_says_when_there_are_no_long_cells():
    study = _study()
    study["cells"] = {k: v for k, v in study["cells"].items() if not k.endswith("long")}
    assert iterative.long_table(study) == "(no long cells on maze11)"


def test_plot_long_draws_one_band_and_one_main_run_dot_per_long_critic():
    fig = iterative.plot_long(_study(), source="test")
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # the min-max bands
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert sorted(float(d.get_ydata()[0]) for d in dots) == [0.45, 0.7]


def test_long_table_reads_the_metric_asked_for():
    study = _study()
    for cell, gap in zip(study["cells"].values(), (1.0, 3.0, 0.1, 0.2)):
        cell["final"]["policy_gap"] = [gap, gap]
    line = next(x for x in iterative.long_table(study, metric="policy_gap").splitlines() if "minus" in x)
    assert "+2.000" in line and "+0.100" in line  # 3.0 - 1.0 at 20,000 steps, 0.2 - 0.1 at 60,000


def test_still_falling_reads_the_long_runs_when_asked():
    lines = iterative.still_falling(_study(), "maze11", tag="long").splitlines()
    assert [line.split(":")[0] for line in lines] == ["monolithic", "flow-K16"]
    # mean curves 1.2 -> 0.2 and 1.4 -> 0.4 in 5 points: at 75% 0.45 and 0.65
    assert lines[0].endswith(f"{100 * (1 - 0.2 / 0.45):.0f}% lower at the end than at 75% of training")

