"""Faults done to the real service, checked from the database itself.

Each scenario drives load with unique submission ids at ``leaderboard up`` (its own
process, with the embedded primary and streaming replica), does to it what goes wrong in
production, and then checks what the database says (:func:`~tests.faults.harness.audit`):
every acked submit stored exactly once, nothing refused before any work stored, ranks
equal to a brute-force count; and what clients saw: typed errors only. Recovery times are
bounded generously (a shared machine); the measured figures are printed at the end of
the run (``fault suite figures``) and written to ``var/faults-figures.json``.

The scenarios share one service and run in file order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from typing import Any

import aiohttp
import asyncpg
import pytest
from websockets.asyncio.client import connect

from leaderboard_client import LeaderboardClient, LeaderboardError
from tests.faults.harness import (
    BOARD,
    Audit,
    Load,
    Service,
    audit,
    percentile,
    port_held,
    token,
)

pytestmark = pytest.mark.timeout(240)
Figures = dict[str, dict[str, Any]]
STATE: dict[str, Any] = {}


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def check(result: Audit, load: Load) -> None:
    assert result.lost == 0, result
    assert result.duplicates == 0, result
    assert result.refused_but_stored == 0, result
    assert result.invented == 0, result
    assert result.rank_mismatches == 0, result
    assert load.typed_share() == 1.0, load.untyped[:5]


def summary(result: Audit, load: Load) -> dict[str, Any]:
    return {
        "acked": result.acked, "stored": result.stored, "lost": result.lost,
        "duplicates": result.duplicates, "typed_error_share": load.typed_share(),
        "errors": load.errors(), "rank_mismatches": result.rank_mismatches,
    }  # fmt: skip


async def ready(svc: Service, http: aiohttp.ClientSession) -> tuple[int, dict[str, Any]]:
    try:
        async with http.get(f"{svc.http_url}/health/ready", timeout=aiohttp.ClientTimeout(5)) as r:
            return r.status, await r.json()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return 0, {"error": repr(exc)}


async def wait_ready(
    svc: Service, http: aiohttp.ClientSession, *, reader_ok: bool = False, within_s: float = 90
) -> float:
    """Seconds until /health/ready is 200 (and, with ``reader_ok``, the reader is fine)."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        status, body = await ready(svc, http)
        if status == 200 and (not reader_ok or body.get("status") == "ok"):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    tail = "".join(svc.output[-30:])
    raise AssertionError(f"not ready within {within_s} s: {body}\n{tail}")


async def closed_loop(svc: Service, clients: int, seconds: float) -> tuple[list[float], float]:
    """``clients`` connections each submitting and waiting for the ack: latencies, acks/s."""
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds

    async def one(i: int) -> None:
        async with connect(f"{svc.ws_url}?token={token()}") as ws:
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                sid = f"cl-{i}-{n}-{time.monotonic_ns()}"
                sent = time.monotonic()
                await ws.send(json.dumps({"action": "submit", "board": BOARD, "player":
                                          f"c{i:02d}", "score": 1, "submission_id": sid,
                                          "request_id": sid}))  # fmt: skip
                while json.loads(await ws.recv()).get("request_id") != sid:
                    pass
                latencies.append(time.monotonic() - sent)

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(clients)))
    return latencies, len(latencies) / (time.monotonic() - started)


async def rest_reads(svc: Service, rate: float, seconds: float) -> list[tuple[int, float]]:
    """GET top at ``rate`` per second for ``seconds``: (status, seconds taken) of each."""
    results: list[tuple[int, float]] = []
    headers = {"Authorization": f"Bearer {token('spectator')}"}
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            started = time.monotonic()
            try:
                async with http.get(f"{svc.http_url}/v1/boards/{BOARD}/top?limit=10",
                                    headers=headers, timeout=aiohttp.ClientTimeout(30)) as r:  # fmt: skip
                    await r.read()
                    results.append((r.status, time.monotonic() - started))
            except (aiohttp.ClientError, TimeoutError):
                results.append((0, time.monotonic() - started))

        tasks = []
        for _ in range(int(rate * seconds)):
            tasks.append(asyncio.create_task(one()))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return results


@pytest.fixture
async def http() -> Any:
    async with aiohttp.ClientSession() as session:
        yield session


