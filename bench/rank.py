"""``leaderboard bench rank``: exact-rank latency at scale, and write throughput.

Loads N entries through the real submit path (batches, ranks off) while the compactor
runs, then measures, in the same run and on the same data:
  - our exact rank of random players (``Store.fetch_rank``, pool and all) and Redis
    ``ZREVRANK`` of the same players when a Redis answers on 127.0.0.1:6379, taking turns
    key by key, so that the machine's drift during the run weighs on both alike;
  - a naive ``COUNT(*)`` over the order index;
  - the display rank of the same players by each tie mode that counts
    (``lb_display_before``: ``competition``, the entries with a better score, and
    ``dense``, the distinct better scores), taking turns with the exact rank key by key
    (dense on a subset: its skip scan costs a probe per distinct better score);
  - single upserts over 16 connections with the rank structure and feed maintained (with
    the new rank in each reply, and without), beside the same upsert into a plain table
    with the same indexes;
  - batched rows (1,000 per batch, two writers), with ranks in the reply and without,
    beside the same 1,000-row upsert into the plain table from one writer
    (``batch_rows_plain_per_s``). Like concurrent matches, concurrent batches carry
    different players: each writer draws from its own half of the players. (Drawn from
    all of them, two batches of 1,000 out of 100,000 share a player or more nearly every
    time, and the second waits on that row's lock until the first commits, so the writers
    ran one at a time.)

Every ``*_vs_*`` key is ours divided by the baseline beside it in the same run
(:func:`ratios`): a latency ratio above 1 and a throughput ratio below 1 mean slower.

What it costs at the defaults (1M entries, 10 s phases) on a 2-core machine: the load
~30-60 s, Redis's copy ~10 s, the samples ~15 s, the six write phases 60 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

from bench.environment import bench_database, postgres_version, redis_client, redis_version
from bench.stats import percentile_ms, ratio, sample, sample_interleaved, share, vs
from core.boards import BoardSpec, UpdatePolicy
from core.ranking import ScoreInput
from core.settings import Settings
from db.compaction import compact_all
from db.store import Store
from runtime.app import maintain

BOARD: Final = "bench"
WRITES: Final = "bench-writes"
BATCH: Final = 1000

NAIVE_RANK: Final = """
SELECT count(*) + 1 FROM lb_entry e
  JOIN lb_season s ON s.board_id = $1
  JOIN lb_entry m ON m.season_no = s.season_no AND m.player_id = $2
 WHERE e.season_no = s.season_no
   AND (e.sort_score, e.achieved_at, e.player_id) < (m.sort_score, m.achieved_at, m.player_id)"""

DISPLAY_RANK: Final = """
SELECT lb_display_before(l.season_no, $3, me.sort_score) + 1
  FROM lb_ladder l
  JOIN lb_entry me ON me.season_no = l.season_no AND me.player_id = $2
 WHERE l.board_id = $1 AND l.season = l.current_season"""
DENSE_SHARE: Final = 250
"""Dense display ranks are sampled on one key in this many (at least 20)."""

PLAIN_TABLE: Final = """
CREATE TABLE IF NOT EXISTS bench_plain (
    season_no integer NOT NULL, player_id text COLLATE "C" NOT NULL, score bigint NOT NULL,
    sort_score bigint NOT NULL, achieved_at timestamptz NOT NULL, updates integer NOT NULL,
    metadata jsonb, PRIMARY KEY (season_no, player_id));
CREATE INDEX IF NOT EXISTS bench_plain_order
    ON bench_plain (season_no, sort_score, achieved_at, player_id)"""
PLAIN_UPSERT: Final = """
INSERT INTO bench_plain AS e (season_no, player_id, score, sort_score, achieved_at, updates)
VALUES (1, $1, $2::bigint, -$2::bigint, now(), 1)
ON CONFLICT (season_no, player_id) DO UPDATE SET
    score = excluded.score, sort_score = excluded.sort_score,
    achieved_at = excluded.achieved_at, updates = e.updates + 1"""
PLAIN_BATCH_UPSERT: Final = """
INSERT INTO bench_plain AS e (season_no, player_id, score, sort_score, achieved_at, updates)
SELECT 1, t.player_id, t.score, -t.score, now(), 1
  FROM unnest($1::text[], $2::bigint[]) AS t(player_id, score)
