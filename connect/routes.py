"""Route logic for the WebSocket API, shared verbatim by the Lambdas and the local runtime.

Each route takes the typed event and the injected :class:`~db.services.Services`, does
one thing through the store, and replies through the :class:`~core.ports.Sender` port. Every
error, the client's or ours, becomes a typed ``error`` frame carrying the message's
``request_id`` and the connection stays open: a database that is down, failing over or
slow is ``unavailable`` (503, with ``retry_after_ms``), never API Gateway's untyped
"Internal server error". Failures of ours are logged once per cause per interval
(:class:`~core.throttle.FailureLog`), not once per message. A ``$connect`` that cannot
reach the database answers 503, so the upgrade is refused with a status a client retries.
A submit is acked only after its transaction committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connect.events import WebSocketEvent
from core.auth import Principal, Role, check_submit_for, require_role, submission_scope
from core.boards import ResetSchedule, next_reset_at
from core.conflation import ViewState
from core.errors import BadRequest, ClientError, ConnectionGone, LeaderboardError, PayloadTooLarge
from core.ids import PlayerId, SubmissionId
from core.moderation import audit_page, ban_state, erasure_report, removed_entry
from core.protocol import (
    ACTIONS,
    AckFrame,
    AckResult,
    AuditMessage,
    BanMessage,
    ErasePlayerMessage,
    ErrorFrame,
    ModeratedFrame,
    RemoveEntryMessage,
    SnapshotFrame,
    SubmitMessage,
    SubscribeMessage,
    UnbanMessage,
    UnsubscribedFrame,
    UnsubscribeMessage,
    parse_client_message,
    request_id_of,
    ticker_entry,
    view_entry,
    view_id_for,
)
from core.ranking import ScoreInput
from core.throttle import FailureLog
from core.views import view_digest
from db.connections import Subscription
from db.errors import as_service_error
from db.moderation import Moderation
from db.services import Services

log = logging.getLogger("leaderboard.connect")
failures = FailureLog(log)

OK: dict[str, Any] = {"statusCode": 200}


@dataclass(frozen=True)
class Snapshot:
    """A view's state as a subscribe (or resync) reads it: the frame for the client, and
    the state the broadcaster derives the view's next frames from."""

    frame: SnapshotFrame
    state: ViewState


async def on_connect(event: WebSocketEvent, svc: Services) -> dict[str, Any]:
    """Store the connection with its principal and expiry. Never posts to it (410 on AWS).
    A failure of ours refuses the upgrade with its status (503 while the database is down)."""
    try:
        await svc.connections.add(event.connection_id, event.principal())
    except ClientError:
        raise
    except Exception as exc:
        error = as_service_error(exc)
        failures.failed("$connect", exc, expected=not _unexpected(error))
        return {"statusCode": error.status}
    return OK


async def on_disconnect(event: WebSocketEvent, svc: Services) -> dict[str, Any]:
    """Delete the connection and, by cascade, its subscriptions. With the database down
    the row stays until its expiry (or, locally, the runtime's next start) removes it."""
    try:
        await svc.connections.remove(event.connection_id)
    except Exception as exc:
        error = as_service_error(exc)
        failures.failed("$disconnect", exc, expected=not _unexpected(error))
        return {"statusCode": error.status}
    return OK


async def _reply(svc: Services, event: WebSocketEvent, frame: str) -> None:
    try:
        await svc.sender.send(event.connection_id, frame)
    except ConnectionGone:
        log.info("connection %s left before its reply", event.connection_id)
        await svc.connections.remove(event.connection_id)


def _unexpected(error: LeaderboardError) -> bool:
    return error.code == "internal"


async def _guarded(event: WebSocketEvent, svc: Services, work: Any) -> dict[str, Any]:
    """Run a message route; every error becomes a typed error frame on the same connection,
    with the message's request id."""
    try:
        frame = await work
    except ClientError as exc:
        frame = ErrorFrame.of(exc, request_id_of(event.body)).dump()
    except Exception as exc:
        error = as_service_error(exc)
        failures.failed(f"route {event.route_key}", exc, expected=not _unexpected(error))
        frame = ErrorFrame.of(error, request_id_of(event.body)).dump()
    await _reply(svc, event, frame)
    return OK


async def _submit(event: WebSocketEvent, svc: Services) -> str:
    msg = parse_client_message(event.body, max_bytes=svc.settings.max_message_bytes)
    if not isinstance(msg, SubmitMessage):
        raise BadRequest(f"route submit got action {msg.action!r}", code="wrong_route")
    principal = event.principal()
    if msg.scores is not None:
        size = len((event.body or "").encode())
        if size > svc.settings.batch_max_bytes:
            raise PayloadTooLarge(
                f"a batch submit must be at most {svc.settings.batch_max_bytes} bytes (one "
                f"API Gateway frame), got {size}: split it (the SDK does)",
                code="batch_too_large", max_bytes=svc.settings.batch_max_bytes, got=size,
            )  # fmt: skip
    scores = _scores_of(msg, principal)
    results = await svc.store.submit(
        msg.board,
        scores,
        submission_id=SubmissionId(msg.submission_id) if msg.submission_id else None,
        submitter=submission_scope(principal),
    )
    return AckFrame(
        request_id=msg.request_id, board=msg.board, submission_id=msg.submission_id,
        seq=results[0].seq or 0, results=[
            AckResult.of(r) for r in results
        ],
    ).dump()  # fmt: skip


