"""WebSocket connections and subscriptions, as the route handlers and broadcaster see them.

A connection lives until ``$disconnect`` deletes it or its expiry passes (API Gateway's
2 h maximum; ``$disconnect`` is best-effort, so the sweep ``expire_connections`` removes
the rest). Deleting a connection cascades to its subscriptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from core.auth import Principal, Role
from core.conflation import ViewState
from core.errors import NotFound
from core.ids import ConnectionId, PlayerId
from db.errors import translated

if TYPE_CHECKING:
    import asyncpg

INSERT_CONNECTION: Final = """
INSERT INTO lb_connection (connection_id, subject, player_id, role, connected_at, expires_at)
VALUES ($1, $2, $3, $4, now(), now() + $5::interval)
ON CONFLICT (connection_id) DO UPDATE SET
    subject = excluded.subject, player_id = excluded.player_id, role = excluded.role,
    expires_at = excluded.expires_at"""
DELETE_CONNECTION: Final = "DELETE FROM lb_connection WHERE connection_id = $1"
SELECT_CONNECTION: Final = """
SELECT connection_id, subject, player_id, role, connected_at, expires_at
  FROM lb_connection WHERE connection_id = $1 AND expires_at > now()"""
EXPIRE_CONNECTIONS: Final = """
WITH gone AS (DELETE FROM lb_connection WHERE expires_at <= now() RETURNING 1)
SELECT count(*) FROM gone"""
COUNT_CONNECTIONS: Final = "SELECT count(*) FROM lb_connection"
DELETE_PREFIXED: Final = """
WITH gone AS (DELETE FROM lb_connection WHERE left(connection_id, length($1)) = $1 RETURNING 1)
SELECT count(*) FROM gone"""

# change_no = DEFAULT draws the next number from the column's sequence: a nextval() in the
# statement text would pin an RDS Proxy session (infra/README.md).
UPSERT_SUBSCRIPTION: Final = """
INSERT INTO lb_subscription (connection_id, view_id, board_id, season, kind, player_id, size,
                             last_seq, last_state)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb
 WHERE EXISTS (SELECT 1 FROM lb_connection WHERE connection_id = $1)
ON CONFLICT (connection_id, view_id) DO UPDATE SET
    last_seq = excluded.last_seq, last_state = excluded.last_state,
    change_no = DEFAULT