ON CONFLICT (season_no, player_id) DO UPDATE SET
    score = excluded.score, sort_score = excluded.sort_score,
    achieved_at = excluded.achieved_at, updates = e.updates + 1"""


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rows", file=sys.stderr, disable=None)


async def _maintain(store: Store, stop: asyncio.Event) -> None:
    """The runtime's maintenance loop: compact and sequence every 100 ms."""
    while not stop.is_set():
        await maintain(store.pool)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)


async def _load(store: Store, scores: list[int]) -> float:
    n = len(scores)
    bar = _progress(n, "loading")
    queue: asyncio.Queue[int] = asyncio.Queue()
    for start in range(0, n, BATCH):
        queue.put_nowait(start)

    async def loader() -> None:
        while not queue.empty():
            start = queue.get_nowait()
            chunk = [ScoreInput(f"p{i}", scores[i]) for i in range(start, min(n, start + BATCH))]
            await store.submit(BOARD, chunk, with_ranks=False)
            bar.update(len(chunk))

    stop = asyncio.Event()
    began = time.perf_counter()
    maintainer = asyncio.create_task(_maintain(store, stop))
    await asyncio.gather(*(loader() for _ in range(3)))
    stop.set()
    await maintainer
    while any(not r.skipped and r.folded_buckets for r in await compact_all(store.pool)):
        pass
    bar.close()
    return time.perf_counter() - began


@contextlib.asynccontextmanager
async def _redis_ladder(scores: list[int]) -> AsyncIterator[Callable[[str], Awaitable[Any]] | None]:
    """The same ladder in a Redis sorted set, as its ``ZREVRANK``; None without a Redis."""
    client: Any = await redis_client()
    if client is None:
        yield None
        return
    zkey = "lb-bench-rank"
    try:
        await client.delete(zkey)
        bar = _progress(len(scores), "redis load")
        for start in range(0, len(scores), 10_000):
            chunk = {f"p{i}": scores[i] for i in range(start, min(len(scores), start + 10_000))}
            await client.zadd(zkey, chunk)
            bar.update(len(chunk))
        bar.close()
        yield lambda p: client.zrevrank(zkey, p)
    finally:
        await client.delete(zkey)
        await client.aclose()


async def _throughput(worker: Any, *, workers: int, seconds: float) -> float:
    """Operations per second of ``workers`` concurrent loops over ``seconds``.

    ``worker(rng, lane, lanes)`` does one operation and returns how many rows it wrote.
    """
    deadline = time.perf_counter() + seconds
    counts = [0] * workers

    async def loop(i: int) -> None:
        rng = random.Random(i)
        while time.perf_counter() < deadline:
            counts[i] += await worker(rng, i, workers)

    began = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(workers)))
    return sum(counts) / (time.perf_counter() - began)


