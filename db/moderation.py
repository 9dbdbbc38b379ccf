"""Moderation over asyncpg: remove an entry, ban and unban, erase a player, the audit log
and the admin's player look-up.

Each action is one call of its SQL function (db/functions/lb_remove_entry.sql, lb_ban.sql,
lb_unban.sql, lb_erase_player.sql), so one transaction: the entries move with their exact
rank deltas and change events, and the audit record is written, together or not at all.
Once committed, the action's events are numbered on the same connection (lb_seq_of), as
a submit's are, so the answer can say from which board seq on every read reflects it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from core.errors import NotFound
from core.ids import board_id, player_id, season_id
from core.moderation import (
    AuditRecord,
    BanChange,
    Erasure,
    ModerationAction,
    PlayerBan,
    PlayerEntry,
    PlayerRecord,
    Removal,
)
from db.errors import translated

if TYPE_CHECKING:
    import asyncpg

REMOVE_ENTRY: Final = "SELECT * FROM lb_remove_entry($1, $2, $3, $4, $5)"
BAN: Final = "SELECT * FROM lb_ban($1, $2, $3, $4)"
UNBAN: Final = "SELECT * FROM lb_unban($1, $2, $3, $4)"
ERASE: Final = "SELECT * FROM lb_erase_player($1, $2, $3)"
SEQ_OF: Final = "SELECT lb_seq_of($1, $2)"
SELECT_BOARD: Final = "SELECT 1 FROM lb_board WHERE board_id = $1"

# Newest first; a page continues strictly below the last audit_id it showed.
LIST_AUDIT: Final = """
SELECT audit_id, at, actor, action, board_id, player_id, season, reason, detail
  FROM lb_audit
 WHERE ($1::bigint IS NULL OR audit_id < $1)
   AND ($2::text IS NULL OR player_id = $2)
   AND ($3::text IS NULL OR board_id = $3)
 ORDER BY audit_id DESC
 LIMIT $4"""

PLAYER_ENTRIES: Final = """
SELECT s.board_id, s.season, e.score,
       lb_count_before(e.season_no, e.sort_score, e.achieved_at, e.player_id) + 1 AS rank,
       lb_count_entries(e.season_no) AS total
  FROM lb_entry e JOIN lb_season s ON s.season_no = e.season_no
 WHERE e.player_id = $1
 ORDER BY s.board_id, s.started_at, s.season_no"""
PLAYER_HIDDEN: Final = """
SELECT s.board_id, s.season, h.score
  FROM lb_hidden_entry h JOIN lb_season s ON s.season_no = h.season_no
 WHERE h.player_id = $1
 ORDER BY s.board_id, s.started_at, s.season_no"""
PLAYER_BANS: Final = """
SELECT board_id, since, reason FROM lb_ban WHERE player_id = $1
 ORDER BY board_id NULLS FIRST"""


class Moderation:
    """The admin's moderation actions over the primary pool. Stateless."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def _numbered(
        self, conn: asyncpg.Connection, events: list[tuple[str, int]]
    ) -> dict[str, int]:
        """Number each board's committed events now; the board seq of each board's last."""
        seqs = {}
        for board, event in events:
            seqs[board] = int(await conn.fetchval(SEQ_OF, board, event) or 0)
        return seqs

    async def remove_entry(
        self, board: str, player: str, *, season: str | None, actor: str, reason: str | None
    ) -> Removal:
        """Remove a player's entry from a ladder; NotFound when there is none."""
        bid, pid = board_id(board), player_id(player)
        sid = season_id(season) if season is not None else None
        async with translated(), self.pool.acquire() as conn:
            row = await conn.fetchrow(REMOVE_ENTRY, bid, sid, pid, actor, reason)
            seqs = await self._numbered(
                conn, [(bid, row["last_event"])] if row["last_event"] is not None else []
            )
            if not seqs:
                seqs[bid] = int(await conn.fetchval(SEQ_OF, bid, None) or 0)
        return Removal(bid, row["season"], pid, row["score"], seqs[bid])

    async def ban(
        self, player: str, *, board: str | None, actor: str, reason: str | None
    ) -> BanChange:
        """Ban a player on a board (or every board): their entries leave every ladder."""
        return await self._ban(BAN, player, board=board, actor=actor, reason=reason)

    async def unban(
        self, player: str, *, board: str | None, actor: str, reason: str | None
    ) -> BanChange:
        """Lift a ban: the entries no other ban covers come back unchanged."""
        return await self._ban(UNBAN, player, board=board, actor=actor, reason=reason)

    async def _ban(
        self, sql: str, player: str, *, board: str | None, actor: str, reason: str | None
    ) -> BanChange:
        pid = player_id(player)
        bid = board_id(board) if board is not None else None
        async with translated(), self.pool.acquire() as conn:
            rows = await conn.fetch(sql, pid, bid, actor, reason)
            seqs = await self._numbered(
                conn, [(r["board_id"], r["last_event"]) for r in rows if r["board_id"]]
            )
        first = rows[0]
        return BanChange(pid, bid, bool(first[0]), int(first[1]), seqs)

    async def erase(self, player: str, *, actor: str, reason: str | None) -> Erasure:
        """Erase a player everywhere; what was removed, per kind."""
        pid = player_id(player)
        async with translated(), self.pool.acquire() as conn:
            rows = await conn.fetch(ERASE, pid, actor, reason)
            seqs = await self._numbered(
                conn, [(r["board_id"], r["last_event"]) for r in rows if r["board_id"]]
            )
        report = json.loads(rows[0]["report"])
        return Erasure(rows[0]["pseudonym"], {k: int(v) for k, v in report.items()}, seqs)

    async def audit(
        self,
        *,
        player: str | None = None,
        board: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[AuditRecord]:
        """Audit records, newest first, strictly before audit id ``before`` when given."""
        async with translated():
            rows = await self.pool.fetch(LIST_AUDIT, before, player, board, limit)
        return [_audit(r) for r in rows]

    async def player(self, player: str) -> PlayerRecord:
        """Every entry of a player (exact rank and total) and every ban; NotFound when the
        player has neither an entry, a hidden entry nor a ban."""
        pid = player_id(player)
        async with (
            translated(),
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            entries = await conn.fetch(PLAYER_ENTRIES, pid)
            hidden = await conn.fetch(PLAYER_HIDDEN, pid)
            bans = await conn.fetch(PLAYER_BANS, pid)
        if not entries and not hidden and not bans:
            raise NotFound(f"player {pid!r} has no entry and no ban", code="unknown_player")
        return PlayerRecord(
            pid,
            [PlayerEntry(r["board_id"], r["season"], r["score"], int(r["rank"]),
                         int(r["total"])) for r in entries],
            [PlayerBan(r["board_id"], r["since"], r["reason"]) for r in bans],
            [(r["board_id"], r["season"], int(r["score"])) for r in hidden],
        )  # fmt: skip


def _audit(r: asyncpg.Record) -> AuditRecord:
    detail: Any = r["detail"]
    return AuditRecord(
        audit_id=int(r["audit_id"]), at=r["at"], actor=r["actor"],
        action=ModerationAction(r["action"]), board=r["board_id"], player=r["player_id"],
        season=r["season"], reason=r["reason"],
        detail=json.loads(detail) if isinstance(detail, str) else dict(detail),
    )  # fmt: skip


__all__ = ["Moderation"]
