"""Large fan-outs split into shards (broadcast.fanout): the pure splitting, and the
sender that hands shards beyond the first to other broadcaster runs, against the local
runtime's real ``@connections`` endpoint and real WebSocket clients."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from aws.invoke import MAX_ASYNC_INVOKE_BYTES
from broadcast.fanout import (
    Shard,
    ShardingSender,
    encode_shard,
    frames_of,
    shard,
    shard_payload,
)
from core.errors import PayloadTooLarge
from core.ids import ConnectionId
from core.settings import Settings
from runtime.app import LocalRuntime
from tests.aws.connections_support import clients, next_frame, sender_for


@pytest.fixture
async def runtime(database_dsn: str, settings: Settings) -> AsyncIterator[LocalRuntime]:
    async with LocalRuntime(settings, dsn=database_dsn) as rt:
        yield rt


class Waker:
    """A waker whose ``wake`` is the given function (a stand-in for Lambda's Invoke)."""

    def __init__(self, wake: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self._wake = wake

    async def wake(self, payload: Mapping[str, Any]) -> None:
        await self._wake(dict(payload))


async def test_large_fan_outs_dispatch_shards_beyond_the_first(runtime: LocalRuntime) -> None:
    """Over the threshold, shards after the first go to the waker; every client still gets its frame."""
    helper = sender_for(runtime.management_url)
    payloads: list[dict[str, Any]] = []

    async def invoke(payload: dict[str, Any]) -> None:
        """A separate invocation: the payload crosses as JSON, then another sender posts it."""
        payloads.append(payload)
        await helper.send_many(frames_of(json.loads(encode_shard(payload["shard"]))))

    posts = sender_for(runtime.management_url)
    sender = ShardingSender(posts, Waker(invoke), shard_threshold=20)
    try:
        async with clients(runtime, 50) as sockets:
            frames = [(cid, json.dumps({"to": cid})) for cid in sockets]
            gone = await sender.send_many(frames)
            received = await asyncio.gather(*(next_frame(ws) for ws in sockets.values()))
    finally:
        await posts.close()
        await helper.close()
    assert (gone, sender.shards_handed_over) == ([], 2)
    assert [p["source"] for p in payloads] == ["fanout", "fanout"]
    assert [len(frames_of(p["shard"])) for p in payloads] == [20, 10]
    assert [f["to"] for f in received] == list(sockets)


async def test_a_failed_dispatch_is_posted_here(runtime: LocalRuntime) -> None:
    """When the waker raises, that shard's frames are posted by this sender instead."""

    async def invoke(payload: dict[str, Any]) -> None:
        raise RuntimeError("lambda:InvokeFunction denied")

    posts = sender_for(runtime.management_url)
    sender = ShardingSender(posts, Waker(invoke), shard_threshold=5)
    try:
        async with clients(runtime, 12) as sockets:
            gone = await sender.send_many([(cid, "hi") for cid in sockets])
            received = await asyncio.gather(
                *(asyncio.wait_for(ws.recv(), 10) for ws in sockets.values())
            )
    finally:
        await posts.close()
    assert (gone, sender.shards_handed_over) == ([], 0)
    assert received == ["hi"] * 12


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
