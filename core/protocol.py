"""The WebSocket wire protocol: every client message and server frame, as pydantic models.

Client messages are JSON objects with an ``action`` (API Gateway routes on
``$request.body.action``) and an optional ``request_id`` echoed in the reply:

    submit       {"action": "submit", "board": "arena", "score": 1200,
                  "player": "alice"?, "submission_id": "m42-alice"?, "metadata": {...}?}
                 {"action": "submit", "board": "arena", "submission_id": "m42",
                  "scores": [{"player": "alice", "score": 1200}, ...]}       (server role)
    subscribe    {"action": "subscribe", "board": "arena", "view": "top", "n": 10}
                 {"action": "subscribe", "board": "arena", "view": "around",
                  "player": "alice", "k": 5}
                 {"action": "subscribe", "board": "arena", "view": "me"}
    unsubscribe  {"action": "unsubscribe", "view_id": "top:arena:s1:10"}

Admin tokens also moderate (docs/moderation.md), with the REST routes' names and answers:

    remove_entry {"action": "remove_entry", "board": "arena", "player": "mallory",
                  "season": "s1"?, "reason": "..."?}
    ban, unban   {"action": "ban", "player": "mallory", "board": "arena"?, "reason": "..."?}
                 (no board: every board)
    erase_player {"action": "erase_player", "player": "mallory", "reason": "..."?}
    audit        {"action": "audit", "player": "mallory"?, "board": "arena"?, "limit": 50?,
                  "cursor": "..."?}

Server frames carry a ``type``: ``ack``, ``snapshot``, ``update``, ``unsubscribed``,
``moderated`` or ``error``. Every ``snapshot`` and ``update`` carries ``seq``: the board sequence number the
state reflects. Scores are strict 64-bit integers: floats, NaN, Infinity, booleans and
out-of-range integers are refused with an ``error`` frame.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, ValidationError

from core.boards import SCORE_MAX, SCORE_MIN, Tier, tier_for
from core.errors import BadRequest, LeaderboardError, PayloadTooLarge
from core.ids import PLAYER_PATTERN, BoardIdField, PlayerIdField, SeasonIdField, SubmissionIdField
from core.moderation import (
    AUDIT_PAGE_MAX,
    ERASED_PREFIX,
    REASON_MAX_CHARS,
    AuditPage,
    BanState,
    ErasureReport,
    RemovedEntry,
)
from core.ranking import RankedEntry, SubmitResult, percentile
from core.views import Ticker

MODERATION_ACTIONS: Final = ("remove_entry", "ban", "unban", "erase_player", "audit")
ACTIONS: Final = ("submit", "subscribe", "unsubscribe", *MODERATION_ACTIONS)
ROUTES: Final = ("$connect", "$disconnect", *ACTIONS, "$default")

Score = Annotated[
    StrictInt,
    Field(
        ge=SCORE_MIN,
        le=SCORE_MAX,
        description="A signed 64-bit integer in [-(2^63 - 1), 2^63 - 1].",
    ),
]
RequestId = Annotated[
    str, Field(min_length=1, max_length=64, description="Echoed in the reply: 1-64 characters.")
]
Metadata = Annotated[
    dict[str, Any],
    Field(
        description="A JSON object of at most 1,024 bytes (Settings.metadata_max_bytes) as "
        "compact JSON; kept with the score that stands."
    ),
]


class _Message(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    request_id: RequestId | None = None


class ScoreItem(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    player: PlayerIdField
    score: Score
    metadata: Metadata | None = None


class SubmitMessage(_Message):
    action: Literal["submit"]
    board: BoardIdField
    score: Score | None = None
    player: PlayerIdField | None = None
    metadata: Metadata | None = None
    scores: (
        Annotated[
            list[ScoreItem],
            Field(
                min_length=1,
                description="A batch (server role): 1-1,000 scores (Settings.batch_max), each "
                "player once, in a message of at most 32,768 bytes (Settings.batch_max_bytes).",
            ),
        ]
        | None
    ) = None
    submission_id: SubmissionIdField | None = Field(
        default=None,
        description="Idempotency key, the submitter's own: 1-128 of [A-Za-z0-9_.:-].",
    )


class SubscribeMessage(_Message):
    action: Literal["subscribe"]
    board: BoardIdField
    season: SeasonIdField | None = None
    view: Literal["top", "around", "me"]
    n: Annotated[
        StrictInt, Field(ge=1, description="top: 1-100 entries (Settings.view_top_max).")
    ] = 10
    player: PlayerIdField | None = None
    k: Annotated[StrictInt, Field(ge=0, le=50, description="around: entries on each side.")] = 5


class UnsubscribeMessage(_Message):
    action: Literal["unsubscribe"]
    view_id: Annotated[str, Field(min_length=1, max_length=256)]


Reason = Annotated[
    str,
    Field(min_length=1, max_length=REASON_MAX_CHARS, description="Why, for the audit log."),
]
AuditPlayer = Annotated[
    str,
    Field(
        pattern=rf"^({ERASED_PREFIX}[0-9a-f]{{32}}|{PLAYER_PATTERN.strip('^$')})$",
        description="A player id, or an erased player's pseudonym (`audit_player`).",
    ),
]


class RemoveEntryMessage(_Message):
    """Remove a player's entry from a ladder (admin)."""

    action: Literal["remove_entry"]
    board: BoardIdField
    player: PlayerIdField
    season: SeasonIdField | None = None
    reason: Reason | None = None


