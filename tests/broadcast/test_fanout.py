"""The ``@connections`` fan-out adapter against the local runtime's real endpoint.

Real parts only: a LocalRuntime over a fresh database, real ``websockets`` clients, and,
for answers the runtime never gives (429, 5xx), a tiny scripted aiohttp server on
127.0.0.1 that checks every request's SigV4 signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pytest
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection

from broadcast.fanout import (
    MAX_ASYNC_INVOKE_BYTES,
    ConnectionsApiSender,
    DeliveryFailed,
    Outcome,
    RetryPolicy,
    Shard,
    Verdict,
    classify,
    encode_shard,
    error_type,
    frames_of,
    shard,
    shard_payload,
)
from core.errors import ConnectionGone, PayloadTooLarge
from core.ids import ConnectionId
from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.management import SIGV4, sigv4_problem
from tests.runtime.gateway_support import eventually, open_ws, token

CREDENTIALS: Final = Credentials("test", "test")
REGION: Final = "eu-west-1"
FAST: Final = RetryPolicy(base_s=0.01, cap_s=0.05, jitter=lambda: 1.0)


@pytest.fixture
async def runtime(database_dsn: str, settings: Settings) -> AsyncIterator[LocalRuntime]:
    async with LocalRuntime(settings, dsn=database_dsn) as rt:
        yield rt


def sender_for(endpoint_url: str, **kwargs: Any) -> ConnectionsApiSender:
    return ConnectionsApiSender(
        endpoint_url=endpoint_url, region=REGION, credentials=CREDENTIALS, **kwargs
    )


@contextlib.asynccontextmanager
async def clients(rt: LocalRuntime, n: int) -> AsyncIterator[dict[ConnectionId, ClientConnection]]:
    """``n`` real WebSocket clients connected to ``rt``, by connection id (each learns its
    id from one frame the runtime's own in-process sender writes to it)."""
    async with contextlib.AsyncExitStack() as stack:
        sockets = await asyncio.gather(
            *(stack.enter_async_context(open_ws(rt.ws_url, token(rt.settings, f"p{i}")))
              for i in range(n))
        )  # fmt: skip
        await eventually(lambda: _has(rt, n))
        assert await rt.sender.send_many([(cid, cid) for cid in ids(rt)]) == []
        own = await asyncio.gather(*(asyncio.wait_for(ws.recv(), 10) for ws in sockets))
        yield {ConnectionId(str(cid)): ws for cid, ws in zip(own, sockets, strict=True)}


async def _has(rt: LocalRuntime, n: int) -> bool:
    return len(rt.sender) == n


def ids(rt: LocalRuntime) -> list[ConnectionId]:
    return [c.connection_id for c in rt.sender]


async def next_frame(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


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
            report = await sender.fan_out([(cid, json.dumps({"to": cid})) for cid in sockets])
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
        await eventually(lambda: _has(runtime, 0))
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
            report = await sender.fan_out([(a, big), (b, "ok")])
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


async def test_large_fan_outs_dispatch_shards_beyond_the_first(runtime: LocalRuntime) -> None:
    """Over the threshold, shards after the first go to invoke; every client still gets its frame."""
    helper = sender_for(runtime.management_url)
    payloads: list[dict[str, Any]] = []

    async def invoke(payload: dict[str, Any]) -> None:
        """A separate invocation: the payload crosses as JSON, then another sender posts it."""
        payloads.append(payload)
        await helper.send_many(frames_of(json.loads(encode_shard(payload))))

    sender = sender_for(runtime.management_url, invoke=invoke, shard_threshold=20)
    try:
        async with clients(runtime, 50) as sockets:
            frames = [(cid, json.dumps({"to": cid})) for cid in sockets]
            report = await sender.fan_out(frames)
            received = await asyncio.gather(*(next_frame(ws) for ws in sockets.values()))
    finally:
        await sender.close()
        await helper.close()
    assert (report.delivered, report.dispatched, report.shards_dispatched) == (20, 30, 2)
    assert [len(frames_of(p)) for p in payloads] == [20, 10]
    assert [f["to"] for f in received] == list(sockets)


async def test_a_failed_dispatch_is_posted_here(runtime: LocalRuntime) -> None:
    """When invoke raises, that shard's frames are posted by this sender instead."""

    async def invoke(payload: dict[str, Any]) -> None:
        raise RuntimeError("lambda:InvokeFunction denied")

    sender = sender_for(runtime.management_url, invoke=invoke, shard_threshold=5)
    try:
        async with clients(runtime, 12) as sockets:
            report = await sender.fan_out([(cid, "hi") for cid in sockets])
            received = await asyncio.gather(
                *(asyncio.wait_for(ws.recv(), 10) for ws in sockets.values())
            )
    finally:
        await sender.close()
    assert (report.delivered, report.dispatched, report.failed) == (12, 0, [])
    assert received == ["hi"] * 12


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
            report = await sender.fan_out([(ConnectionId("abc="), "frame")])
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
            report = await sender.fan_out([(ConnectionId("bad"), "x"), (ConnectionId("ok"), "y")])
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
            report = await sender.fan_out([(ConnectionId(f"c{i}"), "x") for i in range(80)])
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


def frames_fixture(n: int, bodies: Sequence[str]) -> list[tuple[ConnectionId, str]]:
    return [(ConnectionId(f"conn-{i:05d}="), bodies[i % len(bodies)]) for i in range(n)]


def test_shard_payload_round_trips_through_json() -> None:
    """frames_of(json(shard_payload(s))) gives back each shard's frames, all in order."""
    frames = frames_fixture(1000, [json.dumps({"top": i, "é": '"q"'}) for i in range(7)])
    shards = shard(frames, 300)
    again = [f for s in shards for f in frames_of(json.loads(encode_shard(shard_payload(s))))]
    assert again == frames
    assert [len(s) for s in shards] == [300, 300, 300, 100]


def test_shards_list_each_distinct_body_once() -> None:
    """A shard carries every distinct body once and points at it by index."""
    frames = frames_fixture(500, ["A" * 1000, "B" * 1000])
    [only] = shard(frames, 1000)
    assert only.bodies == ("A" * 1000, "B" * 1000)
    assert len(encode_shard(shard_payload(only))) < 500 * 30 + 2 * 1000 + 100


def test_shards_stay_under_the_byte_budget() -> None:
    """With large distinct bodies every shard's JSON fits the async-invoke payload limit."""
    bodies = [json.dumps({"view": i, "entries": "x" * 30_000}) for i in range(40)]
    frames = frames_fixture(4000, bodies)
    shards = shard(frames, 5000)
    sizes = [len(encode_shard(shard_payload(s))) for s in shards]
    assert len(shards) > 1 and max(sizes) <= 250_000 < MAX_ASYNC_INVOKE_BYTES
    assert [f for s in shards for f in s.frames()] == frames


def test_a_connections_frames_stay_together_in_order() -> None:
    """All frames of one connection land in one shard, in call order."""
    frames = [(ConnectionId(f"c{i % 10}"), f"{i}") for i in range(100)]
    shards = shard(frames, 25)
    owners = Counter(cid for s in shards for cid in {c for c, _ in s.frames()})
    assert set(owners.values()) == {1}
    for s in shards:
        for cid in {c for c, _ in s.frames()}:
            assert [b for c, b in s.frames() if c == cid] == [b for c, b in frames if c == cid]


def test_a_frame_over_the_budget_is_refused() -> None:
    """shard raises PayloadTooLarge for a single frame that cannot fit any shard."""
    with pytest.raises(PayloadTooLarge):
        shard([(ConnectionId("c"), "x" * 2000)], 10, max_bytes=1000)


def test_frames_of_rejects_a_malformed_payload() -> None:
    """frames_of refuses a payload whose body index points nowhere."""
    with pytest.raises(ValidationError):
        frames_of({"v": 1, "bodies": ["a"], "targets": [["c", 1]]})
    assert Shard(bodies=("a",), targets=(("c", 0),)).frames() == [("c", "a")]
