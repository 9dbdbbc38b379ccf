"""The REST API: a route table, the route functions, and the one error-to-response map.

:data:`ROUTES` maps ``(method, path template)`` to an async route function
``(params, body, services) -> model``. :func:`respond` matches the request, checks the
caller's role, validates path and query parameters and the body into the route's
pydantic models, runs the route, and turns the result or the error into a response:

- a ``GET`` 200 gets a strong ``ETag`` over its body, ``Cache-Control`` and
  ``Vary: Authorization``; a matching ``If-None-Match`` gets 304 with no body;
- every error is an RFC 9457 ``application/problem+json`` body whose ``type`` ends with
  the error's stable ``code``; an unknown path is 404, a known path with another
  method is 405 with ``Allow``; a database that is down, failing over or too slow is
  503 with ``Retry-After`` (as is any asyncpg or OS error that escaped translation);
  anything else unexpected is a 500. Failures are logged once per cause per interval.

Reads go through :class:`~rest.reads.SnapshotReads` (replica first; with ``min_seq``,
:func:`rest.freshness.at_least` waits for the replica to reach that seq, then reads the
primary); writes go to the primary through the store, and their answers are read back
from the primary.
The route functions do no HTTP: they take typed inputs and return models.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ValidationError

from core.auth import Principal, Role, can_read, check_submit_for, require_role, submission_scope
from core.boards import Board, ResetSchedule, next_reset_at
from core.errors import (
    BadRequest,
    Forbidden,
    LeaderboardError,
    MethodNotAllowed,
    PayloadTooLarge,
    ServerError,
)
from core.ids import PlayerId, SubmissionId
from core.protocol import AckResult
from core.ranking import Page, ScoreInput, Standing
from core.throttle import FailureLog
from db.errors import as_service_error
from db.services import Services
from db.store import Store
from rest import moderation
from rest.cursor import CursorCodec, CursorPosition, cursor_key
from rest.events import RestRequest, RestResponse
from rest.freshness import at_least
from rest.models import (
    AroundPage,
    AroundParams,
    AuditPage,
    AuditParams,
    BanState,
    BoardDetail,
    BoardList,
    BoardModerationParams,
    BoardParams,
    BoardSummary,
    ConfigureBoard,
    CreateBoard,
    Entry,
    ErasureReport,
    FriendEntry,
    FriendsPage,
    FriendsParams,
    ModerationBody,
    ModerationParams,
    NoParams,
    PlayerLookup,
    PlayerLookupParams,
    PlayerParams,
    PlayerStanding,
    Problem,
    RemovedEntry,
    RemoveEntryParams,
    RollSeason,
    ScoresAck,
    SeasonInfo,
    SeasonList,
    SeasonParams,
    SetMetadata,
    SubmitScores,
    TopPage,
    TopParams,
    utc,
)
from rest.reads import COOLDOWN_S, TIMEOUT_S, SnapshotReads
from rest.routing import Access, Route, Router
from rest.snapshots import CACHE_CONTROL, VARY, etag_for, not_modified

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger("leaderboard.rest")
failures = FailureLog(log)

JSON: Final = "application/json"
PROBLEM_JSON: Final = "application/problem+json"
MAX_BODY_BYTES: Final = 64 * 1024
"""A request body, unless its route says otherwise (``Route.max_body_bytes``)."""


@dataclass(frozen=True)
class RestServices:
    """What the routes need, built once per container (or per local runtime)."""

    settings: Settings
    store: Store
    reads: SnapshotReads
    cursors: CursorCodec

    @classmethod
    def create(
        cls,
        services: Services,
        *,
        cooldown_s: float = COOLDOWN_S,
        timeout_s: float = TIMEOUT_S,
    ) -> RestServices:
        """The REST routes' view of the handler's services: replica-first reads and the
        cursor codec (its key read once, here)."""
        reads = SnapshotReads(services.store, cooldown_s=cooldown_s, timeout_s=timeout_s)
        return cls(
            settings=services.settings, store=services.store, reads=reads,
            cursors=CursorCodec(cursor_key(services.settings, services.secrets)),
        )  # fmt: skip


# --- route functions (typed in, model out) -------------------------------------------


def _next_reset(resets: ResetSchedule | str | None) -> datetime | None:
    """When a season that ``resets`` on that schedule ends, from now."""
    return next_reset_at(ResetSchedule(resets) if resets else None, datetime.now(UTC))


def _detail(board: Board, *, season: str, entries: int, as_of_seq: int) -> BoardDetail:
    return BoardDetail(
        id=board.id, order=board.order, policy=board.policy, min_score=board.min_score,
        max_score=board.max_score, reset=board.reset, metadata=board.metadata,
        tie_mode=board.tie_mode, tiers=board.tiers, all_time=board.all_time,
        created_at=utc(board.created_at), current_season=board.season, season=season,
        entries=entries, as_of_seq=as_of_seq,
        next_reset_at=_next_reset(board.reset) if season == board.season else None,
    )  # fmt: skip


def _seq(read: Page | Standing) -> int:
    return read.as_of_seq


def _entries(page: Page) -> list[Entry]:
    return [Entry.of(e) for e in page.entries]


async def list_boards(p: NoParams, body: None, svc: RestServices) -> BoardList:
    boards = await svc.reads.list_boards()
    return BoardList(
        boards=[
            BoardSummary(id=b.id, order=b.order, policy=b.policy, season=b.season, as_of_seq=b.seq)
            for b in boards
        ]
    )


async def get_board(p: SeasonParams, body: None, svc: RestServices) -> BoardDetail:
    async def read(replica: bool) -> tuple[Board, Page]:
        if replica:
            board = await svc.reads.get_board(p.board)
            return board, await svc.reads.fetch_top(p.board, season=p.season, limit=1)
        board = await svc.store.get_board(p.board)
        return board, await svc.store.fetch_top(p.board, season=p.season, limit=1)

    board, page = await at_least(
        p.min_seq, lambda: read(True), lambda: read(False), lambda r: r[1].as_of_seq
    )
    return _detail(board, season=page.season, entries=page.total, as_of_seq=page.as_of_seq)


async def list_seasons(p: BoardParams, body: None, svc: RestServices) -> SeasonList:
    rows = await svc.reads.list_seasons(p.board)
    return SeasonList(
        board=p.board,
        seasons=[
            SeasonInfo(
                season=r["season"],
                started_at=utc(r["started_at"]),
                ended_at=utc(r["ended_at"]) if r["ended_at"] else None,
                entries=r["entries"],
                next_reset_at=_next_reset(r["resets"]),
            )
            for r in rows
        ],
        next_reset_at=next(
            (_next_reset(r["resets"]) for r in rows if r["resets"] is not None), None
        ),
    )


async def get_top(p: TopParams, body: None, svc: RestServices) -> TopPage:
    season, after = p.season, None
    if p.cursor is not None:
        position = svc.cursors.decode(p.cursor)
        if position.board != p.board or (p.season is not None and p.season != position.season):
            raise BadRequest(
                f"this cursor continues board {position.board!r} season {position.season!r}, "
                f"got board {p.board!r} season {p.season!r}",
                code="cursor_mismatch",
            )
        season, after = position.season, position.after
    page = await at_least(
        p.min_seq,
        lambda: svc.reads.fetch_top(p.board, season=season, limit=p.limit, after=after),
        lambda: svc.store.fetch_top(p.board, season=season, limit=p.limit, after=after),
        _seq,
    )
    cursor = None
    if page.next_after is not None:
        cursor = svc.cursors.encode(CursorPosition(p.board, page.season, page.next_after))
    return TopPage(
        board=p.board, season=page.season, as_of_seq=page.as_of_seq, total=page.total,
        entries=_entries(page), next_cursor=cursor, next_reset_at=_next_reset(page.resets),
    )  # fmt: skip


async def get_player(p: PlayerParams, body: None, svc: RestServices) -> PlayerStanding:
    st = await at_least(
        p.min_seq,
        lambda: svc.reads.fetch_standing(p.board, p.player, season=p.season),
        lambda: svc.store.fetch_standing(p.board, p.player, season=p.season),
        _seq,
    )
    return PlayerStanding(
        board=p.board, season=st.season, as_of_seq=st.as_of_seq, total=st.total,
        entry=Entry.of(st.entry), percentile=st.percentile,
        next_reset_at=_next_reset(st.resets),
    )  # fmt: skip


async def get_around(p: AroundParams, body: None, svc: RestServices) -> AroundPage:
    """A player's window, or with a cursor the page above or below an earlier one, read at
    that page's seq; either carries cursors both ways from its first and last entries."""
    if p.cursor is None:
        page = await at_least(
            p.min_seq,
            lambda: svc.reads.fetch_around(p.board, p.player, k=p.k, season=p.season),
            lambda: svc.store.fetch_around(p.board, p.player, k=p.k, season=p.season),
            _seq,
        )
    else:
        at = svc.cursors.decode(p.cursor)
        if at.as_of is None or at.board != p.board or (p.season or at.season) != at.season:
            raise BadRequest(
                f"this cursor pages board {at.board!r} season {at.season!r}"
                f"{'' if at.as_of is not None else ' from the top'}, got an around page of "
                f"board {p.board!r} season {p.season!r}",
                code="cursor_mismatch",
            )
        season, key, before, limit, as_of = at.season, at.after, at.before, max(1, p.k), at.as_of
        # the replica answers once it has replayed the cursor's seq (else the primary does)
        page = await at_least(
            as_of,
            lambda: svc.reads.fetch_window(
                p.board, season=season, key=key, before=before, limit=limit, as_of=as_of
            ),
            lambda: svc.store.fetch_window(
                p.board, season=season, key=key, before=before, limit=limit, as_of=as_of
            ),
            _seq,
        )
    prev_cursor = next_cursor = None
    if page.entries and page.first_key is not None and page.entries[0].rank > 1:
        prev_cursor = svc.cursors.encode(CursorPosition(
            p.board, page.season, page.first_key, before=True, as_of=page.as_of_seq))  # fmt: skip
    if page.entries and page.last_key is not None and page.entries[-1].rank < page.total:
        next_cursor = svc.cursors.encode(CursorPosition(
            p.board, page.season, page.last_key, as_of=page.as_of_seq))  # fmt: skip
    return AroundPage(
        board=p.board, season=page.season, as_of_seq=page.as_of_seq, total=page.total,
        player=p.player, entries=_entries(page), next_reset_at=_next_reset(page.resets),
        prev_cursor=prev_cursor, next_cursor=next_cursor,
    )  # fmt: skip


