"""The ranking rules: one total order, update policies, and what a read returns.

The order of a ladder (a board in one season) is:
    1. score in the board's direction (higher first on ``desc``, lower first on ``asc``),
    2. then the earlier ``achieved_at``,
    3. then the player id (byte order).
Rank is the 1-based position in that order. Internally the order is keyed by
``EntryKey(sort_score, achieved_at, player_id)``, ascending, where ``sort_score`` is the
score on ``asc`` boards and its negation on ``desc`` boards.

The update policies (``best``, ``latest``, ``increment``) are applied in SQL by
``lb_submit`` so that a submit is one round trip; the property tests check the store
against an independent brute-force model (tests/db/ladder_model.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from pydantic import BaseModel, ConfigDict

from core.boards import SCORE_MAX, SCORE_MIN, ResetSchedule, SortOrder, TieMode, Tier, tier_for
from core.errors import BadRequest, PayloadTooLarge

BEFORE_EVERY_AT: Final = datetime.min.replace(tzinfo=UTC)
"""Before every entry's achieved_at: the key ``(s, BEFORE_EVERY_AT, "")`` has exactly the
entries with a better score than ``s`` before it (a competition display count)."""


class EntryKey(NamedTuple):
    """A position in a ladder's total order; smaller is better."""

    sort_score: int
    achieved_at: datetime
    player_id: str


def sort_score(order: SortOrder, score: int) -> int:
    """The ascending sort key of ``score`` on a board ordered by ``order``."""
    return -score if order is SortOrder.DESC else score


def entry_key(order: SortOrder, score: int, achieved_at: datetime, player: str) -> EntryKey:
    return EntryKey(sort_score(order, score), achieved_at, player)


def percentile(rank: int, total: int) -> float:
    """The share of the ladder ranked at or below this rank, in percent, rounded to 4
    decimals: ``100 * (total - rank + 1) / total`` (rank 1 → 100, the last → 100/total)."""
    if total <= 0 or rank <= 0:
        return 0.0
    return round(100.0 * (total - rank + 1) / total, 4)


class ScoreInput(NamedTuple):
    """One score to submit (the store validates every field)."""

    player_id: str
    score: int
    metadata: dict[str, Any] | None = None
    achieved_at: datetime | None = None


def check_score(value: object, *, min_score: int = SCORE_MIN, max_score: int = SCORE_MAX) -> int:
    """A score must be a true integer (not a bool or float) within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(
            f"score must be an integer, got {type(value).__name__} {value!r}",
            code="invalid_score",
        )
    if not min_score <= value <= max_score:
        raise BadRequest(
            f"score must be within [{min_score}, {max_score}], got {value}",
            code="score_out_of_range",
        )
    return value


def encode_metadata(metadata: dict[str, Any] | None, *, max_bytes: int) -> str | None:
    """The metadata as compact JSON, refusing anything over ``max_bytes`` bytes."""
    if metadata is None:
        return None
    try:
        text = json.dumps(metadata, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"metadata must be plain JSON: {exc}", code="invalid_metadata") from exc
    size = len(text.encode())
    if size > max_bytes:
        raise PayloadTooLarge(
            f"metadata must be at most {max_bytes} bytes of JSON, got {size}",
            code="metadata_too_large",
        )
    return text


def check_batch(scores: Sequence[ScoreInput], *, batch_max: int) -> None:
    """A batch has 1..batch_max scores and names each player once."""
    if not scores:
        raise BadRequest("a submit needs at least one score", code="empty_batch")
    if len(scores) > batch_max:
        raise PayloadTooLarge(
            f"a batch holds at most {batch_max} scores, got {len(scores)}", code="batch_too_large"
        )
    seen: set[str] = set()
    for item in scores:
        if item.player_id in seen:
            raise BadRequest(
                f"a batch must name each player once; {item.player_id!r} appears twice",
                code="duplicate_player",
            )
        seen.add(item.player_id)


def request_hash(board: str, scores: Sequence[ScoreInput]) -> str:
    """A digest of a submit's payload, so a reused submission id with another payload is caught."""
    canon = json.dumps(
        [
            board,
            [
                [s.player_id, s.score, s.metadata, s.achieved_at and s.achieved_at.isoformat()]
                for s in scores
            ],
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode()).hexdigest()


class RankedEntry(BaseModel):
    """One entry of a ladder with its exact rank."""

    model_config = ConfigDict(frozen=True)

    player_id: str
    score: int
    rank: int
    achieved_at: datetime
    updates: int = 1
    metadata: dict[str, Any] | None = None
    display_rank: int | None = None
    """The rank shown by the board's tie mode (:func:`with_display`); None until set."""
    percentile: float | None = None
    tier: str | None = None


def with_display(
    entries: Sequence[RankedEntry],
    *,
    order: SortOrder,
    total: int,
    tie_mode: TieMode,
    tiers: list[Tier] | None,
    before: Mapping[int, int],
    contiguous: bool,
) -> list[RankedEntry]:
    """``entries`` (in rank order) with their display rank, percentile and tier.

    ``before[s]`` is the number of places the tie mode puts ahead of sort score ``s``
    (entries with a strictly better score for ``competition``, distinct better scores for
    ``dense``), counted by the database. In a ``contiguous`` run of the ladder it is needed
    only for the first entry's score: an entry tied with the one before shares its display
    rank; one with a new score has every entry before it strictly better, so its
    competition rank is its rank and its dense rank the previous one's plus one. Entries
    that are not contiguous (a friends list) need ``before`` for every score.
    """
    out: list[RankedEntry] = []
    prev: tuple[int, int] | None = None  # (sort score, display rank) of the entry before
    for e in entries:
        s = sort_score(order, e.score)
        if tie_mode is TieMode.ORDINAL:
            shown = e.rank
        elif s in before:
            shown = before[s] + 1
        elif contiguous and prev is not None and prev[0] == s:
            shown = prev[1]
        elif contiguous and prev is not None:
            shown = e.rank if tie_mode is TieMode.COMPETITION else prev[1] + 1
        else:
            raise ValueError(f"no display count for score {e.score} of {e.player_id!r}")
        prev = (s, shown)
        out.append(
            e.model_copy(
                update={
                    "display_rank": shown,
                    "percentile": percentile(e.rank, total),
                    "tier": tier_for(e.rank, total, tiers),
                }
            )
        )
    return out


class SubmitResult(BaseModel):
    """What a submit returns for one player, after commit."""

    model_config = ConfigDict(frozen=True)

    player_id: str
    score: int
    rank: int | None
    total: int | None
    improved: bool
    updates: int
    achieved_at: datetime
    replayed: bool = False
    seq: int | None = None
    """The board seq this write was numbered with (see ``Store.submit``)."""


class Standing(BaseModel):
    """A player's place in a ladder."""

    model_config = ConfigDict(frozen=True)

    board_id: str
    season: str
    entry: RankedEntry
    total: int
    percentile: float
    as_of_seq: int
    resets: ResetSchedule | None = None
    """The schedule that ends this season: None for a past season, the all-time ladder or
    a board that never resets (see :func:`core.boards.next_reset_at`)."""


class Page(BaseModel):
    """A page of a ladder in rank order, with the key to continue after it."""

    model_config = ConfigDict(frozen=True)

    board_id: str
    season: str
    entries: list[RankedEntry]
    total: int
    as_of_seq: int
    next_after: EntryKey | None = None
    first_key: EntryKey | None = None
    """The keys of the first and last entries shown (around and window reads), where the
    pages before and after them start."""
    last_key: EntryKey | None = None
    resets: ResetSchedule | None = None
    """As :attr:`Standing.resets`."""
