"""Moderation and data rights: what removals, bans, erasures and the audit log answer.

I/O-free value types; the rules themselves run in PostgreSQL (db/functions/lb_remove_entry,
lb_ban, lb_unban, lb_erase_player) and ``db/moderation.py`` calls them. A ban hides a
player's entries by moving them out of the ladder (so ranks and totals never filter),
and an unban moves them back unchanged; see docs/moderation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

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
