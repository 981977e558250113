"""plotting.bands.seed_band: how every figure draws seeds (mean line, min..max band, missing points skipped)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from floq_lite.plotting.bands import seed_band  # noqa: E402


def test_mean_line_and_min_max_band_skip_missing_points():
    fig, ax = plt.subplots()
    runs = [[0.0, 1.0, None], [2.0, 3.0, 4.0], [1.0, 2.0, 6.0]]  # (S=3, T=3), seed 0 lacks its last point
    seed_band(ax, [0, 1, 2], runs, color="tab:blue", label="floq", linestyle="--", marker="o")
    line = ax.lines[0]
    np.testing.assert_allclose(line.get_ydata(), [1.0, 2.0, 5.0])
    assert line.get_label() == "floq (3 seeds)" and line.get_linestyle() == "--" and line.get_marker() == "o"
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 0.0 and band.max() == 6.0
    seed_band(ax, [0, 1, 2], [[1.0, 1.0, 1.0]], color="k", label="one", count_seeds=False)
    assert ax.lines[1].get_label() == "one" and len(ax.collections) == 1  # one seed: no band
    plt.close(fig)