class BanMessage(_Message):
    """Ban a player on a board, or on every board without ``board`` (admin)."""

    action: Literal["ban"]
    player: PlayerIdField
    board: BoardIdField | None = None
    reason: Reason | None = None


class UnbanMessage(_Message):
    """Lift a player's ban on a board, or their ban on every board (admin)."""

    action: Literal["unban"]
    player: PlayerIdField
    board: BoardIdField | None = None
    reason: Reason | None = None


class ErasePlayerMessage(_Message):
    """Erase a player everywhere (admin)."""

    action: Literal["erase_player"]
    player: PlayerIdField
    reason: Reason | None = None


class AuditMessage(_Message):
    """A page of the moderation audit log, newest first (admin)."""

    action: Literal["audit"]
    player: AuditPlayer | None = None
    board: BoardIdField | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=AUDIT_PAGE_MAX)] = 50
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,19}$")] | None = None


ModerationMessage = (
    RemoveEntryMessage | BanMessage | UnbanMessage | ErasePlayerMessage | AuditMessage
)
ClientMessage = Annotated[
    SubmitMessage | SubscribeMessage | UnsubscribeMessage | ModerationMessage,
    Field(discriminator="action"),
]


@functools.cache
def _client() -> TypeAdapter[ClientMessage]:
    """The client messages' validator, built on the first message (not at import: a cold
    start builds only the models its first route uses)."""
    return TypeAdapter(ClientMessage)


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"JSON must not contain {name}; scores are integers", code="invalid_number")


def decode_body(body: str | None, *, max_bytes: int) -> dict[str, Any]:
    """The message body as a JSON object, refusing NaN/Infinity, non-objects and oversize."""
    if body is None or body == "":
        raise BadRequest("empty message: expected a JSON object", code="invalid_json")
    size = len(body.encode())
    if size > max_bytes:
        raise PayloadTooLarge(
            f"message must be at most {max_bytes} bytes, got {size}", code="message_too_large"
        )
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"message is not valid JSON: {exc.msg}", code="invalid_json") from exc
    except RecursionError:
        raise BadRequest(
            "message is not valid JSON: nested too deeply", code="invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise BadRequest(
            f"message must be a JSON object, got {type(data).__name__}", code="not_an_object"
        )
    return data


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "message"
        got = err.get("input")
        shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
        parts.append(f"{where}: {err['msg']} (got {shown[:80]})")
    return "; ".join(parts)


def parse_client_message(
    body: str | None, *, max_bytes: int
) -> SubmitMessage | SubscribeMessage | UnsubscribeMessage | ModerationMessage:
    """Validate a client message; raises BadRequest naming what was expected and what came."""
    data = decode_body(body, max_bytes=max_bytes)
    action = data.get("action")
    if action is None:
        raise BadRequest(
            f"missing action: expected one of {', '.join(ACTIONS)}",
            code="missing_action", valid_actions=list(ACTIONS),
        )  # fmt: skip
    if action not in ACTIONS:
        raise BadRequest(
            f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}",
            code="unknown_action", valid_actions=list(ACTIONS),
        )  # fmt: skip
    try:
        return _client().validate_python(data)
    except ValidationError as exc:
        raise BadRequest(f"invalid {action} message: {_describe(exc)}", code=_code_of(exc)) from exc


_RANGE_ERRORS: Final = frozenset({"less_than_equal", "greater_than_equal"})


def _code_of(exc: ValidationError) -> str:
    """``score_out_of_range`` for an integer score outside int64 (a whole or batch
    submit's ``score``), else ``invalid_message``."""
    first = exc.errors(include_url=False)[0]
    if first["loc"] and first["loc"][-1] == "score" and first["type"] in _RANGE_ERRORS:
        return "score_out_of_range"
    return "invalid_message"


def request_id_of(body: str | None) -> str | None:
    """Best-effort request id of a message that failed validation, to echo in the error."""
    try:
        data = json.loads(body or "", parse_constant=lambda _: None)
    except (TypeError, ValueError, RecursionError):
        return None
    rid = data.get("request_id") if isinstance(data, dict) else None
    return rid if isinstance(rid, str) and 0 < len(rid) <= 64 else None


# --- server frames --------------------------------------------------------------


class _Frame(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)


