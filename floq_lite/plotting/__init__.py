"""Plotting helpers for the book: one module per topic; matplotlib for static figures, plotly for kernel-free sliders.

With ``FLOQ_CHECK_LEGENDS=1`` (set by ``make test`` for the notebooks and the smoke build) every figure drawn after
this package is imported is checked for curves hidden under its legend (:mod:`floq_lite.plotting.legibility`).
"""

import os

if os.environ.get("FLOQ_CHECK_LEGENDS") == "1":
    from floq_lite.plotting.legibility import install_legend_check

    install_legend_check()
