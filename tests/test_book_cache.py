"""The book's execution cache (book/_ext/floq_cache.py): its key changes whenever an output could change, and the
notebooks it lacks are executed side by side before Sphinx reads them."""

from __future__ import annotations

import pytest
from conftest import BOOK_EXT, new_notebook


def test_key_changes_with_code_artifacts_and_tier(book_ext, tmp_path):
    cache = book_ext("floq_cache")
    pkg = tmp_path / "floq_lite"
    (pkg / "artifacts").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "artifacts" / "r.json").write_text("{}")
    base = cache.cache_key(pkg, {"FLOQ_TIER": "teach"})
    assert base == cache.cache_key(pkg, {"FLOQ_TIER": "teach"})  # deterministic
    assert base != cache.cache_key(pkg, {"FLOQ_TIER": "smoke"})
    (pkg / "a.py").write_text("x = 2\n")
    changed_code = cache.cache_key(pkg, {"FLOQ_TIER": "teach"})
    assert changed_code != base
    (pkg / "artifacts" / "r.json").write_text('{"a": 1}')
    assert cache.cache_key(pkg, {"FLOQ_TIER": "teach"}) != changed_code
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "a.pyc").write_bytes(b"junk")  # bytecode does not count
    assert cache.cache_key(pkg, {"FLOQ_TIER": "teach"}) == cache.cache_key(pkg, {"FLOQ_TIER": "teach"})


def test_check_cache_keeps_or_clears(book_ext, tmp_path):
    cache = book_ext("floq_cache")
    store = tmp_path / ".jupyter_cache"
    assert cache.check_cache(store, "k1") is False  # first build: nothing to keep
    (store / "global.db").write_text("cached outputs")
    assert cache.check_cache(store, "k1") is True and (store / "global.db").exists()
    assert cache.check_cache(store, "k2") is False and not (store / "global.db").exists()
    assert (store / cache.KEY_FILE).read_text().strip() == "k2"


def _write_notebook(path, *sources):
    import nbformat

    nb = new_notebook(*sources)
    nbformat.write(nb, path)
    return nb


def test_pre_execution_runs_notebooks_side_by_side_and_caches_only_the_good_ones(book_ext, tmp_path, monkeypatch):
    from jupyter_cache import get_cache

    monkeypatch.syspath_prepend(str(BOOK_EXT))  # floq_cache uses floq_exec's retrying execution, as in Sphinx
    cache = book_ext("floq_cache")
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n  - chapters:\n"
                                       "      - file: book/a\n      - file: book/page\n      - file: book/b\n"
                                       "      - file: book/bad\n")
    (tmp_path / "book" / "page.md").write_text("# not a notebook\n")
    # each notebook records when its kernel ran; overlapping intervals mean the two ran at the same time
    stamp = ("import time, pathlib\nt0 = time.time(); time.sleep(4)\n"
             "pathlib.Path('{name}.txt').write_text(f'{{t0}} {{time.time()}}')")
    good = {name: _write_notebook(tmp_path / "book" / f"{name}.ipynb", stamp.format(name=name)) for name in "ab"}
    _write_notebook(tmp_path / "book" / "intro.ipynb", "x = 1")
    bad = _write_notebook(tmp_path / "book" / "bad.ipynb", "raise RuntimeError('broken')")
    notebooks = cache.toc_notebooks(tmp_path)
    assert [p.stem for p in notebooks] == ["intro", "a", "b", "bad"]  # toc order, notebooks only
    store = tmp_path / "_build" / ".jupyter_cache"
    cache.pre_execute(notebooks[1:], store, jobs=2, timeout=60, hang_root=tmp_path / "_build")
    (a0, a1), (b0, b1) = ([float(v) for v in (tmp_path / "book" / f"{n}.txt").read_text().split()] for n in "ab")
    assert a0 < b1 and b0 < a1  # the two executions overlapped
    jc = get_cache(str(store))
    for nb in good.values():
        jc.match_cache_notebook(nb)  # cached: Sphinx will read the outputs instead of executing again
    with pytest.raises(KeyError):  # a failed notebook is not cached
        jc.match_cache_notebook(bad)
