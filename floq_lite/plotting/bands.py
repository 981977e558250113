"""Seeds as bands: the one way every figure of the book draws several runs of one setting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

AGENT_COLORS = {"floq": "tab:blue", "fql": "tab:orange"}  # one colour per agent in every chapter's figures


def seed_band(ax, x: Sequence[float], runs: Any, *, color: str | None, label: str | None = None,
              count_seeds: bool = True, linestyle: str = "-", marker: str | None = None, alpha: float = 0.2) -> None:
    """Mean over the runs (rows of ``runs``, shape ``(S, T)``; ``None`` entries are missing points) as a line and
    their min..max as a shaded band. ``count_seeds`` appends ``(S seeds)`` to the label."""
    runs = np.asarray([[np.nan if v is None else v for v in row] for row in runs], dtype=float)  # (S, T)
    if label is not None and count_seeds:
        label = f"{label} ({runs.shape[0]} seeds)"
    ax.plot(x, np.nanmean(runs, axis=0), color=color, linestyle=linestyle, marker=marker, markersize=3.5,
            markerfacecolor="none", label=label)
    if runs.shape[0] > 1:
        ax.fill_between(x, np.nanmin(runs, axis=0), np.nanmax(runs, axis=0), color=color, alpha=alpha, linewidth=0)


__all__ = ["AGENT_COLORS", "seed_band"]
