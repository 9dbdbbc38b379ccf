"""Batches a normal client can send: the SDK splits what one frame cannot hold, and the
service says in bytes what a batch may be."""

from __future__ import annotations

import json
import uuid

import pytest
from websockets.exceptions import ConnectionClosedError

from core.boards import BoardSpec, UpdatePolicy
from leaderboard_client import LeaderboardClient, PayloadTooLargeError
from leaderboard_client.submissions import BATCH_MAX_BYTES, batch_messages, part_id
from runtime.app import LocalRuntime
from tests.client.test_session import server
from tests.runtime.gateway_support import ask, open_ws


def uuid_batch(n: int, score: int = 1) -> list[tuple[str, int]]:
    return [(str(uuid.uuid4()), score + i) for i in range(n)]


async def test_a_batch_of_a_thousand_uuid_players_is_sent_in_parts_that_fit_a_frame(
    runtime: LocalRuntime,
) -> None:
    """1,000 scores with UUID player ids (~60 KB, over the 32 KB frame) are submitted
    through the SDK in parts that each fit a frame, and every score lands."""
    batch = uuid_batch(1000)
    parts = batch_messages("arena", batch, submission_id="import-1")
    assert len(parts) > 1
    assert all(len(json.dumps(p).encode()) + 64 <= BATCH_MAX_BYTES for p in parts)
    assert [p["submission_id"] for p in parts] == [
        part_id("import-1", i, len(parts)) for i in range(len(parts))
    ]
    assert [s for p in parts for s in p["scores"]] == [
        {"player": p, "score": s} for p, s in batch
    ]  # in the order given
    async with LeaderboardClient.connect(runtime.ws_url, server(runtime)) as lb:
        ack = await lb.submit_batch("arena", batch, submission_id="import-1")
    assert len(ack.results) == 1000 and ack.submission_id == "import-1"
    assert {r.player for r in ack.results} == {p for p, _ in batch}
    assert all(
        r.rank is not None and r.total is not None and r.rank <= r.total for r in ack.results
    )
    assert ack.seq is not None and ack.seq >= len(parts)
    page = await runtime.store.fetch_top("arena", limit=1000)
    assert page.total == 1000 and page.as_of_seq >= ack.seq
    assert [(e.player_id, e.score) for e in page.entries] == sorted(batch, key=lambda x: -x[1])


async def test_a_retried_split_batch_replays_every_part_and_counts_once(
    runtime: LocalRuntime,
) -> None:
    """The same split batch under the same id replays part by part: increments count once."""
    await runtime.store.create_board(BoardSpec(id="kills", policy=UpdatePolicy.INCREMENT))
    batch = uuid_batch(1500, score=1)
    async with LeaderboardClient.connect(runtime.ws_url, server(runtime)) as lb:
        first = await lb.submit_batch("kills", batch, submission_id="match-9")
        again = await lb.submit_batch("kills", batch, submission_id="match-9")
    assert not first.replayed and again.replayed
    assert again.seq == first.seq
    assert {r.player: r.score for r in again.results} == dict(batch)
    assert (await runtime.store.fetch_top("kills", limit=1)).total == 1500


async def test_a_batch_over_the_byte_limit_is_refused_even_in_fragments(
    runtime: LocalRuntime,
) -> None:
    """A batch message over 32 KB is refused with batch_too_large even when it arrives in
    fragments that each fit a frame; one frame over 32 KB is closed with 1009."""
    message = batch_messages("arena", uuid_batch(700), submission_id="x", max_bytes=10**6)[0]
    text = json.dumps(message)
    assert 32 * 1024 < len(text) < 128 * 1024
    tok = server(runtime)
    async with open_ws(runtime.ws_url, tok) as ws:
        pieces = [text[i : i + 16_000] for i in range(0, len(text), 16_000)]
        await ws.send(pieces)  # one message, fragmented
        reply = json.loads(await ws.recv())
        assert reply["type"] == "error" and reply["error"]["code"] == "batch_too_large"
        assert reply["error"]["details"]["max_bytes"] == 32 * 1024
        ok = await ask(ws, batch_messages("arena", uuid_batch(3), submission_id="y")[0])
        assert ok["type"] == "ack"
    async with open_ws(runtime.ws_url, tok) as ws:
        await ws.send(text)
        with pytest.raises(ConnectionClosedError) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert (await runtime.store.fetch_top("arena", limit=1)).total == 3


async def test_a_single_score_too_large_for_a_frame_is_a_client_error(
    runtime: LocalRuntime,
) -> None:
    """A player id cannot make one score outgrow a frame, so splitting always succeeds; a
    score with too much metadata is refused by the service, not split."""
    async with LeaderboardClient.connect(runtime.ws_url, server(runtime)) as lb:
        with pytest.raises(PayloadTooLargeError) as refused:
            await lb.submit("arena", 1, player="p1", metadata={"blob": "x" * 2000})
    assert refused.value.code == "metadata_too_large"
