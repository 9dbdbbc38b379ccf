"""``leaderboard bench push``: live pushes under load, fan-out, and memory per connection.

The service runs as its own process (``leaderboard up`` over a fresh embedded cluster);
this process plays the clients, so the server's RSS is measured alone.

1. Capacity: the acked submits per second of this service on this machine, measured as
   ``bench submit`` measures it (32 closed-loop SDK clients, each submitting and waiting
   for its ack, after a warm-up that is not counted), on a board of its own with no
   subscribers: ``capacity_submits_per_s``.
2. Load, at 25% and then at 50% of that capacity, then at a steady 20/s, each on a fresh
   board, never above capacity (a load above it measures the queue, not the pushes):
   S spectators on top-10
   and T ``me`` tickers; the ticker players submit their own scores at the open-loop
   rate for D seconds. Push latency is the time from a submit leaving the client to the
   first frame that shows it: for spectators, a submit that entered the top-10 (its ack's
   rank is at most 10); for tickers, their own new score. Each submit is counted once
   per kind. The clients share this one Python process, so their own parsing of every
   frame is part of what is measured. The keys of each run end in ``_at_quarter``,
   ``_at_half`` and ``_at_20_per_s``; the unsuffixed load keys (``push_p50_ms``,
   ``acked``, ...) are the run at half the capacity, at ``submit_rate``. Push p99 is held
   to the conflation window plus a margin (50 ms under load, 25 ms at 20/s): a frame may
   wait one window behind the one before it, and no more.
3. Fan-out: one change to a top-10 watched by N connections, three rounds, each waited
   for until every client received it. In-process, ``fanout_inproc_msgs_per_s`` is the
   server's rate of handing the rounds' frames to the sockets (frames / the send step's
   wall time, from the runtime's ``GET /metrics``); ``fanout_inproc_received_per_s`` is
   measured to the last of this process's N clients receiving each round, so it is
   bounded by this one Python process parsing N WebSocket frames on the same two cores.
   Beside it, ``fanout_bare_msgs_per_s``: a bare aiohttp process (:mod:`bench.bare`)
   holding N server-side sockets to the same N-client process loops ``send_str`` over
   them with the same frame, three rounds as well. Before that, a frame goes through the
   local @connections endpoint with the AWS adapter (SigV4 over HTTP) posting to every
   connection (the clients paused, not reading), and the same posts go to a bare
   endpoint that answers 200 and does nothing, two rounds each, in turns, after a
   warm-up of 1,000 posts each (the bare process is fresh; its first round ran at half
   its rate):
   ``fanout_http_bare_posts_per_s`` is the adapter's own ceiling on this machine. The
   adapter's client side (signing, aiohttp) is most of a post's cost, so the two are
   close and either can come out ahead in a run.
4. Memory: the server's RSS per idle connection with N connections open.

Every ``*_vs_*`` key is ours divided by the baseline beside it in the same run
(:func:`ratios`), and ``push_p99_vs_target_at_*`` each push p99 divided by its target
(window + margin): at most 1 meets it. What it costs at the defaults (1,000 + 1,000
subscribers, 30 s per load, 10,000 connections): ~4.5 minutes, of which opening and
subscribing the 10,000 connections ~1 minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from typing import Any, Final

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.bare import BareServer
from bench.environment import Server, create_board, raise_fd_limit
from bench.stats import percentile_ms, vs
from bench.submit import singles
from core.ids import ConnectionId

CAPACITY_CLIENTS: Final = 32
LOADS: Final = (("quarter", 0.25), ("half", 0.5))
"""Loads as shares of the measured capacity, by the suffix of their keys."""
STEADY: Final = ("20_per_s", 20.0)
"""A light load at a fixed rate (never above the capacity), by the suffix of its keys."""
PUSH_MARGIN_MS: Final = {"quarter": 50.0, "half": 50.0, "20_per_s": 25.0}
"""Each load's push p99 target: the conflation window plus this."""
FANOUT_ROUNDS: Final = 3
HTTP_ROUNDS: Final = 2  # @connections posts to every connection, ours and bare in turns
# the figures of one load run that are reported again with the run's suffix
LOAD_KEYS: Final = (
    "rate", "submits", "submit_rate", "acked", "ack_p50_ms", "ack_p99_ms", "push_p50_ms",
    "push_p99_ms", "push_top_p50_ms", "push_top_p99_ms", "push_me_p50_ms", "push_me_p99_ms",
    "delivered_per_s",
)  # fmt: skip


