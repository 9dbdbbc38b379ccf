"""``leaderboard bench push``: live pushes under load, fan-out, and memory per connection.

The service runs as its own process (``leaderboard up`` over a fresh embedded cluster);
this process plays the clients, so the server's RSS is measured alone.

1. Load: S spectators on top-10 and T ``me`` tickers on one board; the ticker players
   submit their own scores at R submits/s for D seconds. Push latency is the time from a
   submit leaving the client to the first frame that shows it: for spectators, a submit
   that entered the top-10 (its ack's rank is at most 10); for tickers, their own new
   score. Each submit is counted once per kind. The clients share this one Python
   process, so their own parsing of every frame is part of what is measured.
2. Fan-out: one change to a top-10 watched by N connections, in-process and through the
   local @connections endpoint with the AWS adapter (SigV4 over HTTP) posting to every
   connection. In-process, ``fanout_inproc_msgs_per_s`` is the server's rate of handing
   the round's frames to the sockets (frames / the send step's wall time, from the
   runtime's ``GET /metrics``); ``fanout_inproc_received_per_s`` is measured to the last
   of this process's N clients receiving it, so it is bounded by this one Python
   process parsing N WebSocket frames on the same two cores. The same posts then go to
   a bare endpoint (:mod:`bench.bare`) that answers 200 and does nothing:
   ``fanout_http_bare_posts_per_s`` is the adapter's own ceiling on this machine.
3. Memory: the server's RSS per idle connection with N connections open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.bare import BareServer
from bench.environment import start_service, stop_service
from bench.stats import percentile_ms
from core.ids import ConnectionId


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """``leaderboard up`` in a subprocess over a temporary data directory."""

    def __init__(self, *, port: int, secret: str, conflation_ms: int) -> None:
        self.port, self.secret = port, secret
        self.dir = Path(tempfile.mkdtemp(prefix="lb-push-"))
        env = {**os.environ, "LEADERBOARD_JWT_SECRET": secret,
               "LEADERBOARD_CONFLATION_MS": str(conflation_ms), "LEADERBOARD_DB_POOL_MAX": "20"}  # fmt: skip
        self.proc = start_service(
            [sys.executable, "-m", "runtime.cli", "--data-dir", str(self.dir), "up", "--port", str(port)],
            ready="leaderboard is up", timeout_s=120, env=env, preexec_fn=_raise_fd_limit,
        )  # fmt: skip

    @property
    def dsn(self) -> str:
        port = (self.dir / "primary.port").read_text().strip()
        return f"postgresql://postgres@127.0.0.1:{port}/leaderboard"

    def rss_kb(self) -> int:
        import psutil

        return int(psutil.Process(self.proc.pid).memory_info().rss // 1024)

    async def metrics(self) -> dict[str, Any]:
        """The broadcaster's counters from ``GET /metrics``."""
        import aiohttp

        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{self.port}/metrics",
                headers={"Authorization": f"Bearer {self.token(None, 'admin')}"},
            ) as response,
        ):
            body: dict[str, Any] = await response.json()
        return dict(body["broadcast"])

    def token(self, player: str | None, role: str) -> str:
        from authorizer.tokens import mint_token

        return mint_token(secret=self.secret, player_id=player, role=role, issuer="leaderboard-local",
                          audience="leaderboard", ttl_s=3600, subject=player or f"{role}-bench")  # fmt: skip

    def stop(self) -> None:
        stop_service(self.proc, timeout_s=60)
        shutil.rmtree(self.dir, ignore_errors=True)


async def create_board(dsn: str, board: str, policy: str = "latest") -> None:
    """Create a benchmark board through the store (no-op if it exists)."""
    from core.boards import BoardSpec, UpdatePolicy
    from core.errors import Conflict
    from core.settings import Settings
    from db.store import Store

    store = await Store.open(Settings(), dsn=dsn)
    try:
        with contextlib.suppress(Conflict):
            await store.create_board(BoardSpec(id=board, policy=UpdatePolicy(policy)))
    finally:
        await store.close()


async def _open(url: str, count: int, tok: Any, *, batch: int = 200) -> list[ClientConnection]:
    out: list[ClientConnection] = []
    for start in range(0, count, batch):
        out.extend(await asyncio.gather(*(
            connect(f"{url}?token={tok(i)}", proxy=None, open_timeout=60, max_queue=None,
                    ping_interval=None)
            for i in range(start, min(count, start + batch))
        )))  # fmt: skip
    return out


async def _ask(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(message))
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame.get("type") in ("snapshot", "ack", "error"):
            return frame


