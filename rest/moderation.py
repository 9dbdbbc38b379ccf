"""The REST routes of moderation and data rights (admin): typed inputs in, models out.

Each route is one call of :class:`db.moderation.Moderation`; the actor of every action is
the admin token's subject, and its reason comes from the query (``?reason=``) or the
optional body (``{"reason": ...}``), the body's winning. See docs/moderation.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.auth import Principal
from core.moderation import (
    AuditPage,
    BanState,
    ErasureReport,
    RemovedEntry,
    audit_page,
    ban_state,
    erasure_report,
    removed_entry,
)
from db.moderation import Moderation
from rest.models import (
    AuditParams,
    BoardModerationParams,
    ModerationBody,
    ModerationParams,
    PlayerBanInfo,
    PlayerHiddenEntry,
    PlayerLadderEntry,
    PlayerLookup,
    PlayerLookupParams,
    RemoveEntryParams,
    utc,
)

if TYPE_CHECKING:
    from rest.api import RestServices


def _moderation(svc: RestServices) -> Moderation:
    return Moderation(svc.store.pool)


def _reason(p: ModerationParams, body: ModerationBody | None) -> str | None:
    return body.reason if body is not None and body.reason is not None else p.reason


async def remove_entry(
    p: RemoveEntryParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> RemovedEntry:
    removal = await _moderation(svc).remove_entry(
        p.board, p.player, season=p.season, actor=principal.subject, reason=_reason(p, body)
    )
    return removed_entry(removal)


async def ban_on_board(
    p: BoardModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> BanState:
    change = await _moderation(svc).ban(
        p.player, board=p.board, actor=principal.subject, reason=_reason(p, body)
    )
    return ban_state(change, banned=True)


async def unban_on_board(
    p: BoardModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> BanState:
    change = await _moderation(svc).unban(
        p.player, board=p.board, actor=principal.subject, reason=_reason(p, body)
    )
    return ban_state(change, banned=False)


async def ban_everywhere(
    p: ModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> BanState:
    change = await _moderation(svc).ban(
        p.player, board=None, actor=principal.subject, reason=_reason(p, body)
    )
    return ban_state(change, banned=True)


async def unban_everywhere(
    p: ModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> BanState:
    change = await _moderation(svc).unban(
        p.player, board=None, actor=principal.subject, reason=_reason(p, body)
    )
    return ban_state(change, banned=False)


async def erase_player(
    p: ModerationParams, body: ModerationBody | None, svc: RestServices, principal: Principal
) -> ErasureReport:
    erasure = await _moderation(svc).erase(
        p.player, actor=principal.subject, reason=_reason(p, body)
    )
    return erasure_report(p.player, erasure)


async def list_audit(p: AuditParams, body: None, svc: RestServices) -> AuditPage:
    before = int(p.cursor) if p.cursor is not None else None
    records = await _moderation(svc).audit(
        player=p.player, board=p.board, before=before, limit=p.limit
    )
    return audit_page(records, limit=p.limit)


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
