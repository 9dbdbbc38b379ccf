"""The ``@connections`` client (aws.connections) against the local runtime's real endpoint.

Real parts only: a LocalRuntime over a fresh database, real ``websockets`` clients, and,
for answers the runtime never gives (429, 5xx), a tiny scripted aiohttp server on
127.0.0.1 that checks every request's SigV4 signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

import pytest
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from aws.connections import (
    DeliveryFailed,
    Outcome,
    RetryPolicy,
    Verdict,
    classify,
    error_type,
)
from core.errors import ConnectionGone
from core.ids import ConnectionId
from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.management import SIGV4, sigv4_problem
from tests.aws.connections_support import (
    CREDENTIALS,
    REGION,
    clients,
    has_connections,
    next_frame,
    sender_for,
)
from tests.runtime.gateway_support import eventually

FAST: Final = RetryPolicy(base_s=0.01, cap_s=0.05, jitter=lambda: 1.0)


@pytest.fixture
async def runtime(database_dsn: str, settings: Settings) -> AsyncIterator[LocalRuntime]:
    async with LocalRuntime(settings, dsn=database_dsn) as rt:
        yield rt


# --- a scripted @connections server ---------------------------------------------------


@dataclass
class Scripted:
    """Answers each connection id from its script (then 200); records what it saw."""

    script: dict[str, deque[tuple[int, str | None]]] = field(default_factory=dict)
    hold_s: float = 0.0
    seen: list[tuple[str, float]] = field(default_factory=list)
    signature_problems: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    async def post(self, request: web.Request) -> web.Response:
        body = await request.read()
        cid = request.match_info["cid"]
        self.seen.append((cid, time.monotonic()))
        if problem := signature_problem(request, body):
            self.signature_problems.append(problem)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.hold_s)
        finally:
            self.in_flight -= 1
        queue = self.script.get(cid)
        status, kind = queue.popleft() if queue else (200, None)
        if status == 200:
            return web.Response(status=200)
        headers = {"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/"} if kind else {}
        return web.json_response({"message": f"scripted {status}"}, status=status,
                                 headers=headers)  # fmt: skip

    def attempts(self, cid: str) -> int:
        return sum(1 for seen, _ in self.seen if seen == cid)


def signature_problem(request: web.Request, body: bytes) -> str | None:
    """What is wrong with the request's SigV4 header, or None: the shape the runtime
    demands, our region and service, and the signature recomputed from what arrived."""
    header = request.headers.get("Authorization")
    if problem := sigv4_problem(header, request.headers.get("X-Amz-Date")):
        return problem
    m = SIGV4.fullmatch((header or "").strip())
    assert m is not None
    if (m["key"], m["region"], m["service"]) != ("test", REGION, "execute-api"):
        return (
            f"expected scope test/{REGION}/execute-api, got {m['key']}/{m['region']}/{m['service']}"
        )
    signed = AWSRequest(method=request.method, url=f"http://{request.host}{request.raw_path}",
                        data=body, headers={"X-Amz-Date": request.headers["X-Amz-Date"]})  # fmt: skip
    signed.context["timestamp"] = request.headers["X-Amz-Date"]
    auth = SigV4Auth(CREDENTIALS, "execute-api", REGION)
    expected = auth.signature(auth.string_to_sign(signed, auth.canonical_request(signed)), signed)
    if m["signature"] != expected:
        return f"signature mismatch: expected {expected}, got {m['signature']}"
    return None


@contextlib.asynccontextmanager
async def scripted_server(scripted: Scripted) -> AsyncIterator[str]:
    """A @connections look-alike on 127.0.0.1; yields its endpoint URL (with stage)."""
    app = web.Application()
    app.router.add_post("/test/@connections/{cid}", scripted.post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/test"
    finally:
        await runner.cleanup()


# --- fan-out through the local runtime ------------------------------------------------


async def test_fan_out_reaches_every_connected_client(runtime: LocalRuntime) -> None:
    """send_many delivers one frame to each of 200 real clients, reporting none gone."""
    sender = sender_for(runtime.management_url)
    try:
        async with clients(runtime, 200) as sockets:
            report = await sender.deliver([(cid, json.dumps({"to": cid})) for cid in sockets])
            received = await asyncio.gather(*(next_frame(ws) for ws in sockets.values()))
    finally:
        await sender.close()
    assert (report.delivered, report.gone, report.failed) == (200, [], [])
    assert [frame["to"] for frame in received] == list(sockets)


async def test_frames_to_one_connection_arrive_in_call_order(runtime: LocalRuntime) -> None:
    """Several frames to one connection arrive in the order they were given."""
    sender = sender_for(runtime.management_url)
    try:
        async with clients(runtime, 1) as sockets:
            [(cid, ws)] = sockets.items()
            assert await sender.send_many([(cid, json.dumps({"n": n})) for n in range(30)]) == []
            received = [(await next_frame(ws))["n"] for _ in range(30)]
    finally:
        await sender.close()
    assert received == list(range(30))


async def test_gone_connections_are_returned_not_raised(runtime: LocalRuntime) -> None:
    """send_many returns unknown and closed connections as gone and still delivers the rest."""
    sender = sender_for(runtime.management_url)
    try:
        async with clients(runtime, 1) as sockets:
            (left,) = sockets
        await eventually(lambda: has_connections(runtime, 0))
        async with clients(runtime, 3) as sockets:
            live = list(sockets)
            unknown = [ConnectionId("AAAAAAAAAAAAAAA="), ConnectionId("no such/id?")]
            frames = [(cid, "hello") for cid in [*live, left, *unknown]]
            gone = await sender.send_many(frames)
            received = await asyncio.gather(
                *(asyncio.wait_for(ws.recv(), 10) for ws in sockets.values())
            )
    finally:
        await sender.close()
    assert sorted(gone) == sorted([left, *unknown])
    assert received == ["hello"] * 3


async def test_send_raises_connection_gone_for_an_unknown_id(runtime: LocalRuntime) -> None:
    """send raises ConnectionGone when @connections answers 410."""
    sender = sender_for(runtime.management_url)
    try:
        with pytest.raises(ConnectionGone):
            await sender.send(ConnectionId("AAAAAAAAAAAAAAA="), "hi")
    finally:
        await sender.close()


async def test_a_refused_frame_fails_without_stopping_the_fan_out(runtime: LocalRuntime) -> None:
    """A 413 is counted as failed (not gone) while the other frames are delivered."""
    sender = sender_for(runtime.management_url)
    big = "x" * (runtime.settings.max_message_bytes + 1)
    try:
        async with clients(runtime, 2) as sockets:
            a, b = sockets
            report = await sender.deliver([(a, big), (b, "ok")])
            with pytest.raises(DeliveryFailed) as info:
                await sender.send(a, big)
            received = await asyncio.wait_for(sockets[b].recv(), 10)
    finally:
        await sender.close()
    assert (report.delivered, report.gone) == (1, [])
    [failed] = report.failed
    assert (failed.connection_id, failed.outcome, failed.attempts) == (a, Outcome.FAILED, 1)
    assert (failed.status, failed.error) == (413, "PayloadTooLargeException")
    assert info.value.details["status_code"] == 413
    assert received == "ok"


# --- throttling, retries and concurrency against a scripted server -----------------------


@pytest.mark.parametrize(
    ("answers", "attempts"),
    [
        ([(429, None), (429, None)], 3),
        ([(400, "LimitExceededException"), (400, "TooManyRequestsException")], 3),
        ([(500, "InternalServerErrorException"), (503, None)], 3),
    ],
    ids=["429", "error-type-header", "5xx"],
)
async def test_throttled_and_5xx_posts_back_off_then_succeed(
    answers: list[tuple[int, str | None]], attempts: int
) -> None:
    """Throttling or 5xx answers are retried after growing delays until a 200, each signed."""
    scripted = Scripted(script={"abc=": deque(answers)})
    async with scripted_server(scripted) as endpoint:
        sender = sender_for(endpoint, retry=FAST)
        try:
            report = await sender.deliver([(ConnectionId("abc="), "frame")])
        finally:
            await sender.close()
    assert (report.delivered, report.gone, report.failed) == (1, [], [])
    assert scripted.attempts("abc=") == attempts
    assert scripted.signature_problems == []
    gaps = [b - a for (_, a), (_, b) in zip(scripted.seen, scripted.seen[1:], strict=False)]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02  # base * 2**n with jitter pinned to 1


@pytest.mark.parametrize(
    ("answer", "attempts"),
    [((429, None), FAST.throttle_attempts), ((502, None), FAST.unavailable_attempts),
     ((403, "ForbiddenException"), 1), ((400, "PayloadTooLargeException"), 1)],
    ids=["throttled", "5xx", "403", "400"],
)  # fmt: skip
async def test_retries_are_bounded_and_failures_are_not_gone(
    answer: tuple[int, str | None], attempts: int
) -> None:
    """A post that keeps failing stops after its bounded attempts, counted failed, never gone."""
    scripted = Scripted(script={"bad": deque([answer] * 10)})
    async with scripted_server(scripted) as endpoint:
        sender = sender_for(endpoint, retry=FAST)
        try:
            report = await sender.deliver([(ConnectionId("bad"), "x"), (ConnectionId("ok"), "y")])
        finally:
            await sender.close()
    assert (report.delivered, report.gone) == (1, [])
    [failed] = report.failed
    assert (failed.connection_id, failed.status, failed.error) == ("bad", *answer)
    assert failed.attempts == scripted.attempts("bad") == attempts


async def test_posts_run_concurrently_within_the_bound() -> None:
    """Posts overlap in time but never more than `concurrency` at once."""
    scripted = Scripted(hold_s=0.02)
    async with scripted_server(scripted) as endpoint:
        sender = sender_for(endpoint, concurrency=8)
        try:
            report = await sender.deliver([(ConnectionId(f"c{i}"), "x") for i in range(80)])
        finally:
            await sender.close()
    assert report.delivered == 80
    assert scripted.max_in_flight == 8


async def test_connection_ids_are_url_quoted_and_signed() -> None:
    """Ids with reserved characters reach the server intact, with a valid signature."""
    scripted = Scripted()
    odd = ConnectionId("a/b?c=d#e f+g")
    async with scripted_server(scripted) as endpoint:
        sender = sender_for(endpoint)
        try:
            await sender.send(odd, "x")
        finally:
            await sender.close()
    assert [cid for cid, _ in scripted.seen] == [odd]
    assert scripted.signature_problems == []


# --- pure parts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "header", "verdict"),
    [(200, None, Verdict.DELIVERED), (410, "GoneException", Verdict.GONE),
     (429, None, Verdict.THROTTLED), (400, "LimitExceededException:http://x", Verdict.THROTTLED),
     (400, "TooManyRequestsException", Verdict.THROTTLED), (500, None, Verdict.UNAVAILABLE),
     (403, "ForbiddenException", Verdict.REFUSED), (413, "PayloadTooLargeException", Verdict.REFUSED)],
)  # fmt: skip
def test_classify_maps_answers_to_verdicts(
    status: int, header: str | None, verdict: Verdict
) -> None:
    """classify turns a status and x-amzn-ErrorType into the post's verdict."""
    assert classify(status, error_type(header)) is verdict


def test_backoff_is_exponential_full_jitter_and_capped() -> None:
    """The n-th delay lies in [0, min(cap, base * 2**n)] and reaches that bound at jitter 1."""
    top = RetryPolicy(base_s=0.1, cap_s=1.0, jitter=lambda: 1.0)
    assert [top.delay(n) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    spread = RetryPolicy(base_s=0.1, cap_s=1.0)
    assert all(0 <= spread.delay(3) <= 0.8 for _ in range(200))
    assert len({spread.delay(3) for _ in range(50)}) > 1
