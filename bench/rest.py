"""``leaderboard bench rest``: REST snapshot latency through HTTP, beside Redis.

Starts the local runtime with the REST API mounted (an embedded primary and its
streaming replica in a temp dir, or ``--dsn`` without a replica), loads N entries
through the real submit path (``bench.rank._load``), waits for the replica to replay
them, then measures one request at a time over a keep-alive HTTP connection, with a
bearer token through the emulated REST authorizer, exactly as a client would:

- top-100: ``GET /v1/boards/bench/top?limit=100``;
- a player's rank: ``GET /v1/boards/bench/players/{player}``;
- around a player: ``GET /v1/boards/bench/players/{player}/around?k=5``.

In the same run, when a Redis answers on 127.0.0.1:6379, the same look-ups on a sorted
set with the same scores: ``ZREVRANGE 0 99 WITHSCORES``, ``ZREVRANK``, and ``ZREVRANK``
then ``ZREVRANGE r-5 r+5 WITHSCORES`` (two round trips). Target: rank p99 <= 5 ms.

Every ``*_vs_*`` key is ours divided by Redis's figure beside it in the same run
(:func:`ratios`). What it costs at the defaults (1M entries, 5,000 samples): the load
~30-60 s, the replica's catch-up a few seconds, the requests ~40 s, Redis ~15 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import aiohttp
import asyncpg

from authorizer.tokens import mint_token
from bench.environment import bench_database, postgres_version, redis_client
from bench.rank import BOARD, _load
from bench.stats import percentile_ms, ratio, sample, vs
from core.boards import BoardSpec
from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.rest_gateway import mount_rest

RANK_P99_TARGET_MS: Final = 5.0
AROUND_K: Final = 5
WARM_UP: Final = 200
PRIMARY_LSN: Final = "SELECT pg_current_wal_insert_lsn()"
REPLAYED: Final = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"


@contextlib.asynccontextmanager
async def _databases(dsn: str | None) -> AsyncIterator[tuple[str, str | None]]:
    """The primary and reader DSNs: ``dsn`` alone, or a fresh embedded primary + replica."""
    if dsn:
        async with bench_database(dsn) as primary:
            yield primary, None
        return
    from runtime.postgres import EmbeddedCluster

    root = Path(tempfile.mkdtemp(prefix="lb-bench-rest-"))
    cluster = EmbeddedCluster(root, fsync=True).start()
    try:
        replica = cluster.start_replica()
        yield cluster.primary.dsn, replica.dsn
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _replicated(primary: asyncpg.Pool, replica: asyncpg.Pool) -> None:
    lsn = await primary.fetchval(PRIMARY_LSN)
    while True:
        if await replica.fetchval(REPLAYED, lsn):
            return
        await asyncio.sleep(0.05)


def _summary(prefix: str, latencies: list[float] | None) -> dict[str, float | None]:
    if not latencies:
        return {f"{prefix}_p50_ms": None, f"{prefix}_p99_ms": None}
    return {
        f"{prefix}_p50_ms": round(percentile_ms(latencies, 50), 3),
        f"{prefix}_p99_ms": round(percentile_ms(latencies, 99), 3),
    }


async def _http(base: str, tok: str, keys: list[str]) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {tok}"}
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as http:

        async def get(path: str) -> None:
            async with http.get(path) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"GET {path}: expected 200, got {resp.status}")

        async def top(_: str) -> None:
            await get(f"/v1/boards/{BOARD}/top?limit=100")

        async def rank(p: str) -> None:
            await get(f"/v1/boards/{BOARD}/players/{p}")

        async def around(p: str) -> None:
            await get(f"/v1/boards/{BOARD}/players/{p}/around?k={AROUND_K}")

        for fn in (top, rank, around):
            await sample(fn, keys[:WARM_UP])
        return {
            "top100": await sample(top, keys),
            "rank": await sample(rank, keys),
            "around": await sample(around, keys),
        }


async def _redis(scores: list[int], keys: list[str]) -> dict[str, list[float]] | None:
    client: Any = await redis_client()
    if client is None:
        return None
    zkey = "lb-bench-rest"
    try:
        await client.delete(zkey)
        for start in range(0, len(scores), 10_000):
            chunk = {f"p{i}": scores[i] for i in range(start, min(len(scores), start + 10_000))}
            await client.zadd(zkey, chunk)

        async def around(p: str) -> None:
            r = await client.zrevrank(zkey, p)
            await client.zrevrange(zkey, max(0, r - AROUND_K), r + AROUND_K, withscores=True)

        return {
            "top100": await sample(lambda _: client.zrevrange(zkey, 0, 99, withscores=True), keys),
            "rank": await sample(lambda p: client.zrevrank(zkey, p), keys),
            "around": await sample(around, keys),
        }
    finally:
        await client.delete(zkey)
        await client.aclose()


async def run(*, entries: int, dsn: str | None, samples: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    scores = [rng.randrange(10**7) for _ in range(entries)]
    keys = [f"p{rng.randrange(entries)}" for _ in range(samples)]
    settings = Settings(jwt_secret=secrets.token_urlsafe(48), db_pool_max=20)  # type: ignore[arg-type]
    async with _databases(dsn) as (primary, reader):
        runtime = LocalRuntime(
            settings, dsn=primary, reader_dsn=reader, mounts=[mount_rest], broadcast=False
        )
        async with runtime:
            store = runtime.store
            await store.create_board(BoardSpec(id=BOARD))
            load_s = await _load(store, scores)
            await store.pool.execute("VACUUM ANALYZE")
            if reader is not None:
                await _replicated(store.pool, store.read_pool)
            assert settings.jwt_secret is not None
            tok = mint_token(
                secret=settings.jwt_secret, player_id=None, role="spectator",
                issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl_s=3600,
                subject="bench",
            )  # fmt: skip
            ours = await _http(runtime.http_url, tok, keys)
            postgres = await postgres_version(reader or primary)
    redis = await _redis(scores, keys)
    rank_p99 = percentile_ms(ours["rank"], 99)
    result: dict[str, Any] = {
        "entries": entries,
        "samples": samples,
        "reads_from": "replica" if reader else "primary",
        "postgres_version": postgres,
        "load_rows_per_s": round(entries / load_s),
    }
    for name in ("top100", "rank", "around"):
        result.update(_summary(name, ours[name]))
    for name in ("top100", "rank", "around"):
        result.update(_summary(f"redis_{name}", redis[name] if redis else None))
    result["rank_p99_target_ms"] = RANK_P99_TARGET_MS
    result["rank_p99_within_target"] = rank_p99 <= RANK_P99_TARGET_MS
    return {**result, **ratios(result)}


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    """The same-run ratios of a ``bench rest`` result: a pure function of its figures."""
    out: dict[str, float | None] = {
        "redis_over_ours_rank_p50": ratio(result["rank_p50_ms"], result["redis_rank_p50_ms"])
    }
    for name in ("rank", "top100", "around"):
        for q in ("p50", "p99"):
            out[f"{name}_{q}_vs_redis"] = vs(
                result[f"{name}_{q}_ms"], result[f"redis_{name}_{q}_ms"], digits=2
            )
    return out


async def measure(args: Any) -> dict[str, Any]:
    """``bench rest`` with the command's arguments (``entries``, ``dsn``, ``samples``)."""
    return await run(entries=args.entries, dsn=args.dsn, samples=args.samples)


