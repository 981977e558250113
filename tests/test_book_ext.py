"""The book's page tweaks in book/_ext/floq_assets.py that a reader sees (the built pages are checked by
tests/test_book_html.py; these run without a build)."""

from __future__ import annotations


def test_notebook_download_is_labelled_as_having_no_outputs(book_ext):
    assets = book_ext("floq_assets")
    notebook = {"type": "link", "text": ".ipynb", "tooltip": "Download notebook file",
                "label": "download-notebook-button"}
    source = {"type": "link", "text": ".md", "tooltip": "Download source file", "label": "download-source-button"}
    context = {"header_buttons": [{"type": "group", "label": "launch-buttons", "buttons": []},
                                  {"type": "group", "label": "download-buttons", "buttons": [notebook, source]},
                                  {"type": "link", "label": "repository-button"}]}
    assets.label_notebook_download(None, "book/01_flow_matching_1d", "page.html", context, None)
    assert "no outputs" in notebook["text"] and "without outputs" in notebook["tooltip"]
    assert source["text"] == ".md"  # other downloads untouched
    # a chapter written as .ipynb: the theme offers the notebook as the page's source download
    ipynb = {"type": "link", "text": ".ipynb", "tooltip": "Download source file", "label": "download-source-button"}
    assets.label_notebook_download(None, "book/02", "page.html",
                                   {"header_buttons": [{"type": "group", "buttons": [ipynb]}]}, None)
    assert ipynb["text"] == assets.NOTEBOOK_DOWNLOAD_TEXT and "without outputs" in ipynb["tooltip"]
    assets.label_notebook_download(None, "genindex", "page.html", {}, None)  # pages without buttons: no error