async def _load(
    server: Server, *, spectators: int, tickers: int, rate: float, seconds: float
) -> dict[str, Any]:
    base = f"ws://127.0.0.1:{server.port}/prod"
    board = "bench-push"
    await create_board(server.dsn, board)
    players = [f"t{i}" for i in range(tickers)]
    watchers = await _open(base, spectators, lambda i: server.token(None, "spectator"))
    ticking = await _open(base, tickers, lambda i: server.token(players[i], "player"))
    # everyone has a score first, so tickers start with a rank
    for i in range(0, tickers, 100):
        await asyncio.gather(*(_ask(ticking[j], {"action": "submit", "board": board,
                                                 "score": random.randrange(1000)})
                               for j in range(i, min(tickers, i + 100))))  # fmt: skip
    for ws in watchers:
        await _ask(ws, {"action": "subscribe", "board": board, "view": "top", "n": 10})
    for ws in ticking:
        await _ask(ws, {"action": "subscribe", "board": board, "view": "me"})

    sent: dict[tuple[str, int], float] = {}
    me_latency: list[float] = []
    delivered = 0
    acks: list[float] = []
    asked: dict[str, float] = {}
    first_in_top: dict[tuple[str, int], float] = {}  # when a spectator first saw a submit
    ranked: dict[tuple[str, int], int] = {}  # the rank each submit's ack reported
    seen_me: set[Any] = set()

    async def read_spectator(ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await _read_spectator(ws)

    async def read_ticker(i: int, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await _read_ticker(i, ws)

    async def _read_spectator(ws: ClientConnection) -> None:
        nonlocal delivered
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") != "update":
                continue
            delivered += 1
            for e in frame["entries"]:
                key = (e["player"], e["score"])
                if key in sent and key not in first_in_top:
                    first_in_top[key] = now

    async def _read_ticker(i: int, ws: ClientConnection) -> None:
        nonlocal delivered
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") == "ack":
                rid = frame.get("request_id")
                if rid in asked:
                    acks.append(now - asked.pop(rid))
                    for r in frame.get("results") or []:
                        ranked[(r["player"], r["score"])] = r["rank"]
                continue
            if frame.get("type") != "update":
                continue
            delivered += 1
            me = frame.get("me")
            key = (me["player"], me["score"]) if me else None
            if key in sent and key not in seen_me:
                seen_me.add(key)  # the first frame showing this submit, not later ones
                me_latency.append(now - sent[key])

    readers = [asyncio.create_task(read_spectator(ws)) for ws in watchers]
    readers += [asyncio.create_task(read_ticker(i, ws)) for i, ws in enumerate(ticking)]
    interval = 1 / rate
    began = time.perf_counter()
    n = 0
    rng = random.Random(5)
    while time.perf_counter() - began < seconds:
        target = began + n * interval
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        i = rng.randrange(tickers)
        score = rng.randrange(10**9) * 1000 + n  # unique: each score identifies its submit
        sent[(players[i], score)] = asked[str(n)] = time.perf_counter()
        with contextlib.suppress(ConnectionClosed):
            await ticking[i].send(json.dumps({"action": "submit", "board": board, "score": score,
                                          "request_id": str(n)}))  # fmt: skip
        n += 1
    elapsed = time.perf_counter() - began
    await asyncio.sleep(2.0)
    delivered_rate = delivered / (elapsed + 2.0)
    for task in readers:
        task.cancel()
    for ws in [*watchers, *ticking]:
        with contextlib.suppress(Exception):
            await ws.close()
    # a submit counts for the top-10 only if it entered it when made (its ack's rank); a
    # score that reaches the top-10 later, as others leave it, was not pushed late
    top_latency = [
        seen - sent[key] for key, seen in first_in_top.items() if ranked.get(key, 11) <= 10
    ]
    both = top_latency + me_latency
    return {
        "submits": n, "submit_rate": round(n / elapsed, 1), "acked": len(acks),
        "ack_p50_ms": round(percentile_ms(acks, 50), 2), "ack_p99_ms": round(percentile_ms(acks, 99), 2),
        "push_p50_ms": round(percentile_ms(both, 50), 2), "push_p99_ms": round(percentile_ms(both, 99), 2),
        "push_top_p50_ms": round(percentile_ms(top_latency, 50), 2),
        "push_top_p99_ms": round(percentile_ms(top_latency, 99), 2),
        "push_me_p50_ms": round(percentile_ms(me_latency, 50), 2),
        "push_me_p99_ms": round(percentile_ms(me_latency, 99), 2),
        "delivered_per_s": round(delivered_rate),
    }  # fmt: skip


async def _post_all(endpoint: str, ids: list[str], frame: str) -> tuple[float, list[str]]:
    """Post ``frame`` to every connection with the AWS adapter; the wall time, and the gone."""
    from botocore.credentials import Credentials

    from aws.connections import ConnectionsApiSender

    sender = ConnectionsApiSender(endpoint_url=endpoint, region="us-east-1",
                                  credentials=Credentials("bench", "bench"))  # fmt: skip
    try:
        t0 = time.perf_counter()
        gone = await sender.send_many([(ConnectionId(cid), frame) for cid in ids])
        return time.perf_counter() - t0, list(gone)
    finally:
        await sender.close()


async def _fanout(server: Server, *, connections: int) -> dict[str, Any]:
    import asyncpg

    base = f"ws://127.0.0.1:{server.port}/prod"
    board = "bench-fanout"
    await create_board(server.dsn, board)
    pool = await asyncpg.create_pool(server.dsn, min_size=1, max_size=2)
    rss_before = server.rss_kb()
    clients = await _open(base, connections, lambda i: server.token(None, "spectator"))
    await asyncio.sleep(2.0)
    rss_idle = server.rss_kb()
    for start in range(0, connections, 500):
        await asyncio.gather(*(_ask(ws, {"action": "subscribe", "board": board, "view": "top", "n": 10})
                               for ws in clients[start : start + 500]))  # fmt: skip
    got = 0
    done = asyncio.Event()

    async def read(ws: ClientConnection) -> None:
        nonlocal got
        async for raw in ws:
            if json.loads(raw).get("type") == "update":
                got += 1
                if got >= connections:
                    done.set()

    readers = [asyncio.create_task(read(ws)) for ws in clients]
    await asyncio.sleep(0.5)
    before = await server.metrics()
    t0 = time.perf_counter()
    await pool.execute(
        "SELECT * FROM lb_submit($1, NULL, NULL, ARRAY['fan'], ARRAY[7::bigint], "
        "ARRAY[NULL::timestamptz], ARRAY[NULL::jsonb])",
        board,
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 120)
    inproc_s = time.perf_counter() - t0
    inproc_rate = got / inproc_s
    after = await server.metrics()
    for _ in range(100):  # the round's counters land after its frames do
        if after["frames"] - before["frames"] >= got:
            break
        await asyncio.sleep(0.05)
        after = await server.metrics()
    frames = after["frames"] - before["frames"]
    send_s = after["send_s"] - before["send_s"]

    ids = [
        r[0]
        for r in await pool.fetch(
            "SELECT connection_id FROM lb_subscription WHERE board_id = $1", board
        )
    ]
    frame = json.dumps({"type": "ping", "note": "fan-out through @connections"})
    received, got = got, 0
    http_s, gone = await _post_all(f"http://127.0.0.1:{server.port}/prod", ids, frame)
    # the same posts to a bare endpoint that answers 200 and does nothing: the AWS
    # adapter's own ceiling here (SigV4 and HTTP on this process's one core)
    bare = BareServer(port=server.port + 1000, dsn=server.dsn)
    try:
        bare_s, _ = await _post_all(f"http://127.0.0.1:{bare.port}/prod", ids, frame)
    finally:
        bare.stop()
    for task in readers:
        task.cancel()
    for ws in clients:
        with contextlib.suppress(Exception):
            await ws.close()
    await pool.close()
    return {
        "connections": connections,
        "fanout_inproc_msgs_per_s": round(frames / send_s) if send_s > 0 else None,
        "fanout_inproc_frames": frames,
        "fanout_inproc_received_per_s": round(inproc_rate),
        "fanout_inproc_received": received,
        "fanout_http_posts_per_s": round(len(ids) / http_s), "fanout_http_gone": len(gone),
        "fanout_http_bare_posts_per_s": round(len(ids) / bare_s),
        "rss_kb_per_conn": round((rss_idle - rss_before) / connections, 1),
    }  # fmt: skip


def main(args: Any) -> int:
    _raise_fd_limit()
    seconds = args.seconds if args.seconds != 10.0 else 60.0  # the load runs 60 s
    secret = "bench-secret-" + "x" * 40
    port = 18000 + random.randrange(1000)
    server = Server(port=port, secret=secret, conflation_ms=args.conflation_ms)
    try:
        load = asyncio.run(_load(server, spectators=args.spectators, tickers=args.tickers,
                                 rate=args.rate, seconds=seconds))  # fmt: skip
        fan = asyncio.run(_fanout(server, connections=args.connections))
    finally:
        server.stop()
    result = {"conflation_ms": args.conflation_ms, **load, **fan}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")
    return 0