# --- the scenarios, in order -----------------------------------------------------------


async def test_baseline(service: Service, figures: Figures) -> None:
    """Unloaded, a submit is acked in milliseconds; this run's capacity is measured for the
    overload scenario."""
    latencies, _ = await closed_loop(service, 1, 3.0)
    _, capacity = await closed_loop(service, 32, 5.0)
    STATE["capacity"] = capacity
    figures["baseline"] = {
        "idle_ack_p50_ms": ms(percentile(latencies, 50)),
        "idle_ack_p99_ms": ms(percentile(latencies, 99)),
        "capacity_acks_per_s": round(capacity),
    }
    assert capacity > 20


async def test_primary_sigkill(service: Service, figures: Figures, http: Any) -> None:
    """SIGKILL of the primary under 200 submits/s: it is restarted, submits in the window
    get typed retryable errors, acks resume, nothing acked is lost or doubled."""
    log_before = service.log_bytes()
    load = Load(service.ws_url, rate=200, clients=8, prefix="pk").start()
    await asyncio.sleep(4)
    killed_at = time.monotonic()
    os.kill(service.postmaster("primary"), signal.SIGKILL)
    await asyncio.sleep(0.5)
    back_s = await wait_ready(service, http)
    await asyncio.sleep(4)
    await load.stop()
    result = await audit(service.dsn, [load])
    check(result, load)
    first_ack = load.first_ack_after(killed_at + 0.5)
    figures["primary_sigkill"] = {
        **summary(result, load),
        "ready_again_s": round(back_s + 0.5, 2),
        "first_ack_after_kill_s": round(first_ack + 0.5, 2) if first_ack else None,
        "log_bytes": service.log_bytes() - log_before,
    }
    assert first_ack is not None and first_ack < 60
    assert service.proc is not None and service.proc.poll() is None


async def test_primary_outage_30s_sdk(service: Service, figures: Figures, http: Any) -> None:
    """A 30 s primary outage (killed, its port held so it cannot come back): SDK submits
    wait it out and none is lost; raw clients see only typed errors; the log stays small."""
    primary_port = service.port_of("primary")
    load = Load(service.ws_url, rate=50, clients=4, prefix="po").start()
    sdk_ids: dict[str, bool] = {}
    raised: list[str] = []

    async def sdk_submitter(i: int, stop: asyncio.Event) -> None:
        async with LeaderboardClient.connect(service.ws_url, token()) as lb:
            n = 0
            while not stop.is_set():
                n += 1
                sid = f"sdk-{i}-{n}"
                sdk_ids[sid] = False
                try:
                    await lb.submit(BOARD, 1, player=f"sdk{i}", submission_id=sid)
                    sdk_ids[sid] = True
                except LeaderboardError as exc:
                    raised.append(f"{sid}: {exc!r}")
                await asyncio.sleep(0.2)

    stop = asyncio.Event()
    sdks = [asyncio.create_task(sdk_submitter(i, stop)) for i in range(4)]
    await asyncio.sleep(3)
    log_before = service.log_bytes()
    os.kill(service.postmaster("primary"), signal.SIGKILL)
    with port_held(primary_port):
        outage_started = time.monotonic()
        status, body = await ready(service, http)
        await asyncio.sleep(30)
        outage_s = time.monotonic() - outage_started
        log_growth = service.log_bytes() - log_before
    released_at = time.monotonic()
    back_s = await wait_ready(service, http)
    await asyncio.sleep(3)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*sdks), 150)
    await load.stop()
    result = await audit(service.dsn, [load])
    check(result, load)
    conn = await asyncpg.connect(service.dsn)
    try:
        stored = {r[0] for r in await conn.fetch(
            "SELECT submission_id FROM lb_submission WHERE submission_id LIKE 'sdk-%'")}  # fmt: skip
    finally:
        await conn.close()
    sdk_lost = [sid for sid, acked in sdk_ids.items() if not acked or sid not in stored]
    first_ack = load.first_ack_after(released_at)
    figures["primary_outage_30s"] = {
        **summary(result, load),
        "outage_s": round(outage_s, 1),
        "ready_during_outage": status,
        "ready_after_release_s": round(back_s, 2),
        "first_ack_after_release_s": round(first_ack, 2) if first_ack else None,
        "sdk_submits": len(sdk_ids), "sdk_lost": len(sdk_lost),
        "log_bytes_during_outage": log_growth,
        "log_bytes_per_s": round(log_growth / outage_s),
    }  # fmt: skip
    assert status == 503 and body["status"] == "unavailable"
    assert raised == [] and sdk_lost == []
    assert log_growth / outage_s < 5000, "the log grows by a line per cause per interval"


