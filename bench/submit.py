"""``leaderboard bench submit``: acked submits over WebSocket, beside Redis ZADD.

The service runs as its own process (``leaderboard up`` over a fresh embedded cluster,
fsync on). C concurrent WebSocket clients (players) each submit a score, wait for its ack
(sent only after commit), and go again, for D seconds after a warm-up that is not counted:
submits/s and ack latency. Clients are the SDK's :class:`~client.LeaderboardClient`, so its
overhead is in the numbers. The same load generator then drives Redis ``ZADD`` with C
concurrent loops, when a Redis answers on 127.0.0.1:6379, and the same clients drive a
bare front door (:mod:`bench.bare`: one aiohttp process acking a plain upsert per message,
on the same PostgreSQL), a ceiling for a front door on these libraries on this machine. Last,
server-role clients submit batches of 500 scores (a batch stays under API Gateway's 32 KB
frame), each client for its own share of the players (:func:`bench.stats.share`).

Every ``*_vs_*`` key is ours divided by the baseline beside it in the same run
(:func:`ratios`). What it costs at the defaults (10 s phases): ~2 minutes, of which
the service's start ~10 s and the warm-ups 35 s.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from bench.bare import BareServer
from bench.environment import Server, create_board, raise_fd_limit, redis_client
from bench.stats import percentile_ms, share, vs
from leaderboard_client import LeaderboardClient

BOARD = "bench-submit"
BATCH = 500
PLAYERS = 200_000  # batch phase: split into one share per server client
# Each measured phase runs after ``--warm-up-s`` of load that is not counted (15 s by
# default: bench.cli.DEFAULTS says why). The bare front door has no caches or statistics
# of its own to warm; its table is new.
BARE_WARM_UP_S = 5.0


async def _clients(base: str, count: int, tok: Callable[[int], str]) -> list[LeaderboardClient]:
    return list(await asyncio.gather(*(
        LeaderboardClient.connect(base, tok(i), open_timeout_s=60) for i in range(count)
    )))  # fmt: skip


async def singles(
    base: str,
    token: Callable[[int], str],
    clients: int,
    seconds: float,
    *,
    warm_up_s: float,
    board: str = BOARD,
) -> dict[str, Any]:
    """Closed-loop acked submits: ``clients`` players each submit, wait for the ack and go
    again, for ``seconds`` after ``warm_up_s`` that is not counted."""
    sdks = await _clients(base, clients, token)
    latencies: list[float] = []
    measured_from = time.perf_counter() + warm_up_s
    deadline = measured_from + seconds

    async def loop(i: int) -> None:
        rng = random.Random(i)
        n = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            await sdks[i].submit(board, rng.randrange(10**9), submission_id=f"p{i}-{n}", retries=0)
            if t0 >= measured_from:
                latencies.append(time.perf_counter() - t0)
            n += 1

    await asyncio.gather(*(loop(i) for i in range(clients)))
    elapsed = time.perf_counter() - measured_from
    await asyncio.gather(*(sdk.close() for sdk in sdks))
    return {
        "submits_per_s": round(len(latencies) / elapsed),
        "ack_p50_ms": round(percentile_ms(latencies, 50), 2),
        "ack_p99_ms": round(percentile_ms(latencies, 99), 2),
    }


async def _batches(
    server: Server, clients: int, seconds: float, *, warm_up_s: float
) -> dict[str, Any]:
    sdks = await _clients(server.ws_url, clients, lambda i: server.token(None, "server"))
    scores = 0
    measured_from = time.perf_counter() + warm_up_s
    deadline = measured_from + seconds

    async def loop(i: int) -> None:
        nonlocal scores
        rng = random.Random(100 + i)
        mine = share(PLAYERS, i, clients)
        while time.perf_counter() < deadline:
            batch = [(f"b{p}", rng.randrange(10**9)) for p in rng.sample(mine, BATCH)]
            t0 = time.perf_counter()
            await sdks[i].submit_batch(BOARD, batch, retries=0)
            if t0 >= measured_from:
                scores += BATCH

    await asyncio.gather(*(loop(i) for i in range(clients)))
    elapsed = time.perf_counter() - measured_from
    await asyncio.gather(*(sdk.close() for sdk in sdks))
    return {"batch_scores_per_s": round(scores / elapsed)}


async def _redis(clients: int, seconds: float) -> dict[str, Any]:
    client: Any = await redis_client()
    if client is None:
        return {"redis_zadd_per_s": None}
    key = "lb-bench-submit"
    count = 0
    deadline = time.perf_counter() + seconds

    async def loop(i: int) -> None:
        nonlocal count
        rng = random.Random(i)
        while time.perf_counter() < deadline:
            await client.zadd(key, {f"p{i}-{rng.randrange(10**6)}": rng.randrange(10**9)})
            count += 1

    began = time.perf_counter()
    try:
        await asyncio.gather(*(loop(i) for i in range(clients)))
    finally:
        elapsed = time.perf_counter() - began
        await client.delete(key)
        await client.aclose()
    return {"redis_zadd_per_s": round(count / elapsed)}


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    """The same-run ratios of a ``bench submit`` result: a pure function of its figures."""
    acked = result["submits_per_s"]
    return {
        "acked_vs_bare": vs(acked, result["bare_submits_per_s"]),
        "acked_vs_redis_zadd": vs(acked, result["redis_zadd_per_s"]),
        # the names of the first release of this bench, same values
        "ratio_vs_redis_zadd": vs(acked, result["redis_zadd_per_s"]),
        "ratio_vs_bare": vs(acked, result["bare_submits_per_s"]),
    }


def measure(args: Any) -> dict[str, Any]:
    """``bench submit`` with the command's arguments (``seconds``, ``warm_up_s``)."""
    raise_fd_limit()
    clients = 32
    warm_up_s = float(args.warm_up_s)
    server = Server(port=17000 + random.randrange(1000), secret="bench-secret-" + "x" * 40,
                    conflation_ms=100)  # fmt: skip
    try:
        asyncio.run(create_board(server.dsn, BOARD, policy="best"))
        result: dict[str, Any] = {"clients": clients, "seconds": args.seconds,
                                  "warm_up_s": warm_up_s}  # fmt: skip
        result.update(asyncio.run(singles(
            server.ws_url, lambda i: server.token(f"p{i}", "player"), clients, args.seconds,
            warm_up_s=warm_up_s,
        )))  # fmt: skip
        result.update(asyncio.run(_redis(clients, args.seconds)))
        bare = BareServer(port=server.port + 1000, dsn=server.dsn)
        try:
            ceiling = asyncio.run(singles(
                f"ws://127.0.0.1:{bare.port}/prod", lambda i: f"p{i}", clients, args.seconds,
                warm_up_s=min(BARE_WARM_UP_S, warm_up_s),
            ))  # fmt: skip
        finally:
            bare.stop()
        result.update({f"bare_{key}": value for key, value in ceiling.items()})
        result.update(asyncio.run(_batches(server, 2, args.seconds, warm_up_s=warm_up_s)))
    finally:
        server.stop()
    return {**result, **ratios(result)}


def main(args: Any) -> int:
    result = measure(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24s} {value}")
    return 0
