"""Reads racing writers and sequencers show exactly the state at the seq they report."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from core.boards import BoardSpec, UpdatePolicy
from core.ranking import RankedEntry, ScoreInput
from db import feed
from db.store import Store

RACE_S: Final = 12.0
"""How long the race runs at most."""
READS_WANTED: Final = 1500
"""Reads checked: the race stops once this many were taken (or the time is up)."""
# A write as lb_submit alone makes it: committed and numbered by nobody, as when a
# submitter dies between its commit and its ack, until a sequencer comes by.
UNNUMBERED_SUBMIT: Final = """
SELECT * FROM lb_submit($1, NULL, NULL, ARRAY[$2], ARRAY[$3::bigint], ARRAY[NULL::timestamptz],
                        ARRAY[NULL::jsonb])"""
FEED: Final = """
SELECT seq, player_id, new_score, new_at FROM lb_event WHERE board_id = $1 ORDER BY seq"""


@dataclass(frozen=True)
class Seen:
    kind: str
    seq: int
    total: int
    shown: tuple[tuple[str, int, int], ...]  # (player, score, rank)
    asked: tuple[str, ...] = ()
    k: int = 0


async def test_reads_racing_writers_show_exactly_their_seq(store: Store) -> None:
    """Top, around, friends and standing reads, taken while acked and unacked writes commit
    and sequencers number them, each equal the feed replayed up to their own seq."""
    board = "race"
    await store.create_board(BoardSpec(id=board, policy=UpdatePolicy.LATEST))
    players = [f"p{i:02d}" for i in range(40)]
    rng = random.Random(9)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RACE_S
    stop = asyncio.Event()
    seen: list[Seen] = []

    async def writer(acked: bool) -> None:
        while not stop.is_set():
            player, score = rng.choice(players), rng.randrange(0, 50)
            if acked:
                await store.submit(board, [ScoreInput(player, score)])
            else:
                await store.pool.fetch(UNNUMBERED_SUBMIT, board, player, score)
                await asyncio.sleep(0.002)

    async def sequencer() -> None:
        while not stop.is_set():
            await feed.sequence(store.pool, board)
            await asyncio.sleep(0.01)

    async def reader() -> None:
        while not stop.is_set():
            if len(seen) >= READS_WANTED or loop.time() > deadline:
                stop.set()
                return
            kind = rng.choice(["top", "around", "friends", "standing"])
            who = rng.choice(players)
            try:
                if kind == "top":
                    page = await store.fetch_top(board, limit=15)
                    seen.append(Seen(kind, page.as_of_seq, page.total, _rows(page.entries)))
                elif kind == "around":
                    page = await store.fetch_around(board, who, k=3)
                    seen.append(Seen(kind, page.as_of_seq, page.total, _rows(page.entries),
                                     (who,), 3))  # fmt: skip
                elif kind == "friends":
                    asked = tuple(rng.sample(players, 5))
                    page = await store.fetch_players(board, asked)
                    seen.append(Seen(kind, page.as_of_seq, page.total, _rows(page.entries), asked))
                else:
                    st = await store.fetch_standing(board, who)
                    seen.append(Seen(kind, st.as_of_seq, st.total, _rows([st.entry]), (who,)))
            except Exception as exc:  # a player with no entry yet, as of the read's seq
                assert getattr(exc, "code", None) == "unknown_player", exc

    await asyncio.gather(
        writer(True), writer(True), writer(True), writer(False), sequencer(), reader(), reader()
    )
    await feed.sequence(store.pool, board)
    events = await store.pool.fetch(FEED, board)
    assert len(seen) >= 300 and len(events) >= 300, (len(seen), len(events))
    state: dict[str, tuple[int, datetime]] = {}
    at = 0
    for read in sorted(seen, key=lambda r: r.seq):
        while at < len(events) and events[at]["seq"] <= read.seq:
            e = events[at]
            state[e["player_id"]] = (e["new_score"], e["new_at"])
            at += 1
        ladder = sorted(state, key=lambda p: (-state[p][0], state[p][1], p))
        ranked = [(p, state[p][0], i) for i, p in enumerate(ladder, start=1)]
        assert read.total == len(ladder), read
        if read.kind == "top":
            expected = ranked[:15]
        elif read.kind == "around":
            i = ladder.index(read.asked[0])
            expected = ranked[max(0, i - read.k) : i + read.k + 1]
        else:
            expected = [r for r in ranked if r[0] in read.asked]
        assert list(read.shown) == expected, read


def _rows(entries: Sequence[RankedEntry]) -> tuple[tuple[str, int, int], ...]:
    return tuple((e.player_id, e.score, e.rank) for e in entries)