async def get_friends(p: FriendsParams, body: None, svc: RestServices) -> FriendsPage:
    wanted = p.player_ids()
    page = await at_least(
        p.min_seq,
        lambda: svc.reads.fetch_players(p.board, wanted, season=p.season),
        lambda: svc.store.fetch_players(p.board, wanted, season=p.season),
        _seq,
    )
    found = {e.player_id for e in page.entries}
    return FriendsPage(
        board=p.board, season=page.season, as_of_seq=page.as_of_seq, total=page.total,
        entries=[
            FriendEntry(**Entry.of(e).model_dump(), friend_rank=i)
            for i, e in enumerate(page.entries, start=1)
        ],
        missing=sorted(set(wanted) - found), next_reset_at=_next_reset(page.resets),
    )  # fmt: skip


async def _primary_detail(svc: RestServices, board: Board) -> BoardDetail:
    page = await svc.store.fetch_top(board.id, limit=1)
    return _detail(board, season=page.season, entries=page.total, as_of_seq=page.as_of_seq)


async def create_board(p: NoParams, body: CreateBoard, svc: RestServices) -> BoardDetail:
    board = await svc.store.create_board(body)
    return _detail(board, season=board.season, entries=0, as_of_seq=board.seq)


async def configure_board(p: BoardParams, body: ConfigureBoard, svc: RestServices) -> BoardDetail:
    current = await svc.store.get_board(p.board)
    low = current.min_score if body.min_score is None else body.min_score
    high = current.max_score if body.max_score is None else body.max_score
    if low > high:
        raise BadRequest(
            f"min_score must be <= max_score, got {low} > {high}", code="invalid_bounds"
        )
    board = await svc.store.configure_board(
        p.board, min_score=body.min_score, max_score=body.max_score,
        reset=body.reset if "reset" in body.model_fields_set else "keep", metadata=body.metadata,
        tie_mode=body.tie_mode, tiers=body.tiers if "tiers" in body.model_fields_set else "keep",
    )  # fmt: skip
    return await _primary_detail(svc, board)


