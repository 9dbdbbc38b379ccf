"""The board model: how a board orders, updates and resets its entries.

Scores are signed 64-bit integers. Store times as integer milliseconds on an
``asc`` board (speedruns), and decimals as fixed-point integers (``12.345`` points
with 3 decimals is ``12345``); the board's ``metadata`` may record the scale.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from core.ids import BoardIdField

INT64_MAX = 2**63 - 1
# The lowest score a board may accept: one above int64's minimum, so that the
# descending sort key (the negated score) never overflows.
SCORE_MIN = -(2**63) + 1
SCORE_MAX = INT64_MAX


class SortOrder(StrEnum):
    DESC = "desc"  # higher is better (points)
    ASC = "asc"  # lower is better (speedrun times)


class UpdatePolicy(StrEnum):
    BEST = "best"  # keep the better of old and new
    LATEST = "latest"  # always take the new score
    INCREMENT = "increment"  # add the submitted delta to the score


class ResetSchedule(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class TieMode(StrEnum):
    """How entries with equal scores are shown (``display_rank``); ``rank`` stays exact."""

    ORDINAL = "ordinal"  # 1, 2, 3, 4: the exact rank
    COMPETITION = "competition"  # 1, 2, 2, 4: 1 + entries with a strictly better score
    DENSE = "dense"  # 1, 2, 2, 3: 1 + distinct strictly better scores


TIERS_MAX = 16
TierName = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f]+$")
]


class Tier(BaseModel):
    """A named cut-off: the entries ranked within the top ``top_percent`` of the ladder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TierName
    top_percent: float = Field(gt=0, le=100, allow_inf_nan=False)


def board_tiers(raw: str | list[Any] | None) -> list[Tier] | None:
    """A board's tiers as stored (JSON text or a decoded list), validated."""
    items = json.loads(raw) if isinstance(raw, str) else raw
    return None if items is None else [Tier.model_validate(t) for t in items]


def check_tiers(tiers: list[Tier] | None) -> list[Tier] | None:
    """Tiers are listed best first: names unique, cut-offs strictly increasing."""
    if tiers is None:
        return None
    if not 1 <= len(tiers) <= TIERS_MAX:
        raise ValueError(f"tiers must list 1 to {TIERS_MAX} tiers, got {len(tiers)}")
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        raise ValueError(f"tier names must be unique, got {names}")
    cuts = [t.top_percent for t in tiers]
    if any(a >= b for a, b in itertools.pairwise(cuts)):
        raise ValueError(f"tiers' top_percent must strictly increase, got {cuts}")
    return tiers


class BoardSpec(BaseModel):
    """What an admin supplies to create or configure a board."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: BoardIdField
    order: SortOrder = SortOrder.DESC
    policy: UpdatePolicy = UpdatePolicy.BEST
    min_score: int = Field(default=0, ge=SCORE_MIN, le=SCORE_MAX)
    max_score: int = Field(default=SCORE_MAX, ge=SCORE_MIN, le=SCORE_MAX)
    reset: ResetSchedule | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tie_mode: TieMode = TieMode.ORDINAL
    tiers: list[Tier] | None = Field(
        default=None,
        description=f"1 to {TIERS_MAX} tiers, best first, with strictly increasing "
        "`top_percent`; an entry gets the first tier it is within.",
    )
    all_time: bool = Field(
        default=False,
        description="Keep an `all-time` ladder beside the seasons: each player's lifetime "
        "best (on `latest` boards too), or the lifetime total on `increment` boards, never "
        "reset. Fixed at creation.",
    )

    @model_validator(mode="after")
    def _bounds_ordered(self) -> BoardSpec:
        if self.min_score > self.max_score:
            raise ValueError(
                f"min_score must be <= max_score, got {self.min_score} > {self.max_score}"
            )
        return self

    @field_validator("tiers")
    @classmethod
    def _tiers_ordered(cls, tiers: list[Tier] | None) -> list[Tier] | None:
        return check_tiers(tiers)


class Board(BoardSpec):
    """A stored board: its spec plus the season and feed position the store tracks."""

    season: str
    seq: int = 0
    created_at: datetime


ALL_TIME = "all-time"
"""The season name of a board's all-time ladder (boards created with ``all_time``)."""


def next_reset_at(schedule: ResetSchedule | None, at: datetime) -> datetime | None:
    """When a board with ``schedule`` next starts a season after instant ``at`` (UTC):
    the next midnight, Monday midnight (ISO weeks) or first of a month; None if it never
    resets. Pure: the same instant :func:`season_for` moves to a new season."""
    if schedule is None:
        return None
    at = at.astimezone(UTC)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule is ResetSchedule.DAILY:
        return midnight + timedelta(days=1)
    if schedule is ResetSchedule.WEEKLY:
        return midnight + timedelta(days=7 - at.weekday())
    first = midnight.replace(day=1)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def tier_for(rank: int, total: int, tiers: list[Tier] | None) -> str | None:
    """The first tier (best first) whose cut-off holds ``rank``: an entry is within the
    top ``p`` percent when ``rank <= ceil(total * p / 100)``. None when none applies."""
    if not tiers or total <= 0 or rank <= 0:
        return None
    for tier in tiers:
        cut = Fraction(str(tier.top_percent)) * total / 100
        if rank <= -(-cut.numerator // cut.denominator):
            return tier.name
    return None


def season_for(schedule: ResetSchedule | None, at: datetime) -> str:
    """The season id a board with ``schedule`` is in at instant ``at`` (UTC).

    ``None`` boards never reset and live in season ``s1`` until rolled by hand.
    """
    if schedule is None:
        return "s1"
    at = at.astimezone(UTC)
    if schedule is ResetSchedule.DAILY:
        return at.strftime("d%Y-%m-%d")
    if schedule is ResetSchedule.WEEKLY:
        iso = at.isocalendar()
        return f"w{iso.year}-{iso.week:02d}"
    return at.strftime("m%Y-%m")
