"""The REST routes of moderation and data rights (admin): typed inputs in, models out.

Each route is one call of :class:`db.moderation.Moderation`; the actor of every action is
the admin token's subject, and its reason comes from the query (``?reason=``) or the
optional body (``{"reason": ...}``), the body's winning. See docs/moderation.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.auth import Principal
from core.moderation import BanChange
from db.moderation import Moderation
from rest.models import (
    AuditEntry,
    AuditPage,
    AuditParams,
    BanState,
    BoardModerationParams,
    ErasureReport,
    ModerationBody,
    ModerationParams,
    PlayerBanInfo,
    PlayerHiddenEntry,
    PlayerLadderEntry,
    PlayerLookup,
    PlayerLookupParams,
    RemovedEntry,
    RemoveEntryParams,
    utc,
)

if TYPE_CHECKING:
    from rest.api import RestServices


def _moderation(svc: RestServices) -> Moderation:
    return Moderation(svc.store.pool)


def _reason(p: ModerationParams, body: ModerationBody | None) -> str | None:
    return body.reason if body is not None and body.reason is not None else p.reason


def _ban_state(change: BanChange, *, banned: bool) -> BanState:
    return BanState(
        player=change.player, board=change.board, banned=banned, changed=change.changed,
        entries=change.entries, seq=change.seq,
    )  # fmt: skip


async def remove_entry(
    p: RemoveEntryParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> RemovedEntry:
    removed = await _moderation(svc).remove_entry(
        p.board, p.player, season=p.season, actor=principal.subject, reason=_reason(p, body)
    )
    return RemovedEntry(
        board=removed.board, season=removed.season, player=removed.player,
        score=removed.score, seq=removed.seq,
    )  # fmt: skip


async def ban_on_board(
    p: BoardModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> BanState:
    change = await _moderation(svc).ban(
        p.player, board=p.board, actor=principal.subject, reason=_reason(p, body)
    )
    return _ban_state(change, banned=True)


async def unban_on_board(
    p: BoardModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> BanState:
    change = await _moderation(svc).unban(
        p.player, board=p.board, actor=principal.subject, reason=_reason(p, body)
    )
    return _ban_state(change, banned=False)


async def ban_everywhere(
    p: ModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> BanState:
    change = await _moderation(svc).ban(
        p.player, board=None, actor=principal.subject, reason=_reason(p, body)
    )
    return _ban_state(change, banned=True)


async def unban_everywhere(
    p: ModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> BanState:
    change = await _moderation(svc).unban(
        p.player, board=None, actor=principal.subject, reason=_reason(p, body)
    )
    return _ban_state(change, banned=False)


async def erase_player(
    p: ModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> ErasureReport:
    erasure = await _moderation(svc).erase(
        p.player, actor=principal.subject, reason=_reason(p, body)
    )
    return ErasureReport(
        player=p.player, audit_player=erasure.pseudonym, removed=erasure.removed,
        seq=erasure.seq,
    )  # fmt: skip


async def list_audit(p: AuditParams, body: None, svc: RestServices) -> AuditPage:
    before = int(p.cursor) if p.cursor is not None else None
    records = await _moderation(svc).audit(
        player=p.player, board=p.board, before=before, limit=p.limit
    )
    return AuditPage(
        records=[
            AuditEntry(
                id=r.audit_id,
                at=utc(r.at),
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
        next_cursor=str(records[-1].audit_id) if len(records) == p.limit else None,
    )


async def lookup_player(p: PlayerLookupParams, body: None, svc: RestServices) -> PlayerLookup:
    record = await _moderation(svc).player(p.player)
    return PlayerLookup(
        player_id=record.player,
        entries=[
            PlayerLadderEntry(
                board=e.board, season=e.season, score=e.score, rank=e.rank, total=e.total
            )
            for e in record.entries
        ],
        bans=[
            PlayerBanInfo(board=b.board, since=utc(b.since), reason=b.reason) for b in record.bans
        ],
        hidden_entries=[
            PlayerHiddenEntry(board=board, season=season, score=score)
            for board, season, score in record.hidden
        ],
    )