async def _writes(store: Store, seconds: float) -> dict[str, float]:
    await store.create_board(BoardSpec(id=WRITES, policy=UpdatePolicy.LATEST))
    players = 100_000

    async def single(rng: random.Random, _lane: int, _lanes: int) -> int:
        await store.submit(WRITES, [ScoreInput(f"w{rng.randrange(players)}", rng.randrange(10**6))])
        return 1

    async def single_bulk(rng: random.Random, _lane: int, _lanes: int) -> int:
        score = ScoreInput(f"w{rng.randrange(players)}", rng.randrange(10**6))
        await store.submit(WRITES, [score], with_ranks=False)
        return 1

    async def plain(rng: random.Random, _lane: int, _lanes: int) -> int:
        await store.pool.execute(PLAIN_UPSERT, f"w{rng.randrange(players)}", rng.randrange(10**6))
        return 1

    def batch_of(rng: random.Random, lane: int, lanes: int) -> list[ScoreInput]:
        mine = share(players, lane, lanes)
        return [ScoreInput(f"w{p}", rng.randrange(10**6)) for p in rng.sample(mine, BATCH)]

    async def plain_batch(rng: random.Random, lane: int, lanes: int) -> int:
        batch = batch_of(rng, lane, lanes)
        await store.pool.execute(
            PLAIN_BATCH_UPSERT, [b.player_id for b in batch], [b.score for b in batch]
        )
        return BATCH

    async def batch(rng: random.Random, lane: int, lanes: int) -> int:
        await store.submit(WRITES, batch_of(rng, lane, lanes))
        return BATCH

    async def batch_bulk(rng: random.Random, lane: int, lanes: int) -> int:
        await store.submit(WRITES, batch_of(rng, lane, lanes), with_ranks=False)
        return BATCH

    await store.pool.execute(PLAIN_TABLE)
    stop = asyncio.Event()
    maintainer = asyncio.create_task(_maintain(store, stop))
    try:
        result = {
            "upserts_per_s": await _throughput(single, workers=16, seconds=seconds),
            "upserts_noranks_per_s": await _throughput(single_bulk, workers=16, seconds=seconds),
            "batch_rows_per_s": await _throughput(batch, workers=2, seconds=seconds),
            "batch_rows_noranks_per_s": await _throughput(batch_bulk, workers=2, seconds=seconds),
        }
    finally:
        stop.set()
        await maintainer
    result["upserts_plain_per_s"] = await _throughput(plain, workers=16, seconds=seconds)
    result["batch_rows_plain_per_s"] = await _throughput(plain_batch, workers=1, seconds=seconds)
    return result