class AckResult(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    player: str
    score: int
    rank: int | None
    total: int | None
    improved: bool
    replayed: bool = False
    percentile: float | None = Field(
        default=None,
        description="The share of the ladder at or below `rank`, in percent (4 decimals); "
        "absent without a rank.",
    )

    @classmethod
    def of(cls, result: SubmitResult) -> AckResult:
        """A submit's result for one player as an ack reports it."""
        shown = (
            None if result.rank is None or not result.total
            else percentile(result.rank, result.total)
        )  # fmt: skip
        return cls(
            player=result.player_id, score=result.score, rank=result.rank, total=result.total,
            improved=result.improved, replayed=result.replayed, percentile=shown,
        )  # fmt: skip


class AckFrame(_Frame):
    """The reply to a submit, sent after its transaction committed."""

    type: Literal["ack"] = "ack"
    request_id: str | None = None
    board: str
    submission_id: str | None = None
    seq: int = Field(
        ge=0,
        description="The board seq this write was numbered with: the seq of its last change "
        "event, so every snapshot and update of the board with this seq or a later one "
        "reflects it, and none with a lower one does. A "
        "write that moved no entry has no event: then the board's seq when it was acked. "
        "A replay answers the first write's seq. Pass it as `min_seq` to a REST read.",
    )
    results: list[AckResult]


class ViewEntry(BaseModel):
    """An entry of a view: its exact rank, its display rank by the board's tie mode, its
    percentile (of the exact rank) and its tier (absent when none applies)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    player: str
    score: int
    rank: int
    display_rank: int
    percentile: float
    tier: str | None = None


class SnapshotFrame(_Frame):
    """A view's full state; sent on subscribe and on resync."""

    type: Literal["snapshot"] = "snapshot"
    request_id: str | None = None
    view_id: str
    board: str
    season: str
    view: Literal["top", "around", "me"]
    seq: int
    total: int
    entries: list[ViewEntry] = Field(default_factory=list)
    me: ViewEntry | None = None
    next_reset_at: datetime | None = Field(
        default=None,
        description="When the current season ends and the next starts (UTC); absent when "
        "the board never resets, and for a past season or the all-time ladder.",
    )


class UpdateFrame(_Frame):
    """A view's new state after changes; ``prev_seq`` is the seq of the previous frame of
    this view on this connection, so a client detects any gap."""

    type: Literal["update"] = "update"
    view_id: str
    board: str
    season: str
    view: Literal["top", "around", "me"]
    seq: int
    prev_seq: int
    total: int
    entries: list[ViewEntry] = Field(default_factory=list)
    me: ViewEntry | None = None

    @staticmethod
    def dump_ticker(
        *,
        view_id: str,
        board: str,
        season: str,
        seq: int,
        prev_seq: int,
        total: int,
        me: ViewEntry | None,
    ) -> str:
        """``UpdateFrame(view="me", ...).dump()`` for the broadcaster's hot path (one per
        ticker per round), without building models: the same JSON, field for field."""
        frame: dict[str, Any] = {
            "type": "update", "view_id": view_id, "board": board, "season": season,
            "view": "me", "seq": seq, "prev_seq": prev_seq, "total": total, "entries": [],
        }  # fmt: skip
        if me is not None:
            frame["me"] = me.model_dump(exclude_none=True)
        return pydantic_core.to_json(frame).decode()


class UnsubscribedFrame(_Frame):
    type: Literal["unsubscribed"] = "unsubscribed"
    request_id: str | None = None
    view_id: str


class ModeratedFrame(_Frame):
    """The reply to a moderation action, after its transaction committed: the same body
    as the REST route of the same name answers."""

    type: Literal["moderated"] = "moderated"
    request_id: str | None = None
    action: Literal["remove_entry", "ban", "unban", "erase_player", "audit"]
    result: RemovedEntry | BanState | ErasureReport | AuditPage

    def dump(self) -> str:
        """The frame with ``result`` whole, nulls included, as the REST route answers it."""
        return self.model_dump_json(exclude={"request_id"} if self.request_id is None else None)


class ErrorFrame(_Frame):
    type: Literal["error"] = "error"
    request_id: str | None = None
    error: dict[str, Any]

    @classmethod
    def of(cls, exc: LeaderboardError, request_id: str | None = None) -> ErrorFrame:
        return cls(request_id=request_id, error=exc.to_dict())


def view_entry(entry: RankedEntry) -> ViewEntry:
    return ViewEntry(
        player=entry.player_id, score=entry.score, rank=entry.rank,
        display_rank=entry.display_rank or entry.rank,
        percentile=entry.percentile if entry.percentile is not None else 0.0, tier=entry.tier,
    )  # fmt: skip


def ticker_entry(ticker: Ticker, tiers: list[Tier] | None) -> ViewEntry | None:
    """A ticker's own entry as a view shows it (None while the player has no entry)."""
    if ticker.rank is None or ticker.score is None:
        return None
    return ViewEntry(
        player=ticker.player_id, score=ticker.score, rank=ticker.rank,
        display_rank=ticker.display_rank or ticker.rank,
        percentile=percentile(ticker.rank, ticker.total),
        tier=tier_for(ticker.rank, ticker.total, tiers),
    )  # fmt: skip


def view_id_for(kind: str, board: str, season: str, *, n: int, player: str | None, k: int) -> str:
    """A subscription's id on its connection: the same view twice is one subscription."""
    if kind == "top":
        return f"top:{board}:{season}:{n}"
    if kind == "around":
        return f"around:{board}:{season}:{player}:{k}"
    return f"me:{board}:{season}"
