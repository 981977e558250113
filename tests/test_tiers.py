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
