"""Render plotly figures in the static book pages.

Chapters call ``fig.show()``. Colab displays that natively; in the headless kernel that builds the book,
plotly emits only the ``application/vnd.plotly.v1+json`` mime bundle, which myst-nb would skip. This
renderer turns that bundle into a ``<div>``, the figure as inline JSON and a ``Plotly.newPlot`` call
(frames included, so sliders and play buttons keep working without a kernel). The plotly.js library
itself is loaded once per page, and only on pages that have a plotly output: its URL comes from the
Sphinx config value ``floq_plotly_js`` (set by ``book/_ext/floq_assets.py`` to the vendored local copy,
or to the public CDN when that copy is missing).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from docutils import nodes

PLOTLY_MIME = "application/vnd.plotly.v1+json"
_BUILDERS = ("html", "dirhtml", "singlehtml", "readthedocs", "readthedocsdirhtml")

def plotly_cdn_url() -> str:
    """The public CDN copy of the plotly.js version bundled with the installed plotly package."""
    from plotly.offline import get_plotlyjs_version

    return f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"


_DRAW = """(function () {
  var id = %(id)s;
  function draw() {
    var el = document.getElementById(id);
    var spec = JSON.parse(document.getElementById(id + "-spec").textContent);
    var config = Object.assign({responsive: true, displaylogo: false}, spec.config || {});
    window.Plotly.newPlot(el, spec.data || [], spec.layout || {}, config).then(function () {
      if (spec.frames && spec.frames.length) { return window.Plotly.addFrames(el, spec.frames); }
    });
  }
  if (window.Plotly) { draw(); } else { window.addEventListener("load", draw); }
})();"""


def _plotly_js_uri(renderer: Any) -> str:
    try:
        uri = renderer.renderer.document.settings.env.config.floq_plotly_js
    except AttributeError:  # not a Sphinx build, or book/_ext/floq_assets.py not loaded
        uri = None
    return uri or plotly_cdn_url()


def _script_json(obj: Any) -> str:
    # "<\/" is still valid JSON and cannot close the <script> element early.
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")


class PlotlyMimeRenderer:
    """myst-nb ``MimeRenderPlugin`` for plotly figures (see ``myst_nb.core.render``)."""

    # Prefer the plotly bundle over any text/html or text/plain fallback it comes with.
    mime_priority_overrides = [(builder, PLOTLY_MIME, 5) for builder in _BUILDERS]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[nodes.Element] | None:
        if inline or data.mime_type != PLOTLY_MIME:
            return None
        fig = data.content
        if isinstance(fig, (str, bytes)):
            fig = json.loads(fig)
        spec = _script_json(fig)
        count = getattr(renderer, "_floq_plotly_count", 0) + 1
        renderer._floq_plotly_count = count
        digest = hashlib.sha1(f"{data.cell_index}:{count}:{spec}".encode()).hexdigest()[:10]
        div_id = f"floq-plotly-{digest}"
        height = (fig.get("layout") or {}).get("height") or 450
        # priority < 500: plotly.js must run before require.js (widget pages) defines `define`,
        # otherwise it registers itself as an anonymous AMD module instead of setting window.Plotly.
        renderer.add_js_file("floq_plotly_js", _plotly_js_uri(renderer), {"priority": 200})
        html = (
            f'<div class="floq-plotly" id="{div_id}" style="width:100%;height:{int(height)}px"></div>\n'
            f'<script type="application/json" id="{div_id}-spec">{spec}</script>\n'
            f"<script>{_DRAW % {'id': json.dumps(div_id)}}</script>"
        )
        return [nodes.raw(text=html, format="html", classes=["output", "text_html"])]
