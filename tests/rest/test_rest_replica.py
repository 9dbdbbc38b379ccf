"""Snapshot reads go to the streaming replica, never claim more than it applied, and fail
over to the primary when it is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest

from core.ranking import ScoreInput
from core.settings import Settings
from db.store import Store
from runtime.app import LocalRuntime
from runtime.postgres import EmbeddedCluster
from runtime.rest_gateway import RestGateway, install_rest
from tests.rest.support import (
    BOARD_SEQ,
    Client,
    replicated,
    seed_board,
    sequenced,
    settle,
    token,
)

IN_RECOVERY = "SELECT pg_is_in_recovery()"


async def test_reader_pool_is_the_replica(rest_runtime: tuple[LocalRuntime, RestGateway]) -> None:
    """The REST reads' pool is a server in recovery (the replica); the primary is not."""
    store = rest_runtime[1].services.reads.store
    assert await store.read_pool.fetchval(IN_RECOVERY) is True
    assert await store.pool.fetchval(IN_RECOVERY) is False
    assert rest_runtime[1].services.reads.replica_usable()


async def test_reads_hit_the_replica(client: Client, runtime: LocalRuntime) -> None:
    """With replay paused on the replica, REST reads show the replica's state, not the primary's."""
    store = runtime.store
    await seed_board(store, "rp-paused", 3)
    await settle(store)
    _, _, before = await client.get("/v1/boards/rp-paused/top")
    await store.read_pool.execute("SELECT pg_wal_replay_pause()")
    try:
        await store.submit("rp-paused", [ScoreInput("leader", 10**8)])
        await sequenced(store)
        primary_seq = await store.pool.fetchval(BOARD_SEQ, "rp-paused")
        replica_seq = await store.read_pool.fetchval(BOARD_SEQ, "rp-paused")
        assert primary_seq > replica_seq
        for path in ("/top", "", "/players/p001", "/players/p001/around", "/friends?players=p001"):
            status, _, body = await client.get(f"/v1/boards/rp-paused{path}")
            assert status == 200 and body["as_of_seq"] == replica_seq
        _, _, during = await client.get("/v1/boards/rp-paused/top")
        assert during == before
        assert "leader" not in {e["player_id"] for e in during["entries"]}
    finally:
        await store.read_pool.execute("SELECT pg_wal_replay_resume()")
    await replicated(store.pool, store.read_pool)
    _, _, after = await client.get("/v1/boards/rp-paused/top")
    assert after["entries"][0]["player_id"] == "leader" and after["as_of_seq"] == primary_seq


async def _write_until(store: Store, board: str, stop: asyncio.Event, players: int) -> int:
    rng = random.Random(7)
    writes = 0
    while not stop.is_set():
        pid = f"w{rng.randrange(players):03d}"
        await store.submit(board, [ScoreInput(pid, rng.randrange(10**6))])
        writes += 1
        await asyncio.sleep(0.002)
    return writes


async def test_as_of_seq_never_exceeds_the_replica(client: Client, runtime: LocalRuntime) -> None:
    """Under writes, every snapshot's as_of_seq is at most what the replica has applied."""
    store = runtime.store
    await seed_board(store, "rp-live", 0)
    await store.submit("rp-live", [ScoreInput("w000", 1)])
    await settle(store)
    stop = asyncio.Event()
    writer = asyncio.create_task(_write_until(store, "rp-live", stop, 50))
    seen: set[int] = set()
    try:
        for i in range(60):
            path = ["/top", "", "/players/w000", "/players/w000/around"][i % 4]
            status, _, body = await client.get(f"/v1/boards/rp-live{path}")
            assert status == 200
            applied = await store.read_pool.fetchval(BOARD_SEQ, "rp-live")
            assert body["as_of_seq"] <= applied
            assert body["as_of_seq"] <= await store.pool.fetchval(BOARD_SEQ, "rp-live")
            seen.add(body["as_of_seq"])
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        assert await writer > 0
    assert len(seen) > 3, f"the board should have moved during the reads, saw {seen}"


