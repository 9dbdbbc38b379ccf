"""API Gateway's WebSocket limits, enforced by the local front door with small test values."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from websockets.exceptions import ConnectionClosed

from core.settings import Settings
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import ARENA, ask, counts, eventually, open_ws, token

FRAME = 1024
MESSAGE = 4096


@pytest.fixture
async def tight(database_dsn: str, settings: Settings) -> AsyncIterator[LocalRuntime]:
    """A runtime with a 1 KiB frame limit, 4 KiB message limit and a 0.6 s idle timeout."""
    limits = settings.model_copy(update={
        "max_frame_bytes": FRAME, "max_message_bytes": MESSAGE, "idle_timeout_s": 0.6,
        "max_connection_s": 60.0, "metadata_max_bytes": 2 * MESSAGE,
    })  # fmt: skip
    async with LocalRuntime(limits, dsn=database_dsn) as rt:
        await rt.store.create_board(ARENA)
        yield rt


def padded(size: int) -> str:
    """A submit message of exactly ``size`` bytes (padding in request_id-free metadata)."""
    base = {"action": "submit", "board": "arena", "score": 1, "metadata": {"pad": ""}}
    pad = size - len(json.dumps(base))
    base["metadata"] = {"pad": "x" * pad}
    text = json.dumps(base)
    assert len(text) == size
    return text


async def closed_with(ws: object) -> tuple[int, str]:
    """Wait (at most 10 s) for the server to close the connection; its close code and reason."""
    with pytest.raises(ConnectionClosed) as info:
        async with asyncio.timeout(10):
            while True:
                await ws.recv()  # type: ignore[attr-defined]
    rcvd = info.value.rcvd
    assert rcvd is not None
    return rcvd.code, rcvd.reason


async def disconnected(rt: LocalRuntime) -> None:
    async def gone() -> bool:
        return (await counts(rt.store.pool))["connections"] == 0

    await eventually(gone)


async def test_a_single_frame_over_the_frame_limit_closes_1009(tight: LocalRuntime) -> None:
    """A message sent as one frame larger than max_frame_bytes closes the connection with 1009."""
    async with open_ws(tight.ws_url, token(tight.settings)) as ws:
        await ws.send(padded(FRAME + 1))
        code, _ = await closed_with(ws)
    assert code == 1009
    await disconnected(tight)
    assert (await counts(tight.store.pool))["entries"] == 0


async def test_a_frame_of_exactly_the_limit_is_accepted(tight: LocalRuntime) -> None:
    """A frame of exactly max_frame_bytes is routed normally."""
    async with open_ws(tight.ws_url, token(tight.settings)) as ws:
        reply = await ask(ws, padded(FRAME))
        assert reply["type"] == "ack"


async def test_messages_before_an_oversized_frame_are_still_dispatched(tight: LocalRuntime) -> None:
    """A good message sent just before an oversized frame is answered before the 1009 close."""
    async with open_ws(tight.ws_url, token(tight.settings)) as ws:
        await ws.send(padded(100))
        await ws.send(padded(FRAME * 2))
        first = json.loads(await ws.recv())
        assert first["type"] == "ack"
        code, _ = await closed_with(ws)
    assert code == 1009


async def test_a_fragmented_message_within_the_message_limit_is_accepted(
    tight: LocalRuntime,
) -> None:
    """A message over the frame limit but sent as fragments within it is routed normally."""
    text = padded(3 * FRAME)
    async with open_ws(tight.ws_url, token(tight.settings)) as ws:
        await ws.send([text[i : i + FRAME] for i in range(0, len(text), FRAME)])
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["type"] == "ack"


async def test_a_message_of_exactly_the_message_limit_is_accepted(tight: LocalRuntime) -> None:
    """A fragmented message of exactly max_message_bytes is routed normally."""
    text = padded(MESSAGE)
    async with open_ws(tight.ws_url, token(tight.settings)) as ws:
        await ws.send([text[i : i + FRAME] for i in range(0, len(text), FRAME)])
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["type"] == "ack"


async def test_a_fragmented_message_over_the_message_limit_closes_1009(tight: LocalRuntime) -> None:
    """A message larger than max_message_bytes, even in small fragments, closes with 1009."""
    text = padded(MESSAGE + 1)
    async with open_ws(tight.ws_url, token(tight.settings)) as ws:
        await ws.send([text[i : i + FRAME] for i in range(0, len(text), FRAME)])
        code, _ = await closed_with(ws)
    assert code == 1009
    await disconnected(tight)


async def test_an_idle_connection_is_closed_1001(tight: LocalRuntime) -> None:
    """No client message for idle_timeout_s closes the connection with 1001 Going away."""
    async with open_ws(tight.ws_url, token(tight.settings)) as ws:
        started = time.monotonic()
        code, reason = await closed_with(ws)
    assert (code, reason) == (1001, "Going away")
    assert 0.5 <= time.monotonic() - started < 5
    await disconnected(tight)


async def test_client_messages_keep_a_connection_alive(tight: LocalRuntime) -> None:
    """A client that sends within the idle timeout keeps its connection past it."""
    async with open_ws(tight.ws_url, token(tight.settings)) as ws:
        for _ in range(4):
            await asyncio.sleep(0.3)
            reply = await ask(ws, {"action": "nothing"})
            assert reply["error"]["code"] == "unknown_action"


async def test_pings_do_not_count_as_activity(tight: LocalRuntime) -> None:
    """Pings alone do not reset the idle timeout."""
    async with open_ws(tight.ws_url, token(tight.settings), ping_interval=0.1) as ws:
        code, _ = await closed_with(ws)
    assert code == 1001


async def test_the_maximum_connection_duration_closes_1001(
    database_dsn: str, settings: Settings
) -> None:
    """An active connection is still closed 1001 once max_connection_s has passed."""
    limits = settings.model_copy(update={"idle_timeout_s": 0.5, "max_connection_s": 1.2})
    async with LocalRuntime(limits, dsn=database_dsn) as rt, \
            open_ws(rt.ws_url, token(rt.settings)) as ws:  # fmt: skip
        started = time.monotonic()

        async def chatter() -> None:
            while True:
                await ws.send("{}")
                await asyncio.sleep(0.2)

        task = asyncio.create_task(chatter())
        try:
            code, reason = await closed_with(ws)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert (code, reason) == (1001, "Going away")
        assert 1.1 <= time.monotonic() - started < 5