def report(result: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result)
    lines = [
        f"REST snapshots through HTTP at {result['entries']:,} entries "
        f"(reads from the {result['reads_from']}, {result['samples']:,} samples each)"
    ]
    for name, label in (("top100", "top-100"), ("rank", "rank"), ("around", "around ±5")):
        line = (
            f"  {label:<10} p50 {result[f'{name}_p50_ms']:.3f} ms   "
            f"p99 {result[f'{name}_p99_ms']:.3f} ms"
        )
        if result[f"redis_{name}_p50_ms"] is not None:
            line += (
                f"   | redis p50 {result[f'redis_{name}_p50_ms']:.3f} ms   "
                f"p99 {result[f'redis_{name}_p99_ms']:.3f} ms"
            )
        lines.append(line)
    if result["redis_rank_p50_ms"] is None:
        lines.append("  redis      (nothing answers on 127.0.0.1:6379; baseline skipped)")
    verdict = "within" if result["rank_p99_within_target"] else "OVER"
    lines.append(f"rank p99 {verdict} the {result['rank_p99_target_ms']} ms target")
    return "\n".join(lines)


def main(args: Any) -> int:
    """``leaderboard bench rest``: args has ``entries``, ``json``, ``samples``, ``dsn``."""
    result = asyncio.run(measure(args))
    print(report(result, as_json=args.json))
    sys.stdout.flush()
    return 0