async def run(
    *, entries: int, dsn: str | None, samples: int, seconds: float, seed: int = 1
) -> dict[str, Any]:
    rng = random.Random(seed)
    scores = [rng.randrange(10**7) for _ in range(entries)]
    async with bench_database(dsn) as database:
        settings = Settings(db_pool_max=20)
        store = await Store.open(settings, dsn=database)
        try:
            await store.create_board(BoardSpec(id=BOARD))
            load_s = await _load(store, scores)
            await store.pool.execute("VACUUM ANALYZE")
            keys = [f"p{rng.randrange(entries)}" for _ in range(samples)]
            async with _redis_ladder(scores) as zrevrank:
                # ours and Redis take turns, key by key (this machine's speed drifts)
                fns = [lambda p: store.fetch_rank(BOARD, p), *([zrevrank] if zrevrank else [])]
                await sample_interleaved(fns, keys[:200])  # warm up
                ours, *theirs = await sample_interleaved(fns, keys)
            redis = (
                {"p50": percentile_ms(theirs[0], 50), "p99": percentile_ms(theirs[0], 99)}
                if theirs
                else None
            )
            naive = await sample(
                lambda p: store.pool.fetchval(NAIVE_RANK, BOARD, p), keys[: max(20, samples // 25)]
            )
            shown = {}
            for mode, subset in (
                ("competition", keys), ("dense", keys[: max(20, samples // DENSE_SHARE)])
            ):  # fmt: skip

                async def display_rank(p: str, mode: str = mode) -> Any:
                    return await store.read_pool.fetchval(DISPLAY_RANK, BOARD, p, mode)

                exact, display = await sample_interleaved(
                    [lambda p: store.fetch_rank(BOARD, p), display_rank], subset
                )
                shown[mode] = (exact, display)
            writes = await _writes(store, seconds)
            postgres = await postgres_version(database)
        finally:
            await store.close()
    result: dict[str, Any] = {
        "entries": entries,
        "samples": samples,
        "seconds": seconds,
        "postgres_version": postgres,
        "redis_version": await redis_version(),
        "load_rows_per_s": round(entries / load_s),
        "rank_p50_ms": round(percentile_ms(ours, 50), 3),
        "rank_p99_ms": round(percentile_ms(ours, 99), 3),
        "naive_p50_ms": round(percentile_ms(naive, 50), 3),
        "naive_p99_ms": round(percentile_ms(naive, 99), 3),
        "redis_p50_ms": round(redis["p50"], 3) if redis else None,
        "redis_p99_ms": round(redis["p99"], 3) if redis else None,
        "display_rank_p50_ms": {m: round(percentile_ms(d, 50), 3) for m, (_, d) in shown.items()},
        "display_rank_p99_ms": {m: round(percentile_ms(d, 99), 3) for m, (_, d) in shown.items()},
        "display_rank_exact_p50_ms": {
            m: round(percentile_ms(e, 50), 3) for m, (e, _) in shown.items()
        },
        **{k: round(v) for k, v in writes.items()},
    }
    return {**result, **ratios(result)}


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """The same-run ratios of a ``bench rank`` result: a pure function of its figures.

    ``display_rank_vs_rank_p50`` divides each tie mode's display-rank p50 by the p50 of the
    exact rank sampled in turns with it (``display_rank_exact_p50_ms``)."""
    exact = result.get("display_rank_exact_p50_ms") or {}
    return {
        "display_rank_vs_rank_p50": {
            m: vs(v, exact.get(m), digits=2)
            for m, v in (result.get("display_rank_p50_ms") or {}).items()
        },
        "speedup_vs_naive_p50": ratio(result["rank_p50_ms"], result["naive_p50_ms"]),
        "redis_over_ours_p50": ratio(result["rank_p50_ms"], result["redis_p50_ms"]),
        "rank_p50_vs_redis": vs(result["rank_p50_ms"], result["redis_p50_ms"], digits=2),
        "rank_p99_vs_redis": vs(result["rank_p99_ms"], result["redis_p99_ms"], digits=2),
        "upserts_vs_plain": vs(result["upserts_per_s"], result["upserts_plain_per_s"]),
        "upserts_noranks_vs_plain": vs(
            result["upserts_noranks_per_s"], result["upserts_plain_per_s"]
        ),
        "batch_vs_plain": vs(result["batch_rows_per_s"], result["batch_rows_plain_per_s"]),
        "batch_noranks_vs_plain": vs(
            result["batch_rows_noranks_per_s"], result["batch_rows_plain_per_s"]
        ),
    }


async def measure(args: Any) -> dict[str, Any]:
    """``bench rank`` with the command's arguments (``entries``, ``dsn``, ``samples``,
    ``seconds``)."""
    return await run(entries=args.entries, dsn=args.dsn, samples=args.samples, seconds=args.seconds)


def report(result: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result)
    lines = [f"exact rank at {result['entries']:,} entries"]
    lines.append(
        f"  ours        p50 {result['rank_p50_ms']:.3f} ms   p99 {result['rank_p99_ms']:.3f} ms"
    )
    lines.append(
        f"  naive COUNT p50 {result['naive_p50_ms']:.3f} ms   p99 {result['naive_p99_ms']:.3f} ms"
        f"   -> ours is {result['speedup_vs_naive_p50']}x faster"
    )
    if result["redis_p50_ms"] is not None:
        lines.append(
            f"  redis       p50 {result['redis_p50_ms']:.3f} ms   p99 {result['redis_p99_ms']:.3f} ms"
            f"   -> ours/redis = {result['rank_p50_vs_redis']}"
        )
    else:
        lines.append("  redis       (nothing answers on 127.0.0.1:6379; baseline skipped)")
    for mode, p50 in (result.get("display_rank_p50_ms") or {}).items():
        lines.append(
            f"  display rank ({mode}) p50 {p50:.3f} ms   "
            f"p99 {result['display_rank_p99_ms'][mode]:.3f} ms"
            f"   -> display/exact = {result['display_rank_vs_rank_p50'][mode]}"
        )
    lines.append(
        f"writes: {result['upserts_per_s']:,}/s single upserts over 16 connections with ranks, "
        f"{result['upserts_noranks_per_s']:,}/s without "
        f"(plain upsert {result['upserts_plain_per_s']:,}/s: ours/plain = "
        f"{result['upserts_vs_plain']})"
    )
    lines.append(
        f"        {result['batch_rows_per_s']:,} rows/s batched with ranks, "
        f"{result['batch_rows_noranks_per_s']:,} rows/s without "
        f"(plain 1,000-row upsert, one writer, {result['batch_rows_plain_per_s']:,} rows/s: "
        f"ours/plain = {result['batch_vs_plain']})"
    )
    return "\n".join(lines)
