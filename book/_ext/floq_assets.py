"""Serve MathJax, require.js, the ipywidgets html-manager and plotly.js from the book itself.

``tools/vendor_assets.sh`` copies those files to ``book/_vendor/floq_vendor/`` (git-ignored) and
``_config.yml`` points Sphinx at them (``html_static_path``, ``mathjax_path``, ``nb_ipywidgets_js``),
so the built pages need no network. This extension checks, when the config is read, that the files
are really there. If they are not (a machine that could not run the vendoring step) it switches
those settings back to the public CDNs and prints a note; it does not emit a Sphinx warning, so a
``-W`` build still passes. With ``FLOQ_REQUIRE_VENDORED=1`` (CI) missing files are an error instead.

It also
- defines ``floq_plotly_js``: the plotly.js URL that the plotly mime renderer
  (``floq_lite._book.plotly_mime``) adds to pages that show a plotly figure;
- serves ``floq_static/floq_widgets_config.js``, which tells require.js where the html-manager bundle
  lives (``nb_ipywidgets_js`` loads it between require.js and embed-amd.js);
- drops sphinx-thebe's page scripts: Thebe is off in this book (it needs a Binder server), yet
  sphinx-thebe 0.3 adds its inline ``const THEBE_JS_URL`` script twice to every page, which throws;
- labels the theme's ``.ipynb`` download as the notebook's source without outputs (Jupyter Book serves the
  unexecuted file; a reader who downloads it should not expect the page's figures in it);
- gives the theme a valid ``default_mode`` (the pydata theme reads it from ``html_context``; an empty
  one logs a console error on a reader's first visit).
"""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging
from sphinx.util.console import bold, red

logger = logging.getLogger(__name__)

VENDOR_STATIC = "book/_vendor"  # html_static_path entry; its contents land in _build/html/_static/
VENDOR_URL = "floq_vendor"  # ... so the files are served from _static/floq_vendor/
REQUIRED = {
    "mathjax": "mathjax/tex-mml-chtml.js",
    "requirejs": "require.js",
    "html-manager": "html-manager/embed-amd.js",
    "plotly": "plotly.min.js",
}
CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-mml-chtml.js"
CDN_REQUIREJS = "https://cdn.jsdelivr.net/npm/requirejs@2.3.7/require.js"
CDN_HTML_MANAGER = "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.13/dist/embed-amd.js"
WIDGETS_CONFIG_JS = "floq_widgets_config.js"
STATIC_DIR = Path(__file__).parent / "floq_static"


def _missing(srcdir: Path) -> list[str]:
    vendor = srcdir / VENDOR_STATIC / VENDOR_URL
    return [name for name, rel in REQUIRED.items() if not (vendor / rel).is_file()]


def _use_cdns(config: Config) -> None:
    from floq_lite._book.plotly_mime import plotly_cdn_url

    config.html_static_path = [p for p in config.html_static_path if Path(p).as_posix() != VENDOR_STATIC]
    config.mathjax_path = CDN_MATHJAX
    config.nb_ipywidgets_js = {
        CDN_REQUIREJS: {"crossorigin": "anonymous"},
        WIDGETS_CONFIG_JS: {"data-html-manager-dist": CDN_HTML_MANAGER.rsplit("/", 1)[0]},
        CDN_HTML_MANAGER: {"crossorigin": "anonymous", "data-jupyter-widgets-cdn": "https://cdn.jsdelivr.net/npm/"},
    }
    config.floq_plotly_js = plotly_cdn_url()


def check_vendored(app: Sphinx, config: Config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC_DIR)]
    config.html_context = {"default_mode": "auto", **config.html_context}
    missing = _missing(Path(app.srcdir))
    if not missing:
        if not config.floq_plotly_js:
            config.floq_plotly_js = f"{VENDOR_URL}/{REQUIRED['plotly']}"
        logger.info(bold("floq_assets: ") + f"serving MathJax, require.js, html-manager and plotly.js from {VENDOR_STATIC}")
        return
    message = (
        f"floq_assets: vendored JavaScript missing ({', '.join(missing)}) under {VENDOR_STATIC}/{VENDOR_URL}; "
        "run tools/vendor_assets.sh (make book does). "
    )
    if os.environ.get("FLOQ_REQUIRE_VENDORED") == "1":
        raise ConfigError(message + "FLOQ_REQUIRE_VENDORED=1, so this is an error.")
    _use_cdns(config)
    logger.info(red("NOTE: " + message + "Falling back to public CDNs: the built pages need network access."))


def _is_thebe_script(js: object) -> bool:
    filename = getattr(js, "filename", None) or ""
    body = (getattr(js, "attributes", None) or {}).get("body", "")
    return filename.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body


def drop_thebe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    if "script_files" in context:
        context["script_files"] = [js for js in context["script_files"] if not _is_thebe_script(js)]


NOTEBOOK_DOWNLOAD_TEXT = ".ipynb (no outputs)"
NOTEBOOK_DOWNLOAD_TOOLTIP = "The notebook's source, without outputs: run it (Colab, Jupyter) to see them"


def label_notebook_download(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    """Rename the theme's notebook download button (runs after sphinx-book-theme built its header buttons). A chapter
    whose source is an ``.ipynb`` gets it as the *source* download (text ``.ipynb``); a MyST-markdown notebook would
    get a separate ``download-notebook-button``."""
    for group in context.get("header_buttons") or []:
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            is_notebook = button.get("label") == "download-notebook-button" or (
                button.get("label") == "download-source-button" and button.get("text") == ".ipynb")
            if is_notebook:
                button.update(text=NOTEBOOK_DOWNLOAD_TEXT, tooltip=NOTEBOOK_DOWNLOAD_TOOLTIP)


def setup(app: Sphinx) -> dict:
    app.add_config_value("floq_plotly_js", "", "html", [str])
    # before myst-nb reads nb_ipywidgets_js (builder-inited) and before the html builder reads the static paths
    app.connect("config-inited", check_vendored, priority=100)
    app.connect("html-page-context", drop_thebe_scripts, priority=900)
    app.connect("html-page-context", label_notebook_download, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
