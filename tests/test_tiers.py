import pytest

from floq_lite import tiers


def test_default_tier_is_teach(monkeypatch):
    monkeypatch.delenv(tiers.ENV_VAR, raising=False)
    assert tiers.current_tier() == "teach"


def test_env_var_selects_tier(monkeypatch):
    monkeypatch.setenv(tiers.ENV_VAR, "smoke")
    assert tiers.current_tier() == "smoke"
    assert tiers.pick(smoke=1, teach=2, paper=3) == 1


def test_explicit_tier_beats_env_var(monkeypatch):
    monkeypatch.setenv(tiers.ENV_VAR, "smoke")
    assert tiers.pick(smoke=1, teach=2, paper=3, tier="paper") == 3


def test_paper_falls_back_to_teach_when_unset():
    assert tiers.pick(smoke=1, teach=2, tier="paper") == 2


def test_unknown_tier_names_the_valid_ones(monkeypatch):
    monkeypatch.setenv(tiers.ENV_VAR, "fast")
    with pytest.raises(ValueError, match="smoke, teach, paper"):
        tiers.current_tier()


def test_progress_bars_for_people_not_for_ci_or_built_pages(monkeypatch):
    monkeypatch.delenv(tiers.PROGRESS_ENV_VAR, raising=False)
    monkeypatch.setenv(tiers.ENV_VAR, "teach")
    assert tiers.show_progress() is True
    assert tiers.show_progress("smoke") is False
    monkeypatch.setenv(tiers.PROGRESS_ENV_VAR, "0")  # what `make book` sets
    assert tiers.show_progress() is False
    monkeypatch.setenv(tiers.PROGRESS_ENV_VAR, "1")
    assert tiers.show_progress("smoke") is True
    monkeypatch.setenv(tiers.PROGRESS_ENV_VAR, "yes")
    with pytest.raises(ValueError, match="must be 0 or 1"):
        tiers.show_progress()


def test_make_book_turns_progress_bars_off_and_keeps_the_compilation_cache():
    from pathlib import Path

    book_recipe = Path(__file__).resolve().parents[1].joinpath("Makefile").read_text().split("\nbook:")[1]
    commands = book_recipe.split("\n\n")[0].replace("\\\n", " ")  # one line per shell command
    build_line = next(line for line in commands.splitlines() if "jupyter-book build" in line)
    assert f"{tiers.PROGRESS_ENV_VAR}=0" in build_line
    assert "JAX_COMPILATION_CACHE_DIR=" in build_line
