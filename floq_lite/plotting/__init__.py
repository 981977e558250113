"""Plotting helpers for the book: one module per topic; matplotlib for static figures, plotly for kernel-free sliders."""