async def roll_season(p: BoardParams, body: RollSeason, svc: RestServices) -> BoardDetail:
    board = await svc.store.roll_season(p.board, season=body.season)
    return _detail(board, season=board.season, entries=0, as_of_seq=board.seq)


async def submit_scores(
    p: BoardParams, body: SubmitScores, svc: RestServices, principal: Principal
) -> ScoresAck:
    """A game server's batch: what a WebSocket batch submit does, acked the same way."""
    for line in body.scores:
        check_submit_for(principal, PlayerId(line.player), batch=True)
    results = await svc.store.submit(
        p.board,
        [ScoreInput(PlayerId(s.player), s.score, s.metadata) for s in body.scores],
        submission_id=SubmissionId(body.submission_id) if body.submission_id else None,
        submitter=submission_scope(principal),
    )
    return ScoresAck(
        board=p.board, submission_id=body.submission_id, seq=results[0].seq or 0,
        results=[
            AckResult.of(r) for r in results
        ],
    )  # fmt: skip


async def set_metadata(
    p: PlayerParams, body: SetMetadata, svc: RestServices, principal: Principal
) -> PlayerStanding:
    """Replace a player's metadata (a player their own, a server anyone's), keeping the score."""
    check_submit_for(principal, PlayerId(p.player), batch=False)
    st = await svc.store.set_metadata(p.board, p.player, body.metadata)
    return PlayerStanding(
        board=p.board, season=st.season, as_of_seq=st.as_of_seq, total=st.total,
        entry=Entry.of(st.entry), percentile=st.percentile,
        next_reset_at=_next_reset(st.resets),
    )  # fmt: skip