async def test_pagination_is_stable_under_writes(client: Client, runtime: LocalRuntime) -> None:
    """Walking pages while other entries move never skips or repeats an entry that did not move."""
    store = runtime.store
    await seed_board(store, "rp-pages", 0)
    steady = [ScoreInput(f"s{i:03d}", i * 1000) for i in range(120)]
    movers = [ScoreInput(f"m{i:03d}", i * 1000 + 500) for i in range(40)]
    await store.submit("rp-pages", steady + movers)
    await settle(store)
    rng = random.Random(3)
    stop = asyncio.Event()

    async def move() -> None:
        while not stop.is_set():
            mover = rng.randrange(40)
            await store.submit("rp-pages", [ScoreInput(f"m{mover:03d}", rng.randrange(130_000))])
            await asyncio.sleep(0.003)

    writer = asyncio.create_task(move())
    pages: list[list[str]] = []
    cursor = None
    try:
        while True:
            status, _, body = await client.get("/v1/boards/rp-pages/top", limit=15, cursor=cursor)
            assert status == 200
            pages.append([e["player_id"] for e in body["entries"]])
            cursor = body["next_cursor"]
            if cursor is None:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await writer
    walked = [p for page in pages for p in page if p.startswith("s")]
    expected = [f"s{i:03d}" for i in reversed(range(120))]
    assert walked == expected


class TcpRelay:
    """A TCP relay to the replica that a test can cut, as a network failure would."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.flowing = asyncio.Event()
        self.flowing.set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()

    def stall(self) -> None:
        """Stop passing bytes either way, connections kept open: a frozen server (SIGSTOP)."""
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()


def relayed_runtime(
    migrated: EmbeddedCluster, settings: Settings, port: int, gateways: list[RestGateway]
) -> LocalRuntime:
    """A runtime reading the replica through the relay on ``port`` (0.3 s cooldown); its
    REST gateway lands in ``gateways`` once started."""
    assert migrated.replica is not None
    reader_dsn = migrated.replica.dsn.replace(f":{migrated.replica.port}/", f":{port}/")
    return LocalRuntime(
        settings, dsn=migrated.primary.dsn, reader_dsn=reader_dsn, broadcast=False,
        mounts=[lambda app, svc: gateways.append(install_rest(app, svc, cooldown_s=0.3))],
    )  # fmt: skip


@pytest.fixture
async def relayed(
    migrated: EmbeddedCluster, settings_rest: Settings
) -> AsyncIterator[tuple[LocalRuntime, RestGateway, TcpRelay, int]]:
    """A runtime whose reader DSN goes through a relay to the replica (0.3 s cooldown)."""
    assert migrated.replica is not None
    relay = TcpRelay(migrated.replica.port)
    port = await relay.start()
    gateways: list[RestGateway] = []
    async with relayed_runtime(migrated, settings_rest, port, gateways) as runtime:
        yield runtime, gateways[0], relay, port
    with contextlib.suppress(Exception):
        await relay.cut()


async def test_replica_down_fails_over_with_a_warning(
    relayed: tuple[LocalRuntime, RestGateway, TcpRelay, int],
    http: aiohttp.ClientSession,
    settings_rest: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the replica unreachable, reads answer from the primary and log a warning, then
    return to the replica once it is back."""
    runtime, gateway, relay, port = relayed
    client = Client(runtime.http_url, http, token(settings_rest))
    store = runtime.store
    await seed_board(store, "rp-failover", 5)
    await settle(store)
    assert (await client.get("/v1/boards/rp-failover/top"))[0] == 200
    await relay.cut()
    await store.submit("rp-failover", [ScoreInput("fresh", 10**8)])
    await sequenced(store)
    caplog.set_level(logging.WARNING, logger="leaderboard.rest.reads")
    for path in ("/top", "/players/p001", ""):
        status, _, body = await client.get(f"/v1/boards/rp-failover{path}")
        assert status == 200, body
        assert body["as_of_seq"] == await store.pool.fetchval(BOARD_SEQ, "rp-failover")
    warnings = [r for r in caplog.records if r.name == "leaderboard.rest.reads"]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    assert "reading from the primary" in warnings[0].getMessage()
    assert not gateway.services.reads.replica_usable()
    await relay.start(port)
    await asyncio.sleep(0.35)
    status, _, body = await client.get("/v1/boards/rp-failover/top")
    assert status == 200 and gateway.services.reads.replica_usable()