RETURNING view_id"""
DELETE_SUBSCRIPTION: Final = """
DELETE FROM lb_subscription WHERE connection_id = $1 AND view_id = $2 RETURNING view_id"""
SELECT_SUBSCRIPTIONS_OF_BOARD: Final = """
SELECT s.connection_id, s.view_id, s.board_id, s.season, s.kind, s.player_id, s.size,
       s.last_seq, s.last_state, s.change_no
  FROM lb_subscription s
  JOIN lb_connection c ON c.connection_id = s.connection_id AND c.expires_at > now()
 WHERE s.board_id = $1
 ORDER BY s.connection_id, s.view_id"""
SELECT_SUBSCRIPTIONS_OF_CONNECTION: Final = """
SELECT connection_id, view_id, board_id, season, kind, player_id, size, last_seq, last_state,
       change_no
  FROM lb_subscription WHERE connection_id = $1 ORDER BY view_id"""
FINGERPRINT_OF_BOARD: Final = """
SELECT count(*), coalesce(sum(s.change_no), 0), coalesce(bit_xor(hashint8(s.change_no)), 0)
  FROM lb_subscription s
  JOIN lb_connection c ON c.connection_id = s.connection_id AND c.expires_at > now()
 WHERE s.board_id = $1"""


@dataclass(frozen=True)
class Connection:
    connection_id: ConnectionId
    principal: Principal
    connected_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    """A view on a board held by a connection: which view, and what it was last sent.

    ``last_seq`` is the seq of the last frame of this view on this connection (a
    client's ``prev_seq`` check); ``state`` is what that view showed
    (:class:`~core.conflation.ViewState`). The broadcaster keeps a board's
    subscriptions between rounds and replaces them as their states move on.
    """

    connection_id: ConnectionId
    view_id: str
    board_id: str
    season: str
    kind: str
    player_id: PlayerId | None
    size: int
    last_seq: int
    state: ViewState
    change_no: int = 0
    """Renewed by every (re)subscribe: tells a broadcaster its copy is out of date."""

    @property
    def key(self) -> str:
        """This subscription's key among its board's (connection and view)."""
        return f"{self.connection_id}\x00{self.view_id}"


def _subscription(row: asyncpg.Record) -> Subscription:
    player = PlayerId(row["player_id"]) if row["player_id"] else None
    state = json.loads(row["last_state"] or "{}") or {"as_of": row["last_seq"]}
    return Subscription(
        connection_id=ConnectionId(row["connection_id"]), view_id=row["view_id"],
        board_id=row["board_id"], season=row["season"], kind=row["kind"], player_id=player,
        size=row["size"], last_seq=row["last_seq"],
        state=ViewState.from_json(state, player=player if row["kind"] == "me" else None),
        change_no=row["change_no"],
    )  # fmt: skip


class ConnectionStore:
    """Connections and their subscriptions, on the primary."""

    def __init__(self, pool: asyncpg.Pool, *, ttl: timedelta = timedelta(hours=2)) -> None:
        self.pool = pool
        self.ttl = ttl

    async def add(self, connection_id: str, principal: Principal) -> None:
        async with translated():
            await self.pool.execute(
                INSERT_CONNECTION, connection_id, principal.subject, principal.player_id,
                principal.role.value, self.ttl,
            )  # fmt: skip

    async def remove(self, connection_id: str) -> bool:
        """Delete a connection and (by cascade) its subscriptions; False if it was gone."""
        async with translated():
            status: str = await self.pool.execute(DELETE_CONNECTION, connection_id)
        return status != "DELETE 0"

    async def get(self, connection_id: str) -> Connection:
        async with translated():
            row = await self.pool.fetchrow(SELECT_CONNECTION, connection_id)
        if row is None:
            raise NotFound(f"unknown connection {connection_id!r}", code="unknown_connection")
        principal = Principal(
            subject=row["subject"], player_id=row["player_id"], role=Role(row["role"])
        )
        return Connection(
            ConnectionId(row["connection_id"]), principal, row["connected_at"], row["expires_at"]
        )

    async def expire(self) -> int:
        """Delete every connection past its expiry; how many."""
        async with translated():
            expired = await self.pool.fetchval(EXPIRE_CONNECTIONS)
        return int(expired)

    async def remove_prefixed(self, prefix: str) -> int:
        """Delete every connection whose id starts with ``prefix`` (those a runtime process
        minted: see ``runtime.app``), with their subscriptions; how many."""
        if not prefix:
            raise ValueError("expected a connection id prefix, got ''")
        async with translated():
            return int(await self.pool.fetchval(DELETE_PREFIXED, prefix))

    async def count(self) -> int:
        async with translated():
            return int(await self.pool.fetchval(COUNT_CONNECTIONS))

    async def subscribe(self, sub: Subscription) -> bool:
        """Store (or refresh) a subscription; False if the connection is gone."""
        async with translated():
            row = await self.pool.fetchval(
                UPSERT_SUBSCRIPTION, sub.connection_id, sub.view_id, sub.board_id, sub.season,
                sub.kind, sub.player_id, sub.size, sub.last_seq,
                json.dumps(sub.state.to_json()),
            )  # fmt: skip
        return row is not None

    async def unsubscribe(self, connection_id: str, view_id: str) -> bool:
        async with translated():
            row = await self.pool.fetchval(DELETE_SUBSCRIPTION, connection_id, view_id)
        return row is not None

    async def of_board(
        self, board: str, *, conn: asyncpg.Connection | None = None
    ) -> list[Subscription]:
        """The board's subscriptions on live (unexpired) connections."""
        async with translated():
            rows = await (conn or self.pool).fetch(SELECT_SUBSCRIPTIONS_OF_BOARD, board)
        return [_subscription(r) for r in rows]

    async def fingerprint(
        self, board: str, *, conn: asyncpg.Connection | None = None
    ) -> tuple[int, int, int]:
        """A value that changes whenever the board's live subscription set does."""
        async with translated():
            row = await (conn or self.pool).fetchrow(FINGERPRINT_OF_BOARD, board)
        return (int(row[0]), int(row[1]), int(row[2]))

    async def of_connection(self, connection_id: str) -> list[Subscription]:
        async with translated():
            rows = await self.pool.fetch(SELECT_SUBSCRIPTIONS_OF_CONNECTION, connection_id)
        return [_subscription(r) for r in rows]
