"""The wire models of the REST API: route inputs, snapshot bodies, admin bodies, Problem.

Every request and response body, and every path and query parameter, is one of these
pydantic models; the OpenAPI document (``rest.openapi``) is generated from them.
Snapshots carry ``as_of_seq``: the board's sequence number the data includes, read in
the same statement as the data, so a WebSocket client can join the stream from it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from core.boards import (
    SCORE_MAX,
    SCORE_MIN,
    BoardSpec,
    ResetSchedule,
    SortOrder,
    TieMode,
    Tier,
    UpdatePolicy,
    check_tiers,
)
from core.ids import (
    PLAYER_PATTERN,
    BoardIdField,
    PlayerIdField,
    SeasonIdField,
    SubmissionIdField,
)
from core.moderation import (
    AUDIT_PAGE_MAX,
    REASON_MAX_CHARS,
    AuditEntry,
    AuditPage,
    BanState,
    ErasureReport,
    RemovedEntry,
)
from core.protocol import AckResult
from core.ranking import RankedEntry

PAGE_MAX: Final = 1000
"""At most this many entries in one top page (``limit``)."""
AROUND_MAX: Final = 100
"""At most this many entries on each side of a player (``k``)."""
FRIENDS_MAX: Final = 100
"""At most this many players in one friends look-up (they travel in the query string)."""
CURSOR_MAX_CHARS: Final = 512
BOARD_METADATA_MAX_BYTES: Final = 4096
BATCH_MAX: Final = 1000
"""At most this many scores in one REST batch submit (``Settings.batch_max``)."""
ENTRY_METADATA_MAX_BYTES: Final = 1024
"""An entry's metadata: at most this many bytes of JSON (``Settings.metadata_max_bytes``)."""

_PLAYER_CHARS = PLAYER_PATTERN.removeprefix("^").removesuffix("$")
FRIENDS_PATTERN: Final = rf"^{_PLAYER_CHARS}(,{_PLAYER_CHARS}){{0,{FRIENDS_MAX - 1}}}$"


def utc(at: datetime) -> datetime:
    """The same instant in UTC, so bodies do not depend on a server's time zone."""
    return at.astimezone(UTC)


