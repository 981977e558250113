"""Compute tiers: one code path, three sizes.

Every notebook and command reads the tier once and picks its sizes from it:

* ``smoke``: seconds per notebook on a 2-core CPU. What CI and ``nbval`` run.
* ``teach``: minutes per chapter on a laptop CPU or free Colab. The default for humans.
* ``paper``: the official floq configuration, hours on a GPU.

The tier comes from the ``FLOQ_TIER`` environment variable (default ``teach``) unless a caller passes one.
"""

from __future__ import annotations

import os
from typing import Literal, TypeVar

Tier = Literal["smoke", "teach", "paper"]
TIERS: tuple[Tier, ...] = ("smoke", "teach", "paper")
DEFAULT_TIER: Tier = "teach"
ENV_VAR = "FLOQ_TIER"
PROGRESS_ENV_VAR = "FLOQ_PROGRESS"

T = TypeVar("T")


def validate_tier(tier: str) -> Tier:
    """Return ``tier`` if it names a compute tier, else raise a ``ValueError`` that lists the valid ones."""
    if tier not in TIERS:
        raise ValueError(
            f"Unknown compute tier {tier!r}. Valid tiers are {', '.join(TIERS)}; "
            f"set it with e.g. `export {ENV_VAR}=smoke` or pass tier='smoke'."
        )
    return tier  # type: ignore[return-value]


def current_tier(tier: str | None = None) -> Tier:
    """The tier in force: ``tier`` if given, else ``$FLOQ_TIER``, else ``teach``."""
    if tier is None:
        tier = os.environ.get(ENV_VAR, "").strip() or DEFAULT_TIER
    return validate_tier(tier)


def pick(*, smoke: T, teach: T, paper: T | None = None, tier: str | None = None) -> T:
    """Choose a value by tier. ``paper`` falls back to ``teach`` where a chapter has no paper-size setting.

    >>> pick(smoke=100, teach=5_000, tier="smoke")
    100
    """
    chosen = current_tier(tier)
    if chosen == "smoke":
        return smoke
    if chosen == "teach" or paper is None:
        return teach
    return paper


def show_progress(tier: str | None = None) -> bool:
    """Whether a chapter's live training draws a progress bar (chapter 1's fit and chapter 3's critics ask this;
    the later chapters' live runs are short and never draw one, the command line has ``--no-progress``).

    Yes for a person running a notebook (teach and paper tiers); no in the smoke tier (CI). ``$FLOQ_PROGRESS``
    overrides both: ``make book`` sets it to ``0``, because a bar executed into a built page is frozen clutter.
    """
    flag = os.environ.get(PROGRESS_ENV_VAR, "").strip()
    if flag in ("0", "1"):
        return flag == "1"
    if flag:
        raise ValueError(f"${PROGRESS_ENV_VAR} must be 0 or 1, got {flag!r}; unset it for the tier's default.")
    return current_tier(tier) != "smoke"