async def openapi(p: NoParams, body: None, svc: RestServices) -> dict[str, Any]:
    from rest.openapi import openapi_document

    return openapi_document(ROUTES)


READ_ERRORS: Final = (400, 401, 403, 404, 503)
WRITE_ERRORS: Final = (400, 401, 403, 404, 409, 413, 503)
REST_BATCH_MAX_BYTES: Final = 6_000_000
"""A REST batch's body: Lambda takes 6 MB of request payload, the proxy event included."""
ADMIN_ERRORS: Final = (400, 401, 403, 404, 409, 413, 503)

ROUTES: Final = Router((
    Route("GET", "/openapi.json", openapi, "getOpenApi", "This OpenAPI document",
          Access.PUBLIC),
    Route("GET", "/v1/boards", list_boards, "listBoards", "List the boards", Access.READ,
          response=BoardList, errors=READ_ERRORS),
    Route("POST", "/v1/boards", create_board, "createBoard", "Create a board (admin)",
          Access.ADMIN, body=CreateBoard, response=BoardDetail, status=201, errors=ADMIN_ERRORS),
    Route("GET", "/v1/boards/{board}", get_board, "getBoard",
          "A board: order, policy, season, entry count, sequence number", Access.READ,
          params=SeasonParams, response=BoardDetail, errors=READ_ERRORS),
    Route("PATCH", "/v1/boards/{board}", configure_board, "configureBoard",
          "Configure a board's bounds, reset schedule or metadata (admin)", Access.ADMIN,
          params=BoardParams, body=ConfigureBoard, response=BoardDetail, errors=ADMIN_ERRORS),
    Route("GET", "/v1/boards/{board}/seasons", list_seasons, "listSeasons",
          "A board's seasons, oldest first", Access.READ, params=BoardParams,
          response=SeasonList, errors=READ_ERRORS),
    Route("POST", "/v1/boards/{board}/seasons", roll_season, "rollSeason",
          "Start a new season (admin)", Access.ADMIN, params=BoardParams, body=RollSeason,
          response=BoardDetail, status=201, errors=ADMIN_ERRORS),
    Route("GET", "/v1/boards/{board}/top", get_top, "getTop",
          "A page of the ladder in rank order, with a cursor", Access.READ, params=TopParams,
          response=TopPage, errors=READ_ERRORS),
    Route("GET", "/v1/boards/{board}/players/{player}", get_player, "getPlayer",
          "A player's entry: score, rank and percentile", Access.READ, params=PlayerParams,
          response=PlayerStanding, errors=READ_ERRORS),
    Route("GET", "/v1/boards/{board}/players/{player}/around", get_around, "getAround",
          "A player and up to k entries on each side", Access.READ, params=AroundParams,
          response=AroundPage, errors=READ_ERRORS),
    Route("GET", "/v1/boards/{board}/friends", get_friends, "getFriends",
          "The listed players (friends) in rank order", Access.READ, params=FriendsParams,
          response=FriendsPage, errors=READ_ERRORS),
    Route("POST", "/v1/boards/{board}/scores", submit_scores, "submitScores",
          "Submit a batch of scores (server): all or nothing, idempotent by submission_id",
          Access.SUBMIT, params=BoardParams, body=SubmitScores, response=ScoresAck,
          errors=WRITE_ERRORS, max_body_bytes=REST_BATCH_MAX_BYTES),
    Route("PUT", "/v1/boards/{board}/players/{player}/metadata", set_metadata, "setMetadata",
          "Replace a player's metadata without a new score (the player, or a server)",
          Access.SUBMIT, params=PlayerParams, body=SetMetadata, response=PlayerStanding,
          errors=WRITE_ERRORS),
    Route("DELETE", "/v1/boards/{board}/players/{player}", moderation.remove_entry,
          "removeEntry", "Remove a player's entry from a ladder (admin)", Access.ADMIN,
          params=RemoveEntryParams, body=ModerationBody, response=RemovedEntry,
          errors=ADMIN_ERRORS, optional_body=True, with_principal=True),
    Route("PUT", "/v1/boards/{board}/bans/{player}", moderation.ban_on_board, "banOnBoard",
          "Ban a player on a board: their scores are refused, their entries hidden (admin)",
          Access.ADMIN, params=BoardModerationParams, body=ModerationBody, response=BanState,
          errors=ADMIN_ERRORS, optional_body=True, with_principal=True),
    Route("DELETE", "/v1/boards/{board}/bans/{player}", moderation.unban_on_board,
          "unbanOnBoard", "Lift a player's ban on a board (admin)", Access.ADMIN,
          params=BoardModerationParams, body=ModerationBody, response=BanState,
          errors=ADMIN_ERRORS, optional_body=True, with_principal=True),
    Route("PUT", "/v1/bans/{player}", moderation.ban_everywhere, "banEverywhere",
          "Ban a player on every board (admin)", Access.ADMIN, params=ModerationParams,
          body=ModerationBody, response=BanState, errors=ADMIN_ERRORS, optional_body=True,
          with_principal=True),
    Route("DELETE", "/v1/bans/{player}", moderation.unban_everywhere, "unbanEverywhere",
          "Lift a player's ban on every board (admin)", Access.ADMIN, params=ModerationParams,
          body=ModerationBody, response=BanState, errors=ADMIN_ERRORS, optional_body=True,
          with_principal=True),
    Route("GET", "/v1/players/{player}", moderation.lookup_player, "lookupPlayer",
          "A player's entries across boards and seasons, and bans (admin)", Access.ADMIN,
          params=PlayerLookupParams, response=PlayerLookup, errors=READ_ERRORS),
    Route("DELETE", "/v1/players/{player}", moderation.erase_player, "erasePlayer",
          "Erase a player everywhere, answering what was removed (admin)", Access.ADMIN,
          params=ModerationParams, body=ModerationBody, response=ErasureReport,
          errors=ADMIN_ERRORS, optional_body=True, with_principal=True),
    Route("GET", "/v1/audit", moderation.list_audit, "listAudit",
          "The moderation audit log, newest first, with a cursor (admin)", Access.ADMIN,
          params=AuditParams, response=AuditPage, errors=READ_ERRORS),
))  # fmt: skip