async def _open(
    url: str, count: int, tok: Callable[[int], str], *, batch: int = 200
) -> list[ClientConnection]:
    out: list[ClientConnection] = []
    for start in range(0, count, batch):
        out.extend(await asyncio.gather(*(
            connect(f"{url}?token={tok(i)}", proxy=None, open_timeout=60, max_queue=None,
                    ping_interval=None)
            for i in range(start, min(count, start + batch))
        )))  # fmt: skip
    return out


async def _close(
    sockets: list[ClientConnection], readers: list[asyncio.Task[None]], *, batch: int = 500
) -> None:
    """Stop the readers and close the sockets, ``batch`` close handshakes at a time (one
    at a time, 10,000 of them took minutes on a busy machine)."""
    for task in readers:
        task.cancel()
    for start in range(0, len(sockets), batch):
        await asyncio.gather(
            *(ws.close() for ws in sockets[start : start + batch]), return_exceptions=True
        )


RETRYABLE: Final = frozenset({"overloaded", "rate_limited"})
"""Refusals a client is told to retry after ``retry_after_ms`` (a burst of set-up
messages from thousands of sockets at once meets the front door's admission bound)."""


async def _ask(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    """Send ``message`` and return its reply, retrying the refusals a client should."""
    while True:
        await ws.send(json.dumps(message))
        while True:
            frame: dict[str, Any] = json.loads(await ws.recv())
            if frame.get("type") in ("snapshot", "ack", "error"):
                break
        error = frame.get("error") or {}
        if frame.get("type") != "error" or error.get("code") not in RETRYABLE:
            return frame
        await asyncio.sleep(float(error.get("retry_after_ms") or 100) / 1000)


async def _capacity(server: Server, *, seconds: float, warm_up_s: float) -> float:
    """Acked submits per second, closed loop, as ``bench submit`` measures them."""
    board = "bench-push-capacity"
    await create_board(server.dsn, board)
    result = await singles(
        server.ws_url, lambda i: server.token(f"c{i}", "player"), CAPACITY_CLIENTS, seconds,
        warm_up_s=warm_up_s, board=board,
    )  # fmt: skip
    return float(result["submits_per_s"])


async def _load(
    server: Server, *, board: str, spectators: int, tickers: int, rate: float, seconds: float
) -> dict[str, Any]:
    base = server.ws_url
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

    async def read_ticker(ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await _read_ticker(ws)

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

    async def _read_ticker(ws: ClientConnection) -> None:
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
    readers += [asyncio.create_task(read_ticker(ws)) for ws in ticking]
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
    await _close([*watchers, *ticking], readers)
    # a submit counts for the top-10 only if it entered it when made (its ack's rank); a
    # score that reaches the top-10 later, as others leave it, was not pushed late
    top_latency = [
        seen - sent[key] for key, seen in first_in_top.items() if ranked.get(key, 11) <= 10
    ]
    both = top_latency + me_latency
    return {
        "rate": round(rate, 1),
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


class _Receivers:
    """Readers on N client sockets, counting the frames of one kind they receive."""

    def __init__(self, sockets: list[ClientConnection], kind: str | None) -> None:
        self.count = 0
        self.last: str | None = None  # the last such frame, as received
        self._kind = kind
        self._target = 0
        self._reached = asyncio.Event()
        self.tasks = [asyncio.create_task(self._read(ws)) for ws in sockets]

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode()
                if self._kind is not None and json.loads(text).get("type") != self._kind:
                    continue
                self.count += 1
                self.last = text
                if self.count >= self._target:
                    self._reached.set()

    async def until(self, target: int, *, timeout_s: float = 120.0) -> None:
        """Wait until ``target`` frames have arrived in all (or ``timeout_s`` passed)."""
        self._target = target
        if self.count < target:
            self._reached.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reached.wait(), timeout_s)


async def _bare_fanout(
    bare: BareServer, *, connections: int, frame: str, rounds: int
) -> dict[str, Any]:
    """The bare ``send_str`` loop of :mod:`bench.bare` over ``connections`` sockets."""
    sockets = await _open(f"ws://127.0.0.1:{bare.port}/fanout", connections, lambda i: str(i))
    receivers = _Receivers(sockets, kind=None)
    sent, send_s = 0, 0.0
    try:
        async with aiohttp.ClientSession() as http:
            for _round in range(rounds):
                async with http.post(f"http://127.0.0.1:{bare.port}/fanout", data=frame) as r:
                    body = await r.json()
                sent += int(body["sent"])
                send_s += float(body["send_s"])
                await receivers.until(sent)
    finally:
        await _close(sockets, receivers.tasks)
    return {"fanout_bare_msgs_per_s": round(sent / send_s) if send_s > 0 else None}


async def _fanout(server: Server, *, connections: int, rounds: int) -> dict[str, Any]:
    from core.ranking import ScoreInput
    from core.settings import Settings
    from db.store import Store

    board = "bench-fanout"
    await create_board(server.dsn, board)
    store = await Store.open(Settings(), dsn=server.dsn)
    try:
        rss_before = server.rss_kb()
        clients = await _open(server.ws_url, connections, lambda i: server.token(None, "spectator"))
        await asyncio.sleep(2.0)
        rss_idle = server.rss_kb()
        for start in range(0, connections, 500):
            await asyncio.gather(*(_ask(ws, {"action": "subscribe", "board": board, "view": "top",
                                             "n": 10})
                                   for ws in clients[start : start + 500]))  # fmt: skip
        updates = _Receivers(clients, kind="update")
        await asyncio.sleep(0.5)
        frames, send_s, received, received_s = 0, 0.0, 0, 0.0
        for round_no in range(1, rounds + 1):
            before = await server.metrics()
            t0 = time.perf_counter()
            await store.submit(board, [ScoreInput("fan", 7 + round_no)], with_ranks=False)
            await updates.until(round_no * connections)
            received_s += time.perf_counter() - t0
            after = await server.metrics()
            for _ in range(100):  # the round's counters land after its frames do
                if after["frames"] - before["frames"] >= connections:
                    break
                await asyncio.sleep(0.05)
                after = await server.metrics()
            frames += after["frames"] - before["frames"]
            send_s += after["send_s"] - before["send_s"]
            await asyncio.sleep(0.5)  # past the conflation window before the next change
        received = updates.count
        frame = updates.last or json.dumps({"type": "update", "note": "fan-out"})

        ids = [
            r[0]
            for r in await store.pool.fetch(
                "SELECT connection_id FROM lb_subscription WHERE board_id = $1", board
            )
        ]
        ping = json.dumps({"type": "ping", "note": "fan-out through @connections"})
        # the clients stop reading meanwhile (the kernel buffers the pings): the posting
        # process is this one, and the bare endpoint has no readers to feed either
        for task in updates.tasks:
            task.cancel()
        for ws in clients:
            ws.transport.pause_reading()
        bare = BareServer(port=server.port + 1000, dsn=server.dsn)
        try:
            # the service's @connections and a bare endpoint that answers 200 and does
            # nothing (SigV4 and HTTP on this process alone), in turns, as rank and Redis
            http_s, bare_s, gone = 0.0, 0.0, set[str]()
            for endpoint in (server.port, bare.port):  # warm-up: a fresh process is slower
                await _post_all(f"http://127.0.0.1:{endpoint}/prod", ids[:1000], ping)
            for _round in range(HTTP_ROUNDS):
                took, lost = await _post_all(f"http://127.0.0.1:{server.port}/prod", ids, ping)
                http_s, gone = http_s + took, gone | set(lost)
                took, _ = await _post_all(f"http://127.0.0.1:{bare.port}/prod", ids, ping)
                bare_s += took
            for ws in clients:
                ws.transport.resume_reading()
            await _close(clients, updates.tasks)
            # the same frames from the bare process to as many sockets of its own
            bare_loop = await _bare_fanout(
                bare, connections=connections, frame=frame, rounds=rounds
            )
        finally:
            bare.stop()
    finally:
        await store.close()
    posts = len(ids) * HTTP_ROUNDS
    return {
        "connections": connections,
        "fanout_rounds": rounds,
        "fanout_inproc_msgs_per_s": round(frames / send_s) if send_s > 0 else None,
        "fanout_inproc_frames": frames,
        "fanout_inproc_received_per_s": round(received / received_s) if received_s else None,
        "fanout_inproc_received": received,
        **bare_loop,
        "fanout_http_posts_per_s": round(posts / http_s), "fanout_http_gone": len(gone),
        "fanout_http_bare_posts_per_s": round(posts / bare_s),
        "rss_kb_per_conn": round((rss_idle - rss_before) / connections, 1),
    }  # fmt: skip


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    """The same-run ratios of a ``bench push`` result: a pure function of its figures."""
    capacity = result["capacity_submits_per_s"]
    return {
        "fanout_vs_bare_send": vs(
            result["fanout_inproc_msgs_per_s"], result["fanout_bare_msgs_per_s"]
        ),
        "http_fanout_vs_bare_endpoint": vs(
            result["fanout_http_posts_per_s"], result["fanout_http_bare_posts_per_s"]
        ),
        **{
            f"load_vs_capacity_at_{name}": vs(result[f"submit_rate_at_{name}"], capacity)
            for name in PUSH_MARGIN_MS
        },
        **{
            f"push_p99_vs_target_at_{name}": vs(
                result[f"push_p99_ms_at_{name}"], push_target_ms(result, name)
            )
            for name in PUSH_MARGIN_MS
        },
    }


def push_target_ms(result: dict[str, Any], load: str) -> float:
    """The push p99 target of the load ``load`` in ``result``: window + its margin."""
    return float(result["conflation_ms"]) + PUSH_MARGIN_MS[load]


def measure(args: Any) -> dict[str, Any]:
    """``bench push`` with the command's arguments (``spectators``, ``tickers``,
    ``load_seconds``, ``seconds`` and ``warm_up_s`` for the capacity, ``connections``,
    ``conflation_ms``)."""
    raise_fd_limit()
    secret = "bench-secret-" + "x" * 40
    port = 18000 + random.randrange(1000)
    server = Server(port=port, secret=secret, conflation_ms=args.conflation_ms)
    result: dict[str, Any] = {
        "conflation_ms": args.conflation_ms, "spectators": args.spectators,
        "tickers": args.tickers, "load_seconds": args.load_seconds,
    }  # fmt: skip
    try:
        capacity = asyncio.run(
            _capacity(server, seconds=args.seconds, warm_up_s=float(args.warm_up_s))
        )
        result["capacity_submits_per_s"] = round(capacity)
        rates = [(name, max(1.0, capacity * share)) for name, share in LOADS]
        rates.append((STEADY[0], min(STEADY[1], max(1.0, capacity))))
        for name, rate in rates:
            load = asyncio.run(_load(
                server, board=f"bench-push-{name.replace('_', '-')}", spectators=args.spectators,
                tickers=args.tickers, rate=rate, seconds=args.load_seconds,
            ))  # fmt: skip
            result.update({f"{key}_at_{name}": load[key] for key in LOAD_KEYS})
        result.update({key: result[f"{key}_at_half"] for key in LOAD_KEYS})
        result.update(asyncio.run(_fanout(
            server, connections=args.connections, rounds=FANOUT_ROUNDS
        )))  # fmt: skip
    finally:
        server.stop()
    return {**result, **ratios(result)}


def main(args: Any) -> int:
    result = measure(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:32s} {value}")
    return 0
