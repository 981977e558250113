"""The book's execution cache key (book/_ext/floq_cache.py): it changes whenever an output could change."""

from __future__ import annotations


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