def _scores_of(msg: SubmitMessage, principal: Principal) -> list[ScoreInput]:
    if msg.scores is not None:
        if msg.score is not None or msg.player is not None:
            raise BadRequest(
                "a submit has either score (and player) or scores, not both", code="invalid_message"
            )
        for item in msg.scores:
            check_submit_for(principal, PlayerId(item.player), batch=True)
        return [ScoreInput(PlayerId(i.player), i.score, i.metadata) for i in msg.scores]
    if msg.score is None:
        raise BadRequest("a submit needs score (or scores for a batch)", code="invalid_message")
    player = msg.player or principal.player_id
    if player is None:
        raise BadRequest("this token has no player id: name the player", code="missing_player")
    check_submit_for(principal, PlayerId(player), batch=False)
    return [ScoreInput(PlayerId(player), msg.score, msg.metadata)]


async def _subscribe(event: WebSocketEvent, svc: Services) -> str:
    msg = parse_client_message(event.body, max_bytes=svc.settings.max_message_bytes)
    if not isinstance(msg, SubscribeMessage):
        raise BadRequest(f"route subscribe got action {msg.action!r}", code="wrong_route")
    principal = event.principal()
    snapshot = await snapshot_for(svc, msg, principal)
    frame = snapshot.frame
    sub = Subscription(
        connection_id=event.connection_id, view_id=frame.view_id, board_id=frame.board,
        season=frame.season, kind=msg.view, player_id=_view_player(msg, principal),
        size=msg.n if msg.view == "top" else msg.k, last_seq=frame.seq, state=snapshot.state,
    )  # fmt: skip
    await svc.connections.subscribe(sub)
    return frame.dump()


def _view_player(msg: SubscribeMessage, principal: Principal) -> PlayerId | None:
    if msg.view == "top":
        return None
    player = (msg.player if msg.view == "around" else None) or principal.player_id
    return PlayerId(player) if player else None


async def snapshot_for(svc: Services, msg: SubscribeMessage, principal: Principal) -> Snapshot:
    """The current state of the view a subscribe names (also used to resync)."""
    if msg.view == "top":
        if msg.n > svc.settings.view_top_max:
            raise BadRequest(
                f"a top view shows at most {svc.settings.view_top_max} entries, got n={msg.n}",
                code="view_too_large",
            )
        page = await svc.store.fetch_top(msg.board, season=msg.season, limit=msg.n)
        return _shown(SnapshotFrame(
            request_id=msg.request_id,
            view_id=view_id_for("top", msg.board, page.season, n=msg.n, player=None, k=0),
            board=msg.board, season=page.season, view="top", seq=page.as_of_seq,
            total=page.total, entries=[view_entry(e) for e in page.entries],
            next_reset_at=_next_reset(page.resets),
        ))  # fmt: skip
    player = _view_player(msg, principal)
    if player is None:
        raise BadRequest(f"a {msg.view} view needs a player", code="missing_player")
    if msg.view == "around":
        page = await svc.store.fetch_around(msg.board, player, k=msg.k, season=msg.season)
        me = next((e for e in page.entries if e.player_id == player), None)
        return _shown(SnapshotFrame(
            request_id=msg.request_id,
            view_id=view_id_for("around", msg.board, page.season, n=0, player=player, k=msg.k),
            board=msg.board, season=page.season, view="around", seq=page.as_of_seq,
            total=page.total, entries=[view_entry(e) for e in page.entries],
            me=view_entry(me) if me else None, next_reset_at=_next_reset(page.resets),
        ))  # fmt: skip
    # A ticker's snapshot is exact as of the seq it claims (the broadcaster derives its
    # later ranks from that position), and a player with no entry yet gets ``me: null``.
    board = await svc.store.get_board(msg.board)
    season = msg.season or board.season
    tickers, total = await svc.store.fetch_tickers_as_of(msg.board, season, [player], board.seq)
    ticker = tickers[player]
    frame = SnapshotFrame(
        request_id=msg.request_id,
        view_id=view_id_for("me", msg.board, season, n=0, player=player, k=0),
        board=msg.board, season=season, view="me", seq=board.seq, total=total,
        me=ticker_entry(ticker, board.tiers),
        next_reset_at=_next_reset(board.reset if season == board.season else None),
    )  # fmt: skip
    return Snapshot(frame, ViewState(as_of=board.seq, ticker=ticker))


def _next_reset(resets: ResetSchedule | None) -> datetime | None:
    """When a season that ends on ``resets``'s schedule ends, from now."""
    return next_reset_at(resets, datetime.now(UTC))


