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
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from bench.bare import BareServer
from bench.environment import redis_client
from bench.push import Server, _raise_fd_limit, create_board
from bench.stats import percentile_ms, share
from leaderboard_client import LeaderboardClient

BOARD = "bench-submit"
BATCH = 500
PLAYERS = 200_000  # batch phase: split into one share per server client
# Load that runs before each measured phase and is not counted. A freshly started service is
# slower for its first seconds (cold pools, plan caches and table statistics): 32 players
# against a fresh server acked 661, 735 and 760 submits/s in its first three 5 s windows,
# then 967, 1,014, 956 and 987.
WARM_UP_S = 15.0
# The bare front door has no caches or statistics of its own to warm; its table is new.
BARE_WARM_UP_S = 5.0


async def _setup(server: Server) -> None:
    await create_board(server.dsn, BOARD, policy="best")


async def _clients(base: str, count: int, tok: Callable[[int], str]) -> list[LeaderboardClient]:
    return list(await asyncio.gather(*(
        LeaderboardClient.connect(base, tok(i), open_timeout_s=60) for i in range(count)
    )))  # fmt: skip


async def _singles(
    base: str, token: Callable[[int], str], clients: int, seconds: float, *, warm_up_s: float
) -> dict[str, Any]:
    sdks = await _clients(base, clients, token)
    latencies: list[float] = []
    measured_from = time.perf_counter() + warm_up_s
    deadline = measured_from + seconds

    async def loop(i: int) -> None:
        rng = random.Random(i)
        n = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            await sdks[i].submit(BOARD, rng.randrange(10**9), submission_id=f"p{i}-{n}", retries=0)
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


async def _batches(server: Server, clients: int, seconds: float) -> dict[str, Any]:
    base = f"ws://127.0.0.1:{server.port}/prod"
    sdks = await _clients(base, clients, lambda i: server.token(None, "server"))
    scores = 0
    measured_from = time.perf_counter() + WARM_UP_S
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


def main(args: Any) -> int:
    _raise_fd_limit()
    clients = 32
    server = Server(port=17000 + random.randrange(1000), secret="bench-secret-" + "x" * 40,
                    conflation_ms=100)  # fmt: skip
    try:
        asyncio.run(_setup(server))
        result = asyncio.run(_singles(
            f"ws://127.0.0.1:{server.port}/prod", lambda i: server.token(f"p{i}", "player"),
            clients, args.seconds, warm_up_s=WARM_UP_S,
        ))  # fmt: skip
        result.update(asyncio.run(_redis(clients, args.seconds)))
        bare = BareServer(port=server.port + 1000, dsn=server.dsn)
        try:
            ceiling = asyncio.run(_singles(
                f"ws://127.0.0.1:{bare.port}/prod", lambda i: f"p{i}", clients, args.seconds,
                warm_up_s=BARE_WARM_UP_S,
            ))  # fmt: skip
        finally:
            bare.stop()
        result.update({f"bare_{key}": value for key, value in ceiling.items()})
        result.update(asyncio.run(_batches(server, 2, args.seconds)))
    finally:
        server.stop()
    zadd = result.get("redis_zadd_per_s")
    result["ratio_vs_redis_zadd"] = round(result["submits_per_s"] / zadd, 3) if zadd else None
    result["ratio_vs_bare"] = round(result["submits_per_s"] / result["bare_submits_per_s"], 3)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24s} {value}")
    return 0
