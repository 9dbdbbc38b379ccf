"""Everything the Lambdas do with the database, run once over given services.

The WebSocket routes (connect, subscribe three views, submit one score and a batch,
unsubscribe, disconnect), the broadcaster (a wake-up round with frames, with its
compaction and VACUUM, and the sweep with its feed pruning), the REST reads (top,
standing, rank, around, seasons, boards, from the reader pool), the season roll and the
stale-connection sweep. Used to check what the service needs from the database session
(no pinning through RDS Proxy) and from its database role (the app role's grants).
"""

from __future__ import annotations

from broadcast.worker import Broadcaster
from connect.routes import dispatch
from core.boards import BoardSpec, ResetSchedule
from db.compaction import compact_all, vacuum_deltas
from db.services import Services
from tests.connect.test_routes import SCREEN, SERVER, event, player, sent

BOARD = "path-arena"
DAILY = "path-daily"


async def run_service_path(svc: Services) -> None:
    """The whole path; asserts that the subscribers were pushed what changed."""
    await svc.store.create_board(BoardSpec(id=BOARD))
    await svc.store.create_board(BoardSpec(id=DAILY, reset=ResetSchedule.DAILY))
    for cid, who in (("alice=", player("alice")), ("screen=", SCREEN), ("game=", SERVER)):
        assert await dispatch(event("$connect", cid, who), svc) == {"statusCode": 200}
    submit = {"action": "submit", "board": BOARD, "score": 900}
    await dispatch(event("submit", "alice=", player("alice"), submit), svc)
    assert sent(svc).last("alice=")["type"] == "ack", sent(svc).last("alice=")
    subscriptions = (
        ("alice=", player("alice"), {"view": "me"}),
        ("screen=", SCREEN, {"view": "top", "n": 10}),
        ("screen=", SCREEN, {"view": "around", "player": "alice", "k": 2}),
    )
    for cid, who, view in subscriptions:
        body = {"action": "subscribe", "board": BOARD, **view}
        await dispatch(event("subscribe", cid, who, body), svc)
        assert sent(svc).last(cid)["type"] == "snapshot", sent(svc).last(cid)
    batch = {"action": "submit", "board": BOARD,
             "scores": [{"player": f"p{i}", "score": i * 10} for i in range(40)]}  # fmt: skip
    await dispatch(event("submit", "game=", SERVER, batch), svc)
    assert sent(svc).last("game=")["type"] == "ack", sent(svc).last("game=")

    broadcaster = Broadcaster(svc)
    woken = await broadcaster.handle({"source": "postgres", "board": BOARD})
    assert woken["frames"] >= 1, woken
    assert sent(svc).last("screen=")["type"] == "update"
    await broadcaster.handle({"source": "sweep"})
    await compact_all(svc.store.pool)
    await vacuum_deltas(svc.store.pool, dead_max=0, interval_s=0)

    store = svc.store
    assert (await store.fetch_top(BOARD, limit=5)).entries
    assert (await store.fetch_standing(BOARD, "alice")).entry is not None
    assert await store.fetch_rank(BOARD, "alice") is not None
    assert (await store.fetch_around(BOARD, "alice", k=2)).entries
    assert await store.list_seasons(BOARD, replica=True)
    assert await store.list_boards(replica=True)
    await store.roll_due_seasons()

    unsubscribe = {"action": "unsubscribe", "view_id": sent(svc).last("alice=").get("view_id")}
    await dispatch(event("unsubscribe", "alice=", player("alice"), unsubscribe), svc)
    for cid, who in (("alice=", player("alice")), ("screen=", SCREEN), ("game=", SERVER)):
        await dispatch(event("$disconnect", cid, who), svc)
    await svc.connections.expire()
