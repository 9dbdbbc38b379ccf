"""Moderation and data rights: what removals, bans, erasures and the audit log answer.

I/O-free value types; the rules themselves run in PostgreSQL (db/functions/lb_remove_entry,
lb_ban, lb_unban, lb_erase_player) and ``db/moderation.py`` calls them. A ban hides a
player's entries by moving them out of the ladder (so ranks and totals never filter),
and an unban moves them back unchanged; see docs/moderation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

REASON_MAX_CHARS: Final = 500
"""A moderation reason: at most this many characters."""
AUDIT_PAGE_MAX: Final = 200
"""At most this many audit records in one page."""
ERASED_PREFIX: Final = "~erased-"
"""Pseudonyms of erased players start with this (``~`` is never in a player id)."""


class ModerationAction(StrEnum):
    REMOVE_ENTRY = "remove_entry"
    BAN = "ban"
    UNBAN = "unban"
    ERASE_PLAYER = "erase_player"


def is_erased(player: str) -> bool:
    """Whether a player id in the change feed is an erased player's pseudonym."""
    return player.startswith(ERASED_PREFIX)


@dataclass(frozen=True)
class Removal:
    """An entry removed from one ladder."""

    board: str
    season: str
    player: str
    score: int | None  # None when only a banned player's hidden entry was removed
    seq: int


@dataclass(frozen=True)
class BanChange:
    """A ban put or lifted: whether it changed anything, and the entries it moved."""

    player: str
    board: str | None  # None: every board
    changed: bool
    entries: int
    seq: dict[str, int]


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed, per kind, and the pseudonym its audit record names."""

    pseudonym: str
    removed: dict[str, int]
    seq: dict[str, int]


@dataclass(frozen=True)
class AuditRecord:
    audit_id: int
    at: datetime
    actor: str
    action: ModerationAction
    board: str | None
    player: str
    season: str | None
    reason: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class PlayerEntry:
    """One of a player's entries: board, season, score, exact rank and the ladder's size."""

    board: str
    season: str
    score: int
    rank: int
    total: int


@dataclass(frozen=True)
class PlayerBan:
    board: str | None
    since: datetime
    reason: str | None


@dataclass(frozen=True)
class PlayerRecord:
    """An admin's look-up of one player: every entry in every ladder, and every ban."""

    player: str
    entries: list[PlayerEntry]
    bans: list[PlayerBan]
    hidden: list[tuple[str, str, int]]  # (board, season, score) a ban keeps aside


# --- what the REST routes and the WebSocket actions answer ------------------------------


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RemovedEntry(_Reply):
    """An entry removed: everyone behind it moved up by one, as of ``seq``."""

    board: str
    season: str
    player: str
    score: int | None = Field(
        description="The removed entry's score; null when only a banned player's hidden "
        "entry was removed."
    )
    seq: int = Field(ge=0, description="Reads with `min_seq` set to it reflect the removal.")


class BanState(_Reply):
    """A ban put or lifted."""

    player: str
    board: str | None = Field(description="The board; null for every board.")
    banned: bool = Field(description="Whether this ban is in place after the request.")
    changed: bool = Field(
        description="Whether the request changed anything (a new ban, or one lifted)."
    )
    entries: int = Field(ge=0, description="Entries hidden (ban) or brought back (unban).")
    seq: dict[str, int] = Field(
        description="Per board whose ladders changed: the board seq that reflects it."
    )


class ErasureReport(_Reply):
    """What an erasure removed, per kind (docs/moderation.md)."""

    player: str
    audit_player: str = Field(
        description="The pseudonym the audit log keeps for the erased player."
    )
    removed: dict[str, int] = Field(
        description="Counts per kind: entries, hidden_entries, bans, submissions, "
        "connections, subscriptions, events, audit_records."
    )
    seq: dict[str, int]


class AuditEntry(_Reply):
    id: int
    at: datetime
    actor: str = Field(description="The admin token's subject.")
    action: ModerationAction
    board: str | None = Field(description="The board; null for every board.")
    player: str
    season: str | None
    reason: str | None
    detail: dict[str, Any]


class AuditPage(_Reply):
    records: list[AuditEntry] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def removed_entry(removal: Removal) -> RemovedEntry:
    return RemovedEntry(
        board=removal.board, season=removal.season, player=removal.player,
        score=removal.score, seq=removal.seq,
    )  # fmt: skip


def ban_state(change: BanChange, *, banned: bool) -> BanState:
    return BanState(
        player=change.player, board=change.board, banned=banned, changed=change.changed,
        entries=change.entries, seq=change.seq,
    )  # fmt: skip


def erasure_report(player: str, erasure: Erasure) -> ErasureReport:
    return ErasureReport(
        player=player, audit_player=erasure.pseudonym, removed=erasure.removed,
        seq=erasure.seq,
    )  # fmt: skip


def audit_page(records: list[AuditRecord], *, limit: int) -> AuditPage:
    """A page of the audit log; its cursor continues below the last record shown."""
    return AuditPage(
        records=[
            AuditEntry(
                id=r.audit_id,
                at=r.at.astimezone(UTC),
                actor=r.actor,
                action=r.action,
                board=r.board,
                player=r.player,
                season=r.season,
                reason=r.reason,
                detail=r.detail,
            )
            for r in records
        ],
        next_cursor=str(records[-1].audit_id) if len(records) == limit else None,
    )