# --- requests to responses ------------------------------------------------------------


def problem_of(exc: LeaderboardError, *, instance: str | None) -> Problem:
    """The RFC 9457 problem of a service error (the one error map of this adapter)."""
    return Problem(
        type=exc.problem_type, title=HTTPStatus(exc.status).phrase, status=exc.status,
        detail=exc.message, instance=instance, code=exc.code, details=exc.details or None,
    )  # fmt: skip


def problem_response(exc: LeaderboardError, *, instance: str | None) -> RestResponse:
    headers = {"Content-Type": PROBLEM_JSON, "Cache-Control": "no-store"}
    if isinstance(exc, MethodNotAllowed):
        headers["Allow"] = str(exc.details.get("allow", ""))
    if exc.retryable and exc.retry_after_ms is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_ms / 1000)))
    body = problem_of(exc, instance=instance).model_dump_json(exclude_none=True).encode()
    return RestResponse(exc.status, body, headers)


def _invalid(exc: ValidationError, *, where: Callable[[str], str]) -> BadRequest:
    errors = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"])
        errors.append({"where": where(str(err["loc"][0]) if err["loc"] else ""), "loc": loc,
                       "message": err["msg"]})  # fmt: skip
    first = errors[0]
    return BadRequest(
        f"invalid {first['where']} {first['loc']!r}: {first['message']}",
        code="invalid_request", errors=errors,
    )  # fmt: skip