async def test_a_replica_down_at_start_costs_only_a_failover(
    migrated: EmbeddedCluster, settings_rest: Settings, http: aiohttp.ClientSession
) -> None:
    """A service (a cold Lambda) started while its replica is unreachable still starts,
    answers from the primary, and reads from the replica once it is reachable."""
    assert migrated.replica is not None
    relay = TcpRelay(migrated.replica.port)
    port = await relay.start()
    await relay.cut()  # the replica's address now refuses connections
    gateways: list[RestGateway] = []
    async with relayed_runtime(migrated, settings_rest, port, gateways) as runtime:
        client = Client(runtime.http_url, http, token(settings_rest))
        await seed_board(runtime.store, "rp-cold", 3)
        await sequenced(runtime.store)
        status, _, body = await client.get("/v1/boards/rp-cold/top")
        assert status == 200, body
        assert [e["player_id"] for e in body["entries"]] == ["p001", "p002", "p003"]
        assert not gateways[0].services.reads.replica_usable()
        await relay.start(port)
        await settle(runtime.store)
        await asyncio.sleep(0.35)
        status, _, _ = await client.get("/v1/boards/rp-cold/top")
        assert status == 200 and gateways[0].services.reads.replica_usable()
    await relay.cut()


async def test_a_stalled_replica_fails_over_within_the_read_timeout(
    migrated: EmbeddedCluster, settings_rest: Settings, http: aiohttp.ClientSession
) -> None:
    """With the replica frozen mid-read, every read answers from the primary within the
    read timeout plus one primary read (the replica's connections are terminated, not
    cancelled), and after the cooldown one probe, not every read, tries the replica."""
    assert migrated.replica is not None
    relay = TcpRelay(migrated.replica.port)
    port = await relay.start()
    reader_dsn = migrated.replica.dsn.replace(f":{migrated.replica.port}/", f":{port}/")
    gateways: list[RestGateway] = []
    timeout_s, cooldown_s = 0.5, 1.0
    runtime = LocalRuntime(
        settings_rest, dsn=migrated.primary.dsn, reader_dsn=reader_dsn, broadcast=False,
        mounts=[lambda app, svc: gateways.append(
            install_rest(app, svc, cooldown_s=cooldown_s, timeout_s=timeout_s))],
    )  # fmt: skip
    async with runtime:
        client = Client(runtime.http_url, http, token(settings_rest))
        await seed_board(runtime.store, "rp-stall", 3)
        await settle(runtime.store)
        assert (await client.get("/v1/boards/rp-stall/top"))[0] == 200
        reads = gateways[0].services.reads
        relay.stall()
        loop = asyncio.get_running_loop()

        async def timed() -> tuple[int, float]:
            started = loop.time()
            status, _, _ = await client.get("/v1/boards/rp-stall/top")
            return status, loop.time() - started

        first = await asyncio.gather(*(timed() for _ in range(8)))
        assert all(status == 200 for status, _ in first)
        # generous: the timeout, then one primary read on a shared machine
        assert max(took for _, took in first) < timeout_s + 2.0, first
        assert reads.replica.state == "cooling" and reads.replica.failovers == 1
        assert not reads.replica_usable()
        await asyncio.sleep(cooldown_s + 0.1)
        assert reads.replica_usable()
        probe = asyncio.create_task(timed())
        await asyncio.sleep(0.05)
        assert reads.replica.state == "probing" and not reads.replica_usable()
        others = await asyncio.gather(*(timed() for _ in range(4)))
        assert all(status == 200 and took < timeout_s for status, took in others), others
        assert (await probe)[0] == 200
        assert reads.replica.state == "cooling" and reads.replica.failovers == 2
        relay.resume()
        await asyncio.sleep(cooldown_s + 0.1)
        assert (await client.get("/v1/boards/rp-stall/top"))[0] == 200
        assert reads.replica.state == "ok" and reads.replica_usable()
    relay.resume()
    await relay.cut()