async def test_replica_sigkill(service: Service, figures: Figures, http: Any) -> None:
    """SIGKILL of the replica while REST reads run: no read fails (they fail over to the
    primary), readiness says degraded, and the replica is restarted."""
    reads = asyncio.create_task(rest_reads(service, 40, 8))
    await asyncio.sleep(2)
    os.kill(service.postmaster("replica"), signal.SIGKILL)
    await asyncio.sleep(0.3)
    status, body = await ready(service, http)
    back_s = await wait_ready(service, http, reader_ok=True)
    results = await reads
    statuses = [s for s, _ in results]
    figures["replica_sigkill"] = {
        "reads": len(results), "non_200": sum(1 for s in statuses if s != 200),
        "read_p99_ms": ms(percentile([t for _, t in results], 99)),
        "ready_during": [status, body.get("status")],
        "reader_ok_again_s": round(back_s + 0.3, 2),
    }  # fmt: skip
    assert all(s == 200 for s in statuses), statuses
    assert status == 200


async def test_replica_sigstop(service: Service, figures: Figures, http: Any) -> None:
    """The replica frozen (SIGSTOP to all its processes) for 15 s under 40 REST reads/s:
    reads keep answering
    within the 2 s read timeout plus a failover; readiness stays 200 (degraded)."""
    await wait_ready(service, http, reader_ok=True)
    before = await rest_reads(service, 40, 2)
    reads = asyncio.create_task(rest_reads(service, 40, 15))
    frozen = service.processes("replica")
    service.signal_all("replica", signal.SIGSTOP)
    try:
        await asyncio.sleep(4)
        status, body = await ready(service, http)
        results = await reads
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    times = [t for _, t in results]
    figures["replica_sigstop_15s"] = {
        "reads": len(results), "non_200": sum(1 for s, _ in results if s != 200),
        "read_p50_ms": ms(percentile(times, 50)), "read_p99_ms": ms(percentile(times, 99)),
        "read_max_ms": ms(max(times)), "reads_over_1s": sum(1 for t in times if t > 1),
        "baseline_read_p99_ms": ms(percentile([t for _, t in before], 99)),
        "ready_during": [status, body.get("status")],
    }  # fmt: skip
    assert all(s == 200 for s, _ in results)
    assert status == 200 and body["status"] == "degraded"
    assert max(times) < 6.0, "a read waited on the frozen replica past its timeout"
    await wait_ready(service, http, reader_ok=True)


async def test_service_sigkill_and_restart(service: Service, figures: Figures, http: Any) -> None:
    """SIGKILL of the service under load, then a restart on the same data dir: back fast,
    every acked submit there once, the dead process's connection rows gone, subscribers
    resynced."""
    load = Load(service.ws_url, rate=100, clients=4, prefix="sk").start()
    async with LeaderboardClient.connect(service.ws_url, token("spectator")) as watcher:
        sub = await watcher.subscribe(BOARD, view="top", n=5)
        await asyncio.sleep(3)
        service.kill()
        killed_at = time.monotonic()
        conn = await asyncpg.connect(service.dsn)
        try:
            left = await conn.fetchval("SELECT count(*) FROM lb_connection")
            start_s = service.start()
            after = await conn.fetchval("SELECT count(*) FROM lb_connection")
        finally:
            await conn.close()
        resynced = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                async for state in sub:
                    if state.resynced:
                        resynced = time.monotonic() - killed_at
                        break
        await asyncio.sleep(3)
        await load.stop()
    result = await audit(service.dsn, [load])
    check(result, load)
    first_ack = load.first_ack_after(killed_at)
    figures["service_sigkill_restart"] = {
        **summary(result, load),
        "restart_to_ready_s": round(start_s, 2),
        "first_ack_after_kill_s": round(first_ack, 2) if first_ack else None,
        "connection_rows_left_by_dead_process": left, "rows_right_after_restart": after,
        "subscriber_resynced_after_s": round(resynced, 2) if resynced else None,
    }  # fmt: skip
    assert left > 0 and after <= 1, (left, after)
    assert resynced is not None


