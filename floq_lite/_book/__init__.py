"""Build-time helpers for the floq-book website (not used by the library or in Colab).

``floq_lite._book.plotly_mime`` is a myst-nb mime renderer, registered through the
``myst_nb.mime_renderers`` entry point in ``pyproject.toml``.
"""