def _check_board_metadata(value: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if "\\u0000" in text:
        raise ValueError("metadata must not contain NUL characters (PostgreSQL jsonb refuses them)")
    size = len(text.encode())
    if size > BOARD_METADATA_MAX_BYTES:
        raise ValueError(
            f"metadata must be at most {BOARD_METADATA_MAX_BYTES} bytes of JSON, got {size}"
        )
    return value


BoardMetadata = Annotated[dict[str, Any], AfterValidator(_check_board_metadata)]


class _Wire(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class _Body(_Wire):
    """A request body: strict, so ``false`` or ``1.0`` is no integer and a string no number."""

    model_config = ConfigDict(defer_build=True, strict=True)


# --- errors -------------------------------------------------------------------------


class Problem(_Wire):
    """An RFC 9457 problem: ``type`` is stable per ``code``; ``detail`` is for humans."""

    type: str = Field(description="A stable URI naming the kind of problem; ends with `code`.")
    title: str
    status: int = Field(ge=100, le=599)
    detail: str
    instance: str | None = Field(default=None, description="The request path.")
    code: str = Field(description="The stable machine code, e.g. `unknown_board`.")
    details: dict[str, Any] | None = None


# --- route inputs (path and query parameters) -----------------------------------------


class _Params(BaseModel):
    """Path and query parameters; unknown query parameters are ignored."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore")


class NoParams(_Params):
    pass


class BoardParams(_Params):
    board: BoardIdField = Field(description="The board id.", examples=["arena"])


class SeasonParams(BoardParams):
    season: SeasonIdField | None = Field(
        default=None,
        description="A past season to read; the current season when absent.",
        examples=["s1"],
    )
    min_seq: int | None = Field(
        default=None,
        ge=0,
        description="Read your writes: answer as of this board seq or later (a write's "
        "`seq`, or a created board's `as_of_seq`). The read waits up to 0.5 s for the "
        "replica to catch up, then reads the primary.",
    )


class TopParams(SeasonParams):
    limit: int = Field(default=100, ge=1, le=PAGE_MAX, description="Entries per page.")
    cursor: Annotated[str, StringConstraints(max_length=CURSOR_MAX_CHARS)] | None = Field(
        default=None, description="The opaque `next_cursor` of the previous page."
    )


class PlayerParams(SeasonParams):
    player: PlayerIdField = Field(description="The player id.", examples=["p001"])


class AroundParams(PlayerParams):
    k: int = Field(
        default=5, ge=0, le=AROUND_MAX,
        description="Entries on each side; with `cursor`, the entries of the page (at least 1).",
    )  # fmt: skip
    cursor: Annotated[str, StringConstraints(max_length=CURSOR_MAX_CHARS)] | None = Field(
        default=None,
        description="The `prev_cursor` (entries above) or `next_cursor` (entries below) of an "
        "earlier around page: the page is read at that page's `as_of_seq`.",
    )


class FriendsParams(SeasonParams):
    players: Annotated[str, StringConstraints(pattern=FRIENDS_PATTERN)] = Field(
        description=f"Comma-separated player ids, 1 to {FRIENDS_MAX}.", examples=["p001,p002"]
    )

    def player_ids(self) -> list[str]:
        return list(dict.fromkeys(self.players.split(",")))


# --- admin bodies ---------------------------------------------------------------------


class CreateBoard(BoardSpec):
    """A new board. ``order`` and ``policy`` are fixed for its life."""

    model_config = ConfigDict(defer_build=True, strict=True)

    metadata: BoardMetadata = Field(
        default_factory=dict,
        description=f"At most {BOARD_METADATA_MAX_BYTES} bytes of JSON (no NUL characters).",
    )


class ConfigureBoard(_Body):
    """A change to a board; absent fields keep their value (``reset: null`` clears it)."""

    min_score: int | None = Field(default=None, ge=SCORE_MIN, le=SCORE_MAX)
    max_score: int | None = Field(default=None, ge=SCORE_MIN, le=SCORE_MAX)
    reset: ResetSchedule | None = None
    metadata: BoardMetadata | None = Field(
        default=None,
        description=f"At most {BOARD_METADATA_MAX_BYTES} bytes of JSON (no NUL characters).",
    )
    tie_mode: TieMode | None = None
    tiers: list[Tier] | None = Field(
        default=None, description="The new tiers, best first (`null` clears them)."
    )

    @field_validator("tiers")
    @classmethod
    def _tiers_ordered(cls, tiers: list[Tier] | None) -> list[Tier] | None:
        return check_tiers(tiers)


class RollSeason(_Body):
    """Start a new season; without ``season`` the schedule's (or ``s<N+1>``) is used."""

    season: SeasonIdField | None = None


# --- score writes (players and servers) -----------------------------------------------


class ScoreLine(_Body):
    """One score of a batch."""

    player: PlayerIdField = Field(description="The player id: 1-128 of `[A-Za-z0-9_.:@-]`.")
    score: int = Field(ge=SCORE_MIN, le=SCORE_MAX, description="A signed 64-bit integer.")
    metadata: dict[str, Any] | None = Field(
        default=None,
        description=f"At most {ENTRY_METADATA_MAX_BYTES} bytes of JSON; goes with the score "
        "when the score is taken.",
    )


class SubmitScores(_Body):
    """A batch of scores from a game server, applied all or nothing in one transaction."""

    submission_id: SubmissionIdField | None = Field(
        default=None,
        description="An idempotency key of 1-128 `[A-Za-z0-9_.:-]`, the server token's own: "
        "a retry with the same id and scores replays the first result; other scores under "
        "it are a `submission_conflict`.",
    )
    scores: list[ScoreLine] = Field(
        min_length=1,
        max_length=BATCH_MAX,
        description=f"1 to {BATCH_MAX} scores, each player once (the body: at most 6,000,000 "
        "bytes).",
    )


class ScoresAck(_Wire):
    """What a committed submit answers: the WebSocket ack's fields."""

    board: str
    submission_id: str | None = None
    seq: int = Field(
        ge=0,
        description="The board seq the write was numbered with: reads with `min_seq` set to "
        "it, and WebSocket states with this seq or later, reflect it.",
    )
    results: list[AckResult] = Field(description="Each player's standing, in rank order.")


class SetMetadata(_Body):
    """An entry's metadata, replaced without a new score (`null` clears it)."""

    metadata: dict[str, Any] | None = Field(
        description=f"At most {ENTRY_METADATA_MAX_BYTES} bytes of JSON."
    )


# --- snapshot bodies ------------------------------------------------------------------


class Entry(_Wire):
    """One ladder entry with its exact rank (1 is first), its display rank by the board's
    tie mode, its percentile and its tier."""

    player_id: str
    score: int
    rank: int = Field(ge=1, description="The exact position in the total order.")
    display_rank: int = Field(
        ge=1,
        description="The rank to show, by the board's `tie_mode`: the exact rank "
        "(`ordinal`), 1 + the entries with a better score (`competition`) or 1 + the "
        "distinct better scores (`dense`).",
    )
    percentile: float = Field(
        ge=0, le=100,
        description="The share of the ladder ranked at or below `rank`, in percent, "
        "rounded to 4 decimals: 100 * (total - rank + 1) / total.",
    )  # fmt: skip
    tier: str | None = Field(
        default=None, description="The first of the board's tiers this rank is within."
    )
    achieved_at: datetime
    updates: int
    metadata: dict[str, Any] | None = None

    @classmethod
    def of(cls, entry: RankedEntry) -> Entry:
        return cls(
            player_id=entry.player_id, score=entry.score, rank=entry.rank,
            display_rank=entry.display_rank or entry.rank,
            percentile=entry.percentile if entry.percentile is not None else 0.0,
            tier=entry.tier, achieved_at=utc(entry.achieved_at), updates=entry.updates,
            metadata=entry.metadata,
        )  # fmt: skip


class FriendEntry(Entry):
    """An entry of a friends look-up: its global ``rank`` and its place among the friends."""

    friend_rank: int = Field(ge=1)


class BoardSummary(_Wire):
    id: str
    order: SortOrder
    policy: UpdatePolicy
    season: str = Field(description="The current season.")
    as_of_seq: int = Field(ge=0)


class BoardList(_Wire):
    boards: list[BoardSummary]


class BoardDetail(_Wire):
    """A board's settings and one season's entry count, as of ``as_of_seq``."""

    id: str
    order: SortOrder
    policy: UpdatePolicy
    min_score: int
    max_score: int
    reset: ResetSchedule | None
    metadata: dict[str, Any]
    tie_mode: TieMode
    tiers: list[Tier] | None
    all_time: bool
    created_at: datetime
    current_season: str
    season: str = Field(description="The season `entries` counts (the current one by default).")
    entries: int = Field(ge=0)
    as_of_seq: int = Field(ge=0)
    next_reset_at: datetime | None = Field(
        description="When the current season ends and the next starts (UTC); null when the "
        "board never resets, and for a past season or the all-time ladder."
    )


class SeasonInfo(_Wire):
    season: str
    started_at: datetime
    ended_at: datetime | None
    entries: int = Field(ge=0)
    next_reset_at: datetime | None = Field(
        description="When the current season ends and the next starts (UTC); null when the "
        "board never resets, and for a past season or the all-time ladder."
    )


class SeasonList(_Wire):
    board: str
    seasons: list[SeasonInfo]
    next_reset_at: datetime | None = Field(
        description="When the board's current season ends (UTC); null if it never resets."
    )


class _Snapshot(_Wire):
    board: str
    season: str
    as_of_seq: int = Field(ge=0, description="The board sequence number this snapshot includes.")
    total: int = Field(ge=0, description="Entries in the season.")
    next_reset_at: datetime | None = Field(
        description="When the current season ends and the next starts (UTC); null when the "
        "board never resets, and for a past season or the all-time ladder."
    )


class TopPage(_Snapshot):
    entries: list[Entry]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class PlayerStanding(_Snapshot):
    entry: Entry
    percentile: float = Field(ge=0, le=100)


class AroundPage(_Snapshot):
    player: str
    entries: list[Entry]
    prev_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the entries above these, at this `as_of_seq`; "
        "null at the top.",
    )
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the entries below these, at this `as_of_seq`; "
        "null at the bottom.",
    )