async def test_a_consumer_that_never_reads(service: Service, figures: Figures) -> None:
    """A subscriber that never reads its socket does not slow submits down."""
    async with connect(f"{service.ws_url}?token={token('spectator')}", max_queue=1) as stuck:
        await stuck.send(json.dumps({"action": "subscribe", "board": BOARD, "view": "top",
                                     "n": 100, "request_id": "stuck"}))  # fmt: skip
        stuck.transport.pause_reading()
        load = Load(service.ws_url, rate=200, clients=8, prefix="nr").start()
        await asyncio.sleep(8)
        await load.stop()
    result = await audit(service.dsn, [load])
    check(result, load)
    lat = load.ack_latencies()
    figures["consumer_never_reads"] = {
        **summary(result, load),
        "ack_p50_ms": ms(percentile(lat, 50)), "ack_p99_ms": ms(percentile(lat, 99)),
    }  # fmt: skip
    assert percentile(lat, 99) < 2.0


async def test_churn(service: Service, figures: Figures) -> None:
    """2,000 connections opening at once do not starve submits: ack p99 during the wave,
    beside the same run's idle p99."""
    idle, _ = await closed_loop(service, 4, 3.0)
    wave: list[float] = []
    opened: list[Any] = []
    stop = asyncio.Event()

    async def submitter(i: int) -> None:
        async with connect(f"{service.ws_url}?token={token()}") as ws:
            n = 0
            while not stop.is_set():
                n += 1
                sid = f"ch-{i}-{n}"
                sent = time.monotonic()
                await ws.send(json.dumps({"action": "submit", "board": BOARD, "player":
                                          f"ch{i}", "score": 1, "submission_id": sid,
                                          "request_id": sid}))  # fmt: skip
                while json.loads(await ws.recv()).get("request_id") != sid:
                    pass
                wave.append(time.monotonic() - sent)

    async def one() -> None:
        with contextlib.suppress(Exception):
            ws = await connect(f"{service.ws_url}?token={token('spectator')}", open_timeout=60)
            opened.append(ws)

    submitters = [asyncio.create_task(submitter(i)) for i in range(4)]
    await asyncio.sleep(1)
    wave.clear()
    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(2000)))
    open_s = time.monotonic() - started
    during = list(wave)
    await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    stop.set()
    await asyncio.gather(*submitters)
    figures["churn_2000"] = {
        "opened": len(opened), "open_s": round(open_s, 2),
        "ack_p50_ms": ms(percentile(during, 50)), "ack_p99_ms": ms(percentile(during, 99)),
        "acks_during_wave": len(during),
        "idle_ack_p50_ms": ms(percentile(idle, 50)), "idle_ack_p99_ms": ms(percentile(idle, 99)),
    }  # fmt: skip
    assert len(opened) == 2000
    assert percentile(during, 99) < 1.0, "churn starved the submits"


async def test_overload(service: Service, figures: Figures) -> None:
    """At twice the acked capacity, the excess is refused at once as `overloaded` and what
    is admitted is acked near its unloaded latency; nothing refused is stored."""
    capacity = STATE.get("capacity") or (await closed_loop(service, 32, 4.0))[1]
    load = Load(service.ws_url, rate=2 * capacity, clients=48, players=500, prefix="ov")
    load.start()
    await asyncio.sleep(6)
    await load.stop()
    result = await audit(service.dsn, [load])
    check(result, load)
    admitted = load.ack_latencies()
    errors = load.errors()
    sent = len(load.outcomes)
    figures["overload_2x"] = {
        **summary(result, load),
        "offered_per_s": round(2 * capacity), "sent": sent,
        "refused_overloaded_share": round(errors.get("overloaded", 0) / sent, 3),
        "admitted_ack_p50_ms": ms(percentile(admitted, 50)),
        "admitted_ack_p99_ms": ms(percentile(admitted, 99)),
    }  # fmt: skip
    assert errors.get("overloaded", 0) > 0
    assert percentile(admitted, 99) < 3.0