def _shown(frame: SnapshotFrame) -> Snapshot:
    """A top or around snapshot, with the fingerprint of what it shows as its state."""
    digest = view_digest(frame.entries, frame.total, frame.me)
    return Snapshot(frame, ViewState(as_of=frame.seq, digest=digest))


async def _unsubscribe(event: WebSocketEvent, svc: Services) -> str:
    msg = parse_client_message(event.body, max_bytes=svc.settings.max_message_bytes)
    if not isinstance(msg, UnsubscribeMessage):
        raise BadRequest(f"route unsubscribe got action {msg.action!r}", code="wrong_route")
    if not await svc.connections.unsubscribe(event.connection_id, msg.view_id):
        raise BadRequest(f"no subscription {msg.view_id!r} on this connection", code="unknown_view")
    return UnsubscribedFrame(request_id=msg.request_id, view_id=msg.view_id).dump()


async def _moderate(event: WebSocketEvent, svc: Services) -> str:
    """An admin's moderation action (docs/moderation.md): the REST route's answer, in a
    ``moderated`` frame sent after the commit."""
    msg = parse_client_message(event.body, max_bytes=svc.settings.max_message_bytes)
    principal = event.principal()
    require_role(principal, Role.ADMIN)
    mod, actor = Moderation(svc.store.pool), principal.subject
    if isinstance(msg, RemoveEntryMessage):
        removal = await mod.remove_entry(
            msg.board, msg.player, season=msg.season, actor=actor, reason=msg.reason
        )
        result: Any = removed_entry(removal)
    elif isinstance(msg, BanMessage):
        change = await mod.ban(msg.player, board=msg.board, actor=actor, reason=msg.reason)
        result = ban_state(change, banned=True)
    elif isinstance(msg, UnbanMessage):
        change = await mod.unban(msg.player, board=msg.board, actor=actor, reason=msg.reason)
        result = ban_state(change, banned=False)
    elif isinstance(msg, ErasePlayerMessage):
        result = erasure_report(
            msg.player, await mod.erase(msg.player, actor=actor, reason=msg.reason)
        )
    elif isinstance(msg, AuditMessage):
        before = int(msg.cursor) if msg.cursor is not None else None
        records = await mod.audit(
            player=msg.player, board=msg.board, before=before, limit=msg.limit
        )
        result = audit_page(records, limit=msg.limit)
    else:
        raise BadRequest(f"route {event.route_key} got action {msg.action!r}", code="wrong_route")
    return ModeratedFrame(request_id=msg.request_id, action=msg.action, result=result).dump()


async def _default(event: WebSocketEvent, svc: Services) -> str:
    """Messages that are not JSON or name no known action: a typed error listing the actions.
    A binary frame (API Gateway hands it over base64-encoded) is named as such."""
    if event.is_base64:
        raise BadRequest(
            "binary frames are not read: send each message as a text frame holding a JSON "
            "object", code="binary_frame",
        )  # fmt: skip
    msg = parse_client_message(event.body, max_bytes=svc.settings.max_message_bytes)
    raise BadRequest(
        f"action {msg.action!r} is not served on this route: expected one of {', '.join(ACTIONS)}",
        code="unknown_action", valid_actions=list(ACTIONS),
    )  # fmt: skip


async def on_submit(event: WebSocketEvent, svc: Services) -> dict[str, Any]:
    """Persist a score or batch, then (only after commit) ack with ranks."""
    return await _guarded(event, svc, _submit(event, svc))


async def on_subscribe(event: WebSocketEvent, svc: Services) -> dict[str, Any]:
    """Store a view subscription and reply with its snapshot and current seq."""
    return await _guarded(event, svc, _subscribe(event, svc))


async def on_unsubscribe(event: WebSocketEvent, svc: Services) -> dict[str, Any]:
    return await _guarded(event, svc, _unsubscribe(event, svc))


async def on_moderate(event: WebSocketEvent, svc: Services) -> dict[str, Any]:
    """An admin's remove_entry, ban, unban, erase_player or audit, answered after commit."""
    return await _guarded(event, svc, _moderate(event, svc))


async def on_default(event: WebSocketEvent, svc: Services) -> dict[str, Any]:
    return await _guarded(event, svc, _default(event, svc))


ROUTE_TABLE = {
    "$connect": on_connect,
    "$disconnect": on_disconnect,
    "submit": on_submit,
    "subscribe": on_subscribe,
    "unsubscribe": on_unsubscribe,
    "remove_entry": on_moderate,
    "ban": on_moderate,
    "unban": on_moderate,
    "erase_player": on_moderate,
    "audit": on_moderate,
    "$default": on_default,
}


async def dispatch(event: WebSocketEvent, svc: Services) -> dict[str, Any]:
    """Run the route named by the event's routeKey."""
    route = ROUTE_TABLE.get(event.route_key, on_default)
    return await route(event, svc)


__all__ = ["ROUTE_TABLE", "Snapshot", "dispatch", "snapshot_for"]