class FriendsPage(_Snapshot):
    entries: list[FriendEntry] = Field(
        description="The listed players with an entry, in rank order."
    )
    missing: list[str] = Field(description="Listed players without an entry in this season.")


# --- moderation (admin) ----------------------------------------------------------------

Reason = Annotated[str, StringConstraints(min_length=1, max_length=REASON_MAX_CHARS)]
AUDIT_PLAYER_PATTERN: Final = rf"^(~erased-[0-9a-f]{{32}}|{_PLAYER_CHARS})$"


class ModerationParams(_Params):
    """Who is moderated, and why (``reason`` here or in the body)."""

    player: PlayerIdField = Field(description="The player id.", examples=["p001"])
    reason: Reason | None = Field(
        default=None, description=f"Why, for the audit log: 1-{REASON_MAX_CHARS} characters."
    )


class BoardModerationParams(ModerationParams):
    board: BoardIdField = Field(description="The board id.", examples=["arena"])


class RemoveEntryParams(BoardModerationParams):
    season: SeasonIdField | None = Field(
        default=None, description="The season to remove from; the current one when absent."
    )


class ModerationBody(_Body):
    """An optional body of a moderation request (it may be absent)."""

    reason: Reason | None = Field(
        default=None, description=f"Why, for the audit log: 1-{REASON_MAX_CHARS} characters."
    )