def _params(route: Route, request: RestRequest, path: Mapping[str, str]) -> BaseModel:
    names = set(route.path_names)
    try:
        return route.params.model_validate({**request.query, **path})
    except ValidationError as exc:
        raise _invalid(
            exc, where=lambda f: "path parameter" if f in names else "query parameter"
        ) from None


def _body(route: Route, request: RestRequest) -> BaseModel | None:
    if route.body is None:
        return None
    raw = request.body
    if not raw and route.optional_body:
        return None
    if not raw:
        raise BadRequest("a JSON body is required (send {} for all defaults)", code="missing_body")
    if len(raw) > route.max_body_bytes:
        raise PayloadTooLarge(
            f"the body must be at most {route.max_body_bytes} bytes, got {len(raw)}",
            code="body_too_large",
        )
    try:
        return route.body.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc, where=lambda f: "body field") from None


def _authorize(route: Route, request: RestRequest) -> None:
    if route.access is Access.PUBLIC:
        return
    principal = request.principal()
    if route.access is Access.ADMIN:
        require_role(principal, Role.ADMIN)
    elif route.access is Access.SUBMIT:
        require_role(principal, Role.PLAYER, Role.SERVER)
    elif not can_read(principal):
        raise Forbidden(f"role {principal.role.value!r} may not read", code="role_not_allowed")


def _success(
    route: Route, request: RestRequest, result: BaseModel | dict[str, Any]
) -> RestResponse:
    if isinstance(result, BaseModel):
        body = result.model_dump_json().encode()
    else:
        import json

        body = json.dumps(result, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": JSON}
    if route.status == 201 and isinstance(result, BoardDetail):
        headers["Location"] = f"/v1/boards/{result.id}"
    if request.method != "GET":
        headers["Cache-Control"] = "no-store"
        return RestResponse(route.status, body, headers)
    etag = etag_for(body)
    headers.update({"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": VARY})
    if not_modified(request.header("If-None-Match"), etag):
        del headers["Content-Type"]
        return RestResponse(304, b"", headers)
    return RestResponse(route.status, body, headers)


async def respond(
    request: RestRequest, services: Callable[[], Awaitable[RestServices]]
) -> RestResponse:
    """The response to one request (never raises)."""
    try:
        route, path = ROUTES.match(request.method, request.path)
        _authorize(route, request)
        params = _params(route, request, path)
        body = _body(route, request)
        svc = None if route.access is Access.PUBLIC else await services()
        if route.access is Access.SUBMIT or route.with_principal:
            result = await route.endpoint(params, body, svc, request.principal())
        else:
            result = await route.endpoint(params, body, svc)
        return _success(route, request, result)
    except LeaderboardError as exc:
        if isinstance(exc, ServerError):
            failures.failed(f"{request.method} {route_of(request)}", exc)
        return problem_response(exc, instance=request.path)
    except Exception as exc:
        error = as_service_error(exc)
        failures.failed(
            f"{request.method} {route_of(request)}", exc, expected=error.code != "internal"
        )
        return problem_response(error, instance=request.path)


def route_of(request: RestRequest) -> str:
    """The route template a request matched (its path when none did): one cause per route."""
    try:
        return ROUTES.match(request.method, request.path)[0].template
    except LeaderboardError:
        return request.path


async def handle_event(
    event: Mapping[str, Any], services: Callable[[], Awaitable[RestServices]]
) -> dict[str, Any]:
    """A REST proxy v1 event in, a proxy response out (the Lambda and the local runtime)."""
    try:
        request = RestRequest.parse(event)
    except BadRequest as exc:
        return problem_response(exc, instance=None).to_proxy()
    return (await respond(request, services)).to_proxy()


__all__ = [
    "ROUTES",
    "Access",
    "MethodNotAllowed",
    "RestServices",
    "Route",
    "Router",
    "handle_event",
    "problem_of",
    "problem_response",
    "respond",
]