class AuditParams(_Params):
    player: Annotated[str, StringConstraints(pattern=AUDIT_PLAYER_PATTERN)] | None = Field(
        default=None,
        description="Only this player's records (a player id, or an erased player's "
        "`audit_player` pseudonym).",
    )
    board: BoardIdField | None = Field(default=None, description="Only this board's records.")
    limit: int = Field(default=50, ge=1, le=AUDIT_PAGE_MAX, description="Records per page.")
    cursor: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,19}$")] | None = Field(
        default=None, description="The opaque `next_cursor` of the previous page."
    )


class PlayerLookupParams(_Params):
    player: PlayerIdField = Field(description="The player id.", examples=["p001"])


class PlayerLadderEntry(_Wire):
    board: str
    season: str
    score: int
    rank: int = Field(ge=1)
    total: int = Field(ge=1)


class PlayerHiddenEntry(_Wire):
    board: str
    season: str
    score: int


class PlayerBanInfo(_Wire):
    board: str | None = Field(description="The board; null for every board.")
    since: datetime
    reason: str | None


class PlayerLookup(_Wire):
    """A player across every board and season (admin)."""

    player_id: str
    entries: list[PlayerLadderEntry]
    bans: list[PlayerBanInfo]
    hidden_entries: list[PlayerHiddenEntry] = Field(
        description="Entries a ban keeps out of the ladders until it is lifted."
    )


__all__ = [
    "PAGE_MAX",
    "AroundPage",
    "AroundParams",
    "AuditEntry",
    "AuditPage",
    "AuditParams",
    "BanState",
    "BoardDetail",
    "BoardList",
    "BoardModerationParams",
    "BoardParams",
    "BoardSummary",
    "ConfigureBoard",
    "CreateBoard",
    "Entry",
    "ErasureReport",
    "FriendEntry",
    "FriendsPage",
    "FriendsParams",
    "ModerationBody",
    "ModerationParams",
    "NoParams",
    "PlayerBanInfo",
    "PlayerHiddenEntry",
    "PlayerLadderEntry",
    "PlayerLookup",
    "PlayerLookupParams",
    "PlayerParams",
    "PlayerStanding",
    "Problem",
    "RemoveEntryParams",
    "RemovedEntry",
    "RollSeason",
    "ScoreLine",
    "ScoresAck",
    "SeasonInfo",
    "SeasonList",
    "SeasonParams",
    "SetMetadata",
    "SubmitScores",
    "TopPage",
    "TopParams",
]
