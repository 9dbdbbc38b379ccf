"""One broadcaster round per board: events → new view states → frames → bookkeeping.

Ordering and exactness:
- Wake-ups are hints. A round first sequences the board, then reads only sequenced,
  committed events after its cursor. Sequencing never waits for writers; it says whether
  one was in flight, and a drain keeps going (a round interval apart) until none was, so
  an event it was told about (on Aurora, before its commit) is committed and pushed, or
  rolled back, without a wake-up of its own.
- One broadcaster per board: rounds hold the board's advisory lock (19525) for their
  whole transaction; a second broadcaster waits, then sees what the first did.
- Crash safety: frames are sent before the transaction that advances the cursor and
  saves the view states (each subscription's ``last_seq``/``last_state``, one row per
  board beside the cursor) commits. A crash in between re-sends (the same seq, which
  clients drop as already seen) rather than loses.
- Warm rounds: a broadcaster keeps a board's subscriptions and their states in memory
  and re-reads them only when the board's subscription fingerprint changed (someone
  subscribed, resubscribed, unsubscribed or left) or another broadcaster saved states
  since (``lb_feed_cursor.rounds``); see ``db/migrations/0001_baseline.sql``. A
  round's cost is then its events, the views they change and the frames it sends, not
  a reload and rewrite of every subscriber.
- Conflation, per connection and view: a frame goes out only if that view's previous
  frame left at least ``conflation_ms`` ago (leading edge: the first change after a quiet
  spell goes out at once). A view that changed too soon is deferred, not dropped: its
  stored state stays where it was, and a follow-up round at the end of its window sends
  the then-latest state. So each frame carries the newest state, at most one per window.
  Rounds of a board are serialised and start at least ``broadcast_round_ms`` apart
  (batching), and each frame's seq is above the last one, so nothing stale follows
  something newer.
- Every frame carries ``seq`` (the board seq it reflects) and ``prev_seq`` (the seq of the
  previous frame of that view on that connection): a client that sees
  ``prev_seq != last seq`` knows it missed something and resyncs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import asyncpg
import pydantic_core

from broadcast.fanout import frames_of
from connect.sender import Sender
from core.boards import SortOrder
from core.feed import ChangeEvent
from core.ids import ConnectionId
from core.protocol import UpdateFrame, ViewEntry, view_entry
from core.ranking import EntryKey
from core.settings import Settings
from core.views import ShiftIndex, Ticker, advance_ticker, net_moves, view_digest
from db import feed
from db.compaction import compact, vacuum_deltas
from db.connections import ConnectionStore, Subscription
from db.errors import translated
from db.store import Store

log = logging.getLogger("leaderboard.broadcast")

CONSUMER: Final = "broadcaster"
TICKER_REBASE_EVENTS: Final = 500
# While a writer of the board is in flight and nothing new has committed, a drain polls
# the sequencer from every 2 ms up to every 50 ms, for at most 5 s.
UNSETTLED_PAUSE_S: Final = 0.002
UNSETTLED_PAUSE_MAX_S: Final = 0.05
UNSETTLED_WAIT_S: Final = 5.0
BOARD_LOCK: Final = "SELECT pg_advisory_xact_lock(19525, hashtext($1))"
BOARD_INFO: Final = """
SELECT b.sort_order, b.season, s.season_no FROM lb_board b
  JOIN lb_season s ON s.board_id = b.board_id AND s.season = b.season WHERE b.board_id = $1"""


@dataclass
class RoundReport:
    board: str
    events: int = 0
    frames: int = 0
    gone: list[str] = field(default_factory=list)
    seq: int = 0
    deferred_until: float | None = None  # epoch seconds of the earliest deferred view
    send_s: float = 0.0  # wall time of handing this round's frames to the sender
    settled: bool = True  # no writer was in flight when the round sequenced the board


@lru_cache(maxsize=65536)
def _parse_key(score: int, at: str, player: str) -> EntryKey:
    return EntryKey(score, datetime.fromisoformat(at), player)


def _key(raw: Any) -> EntryKey | None:
    if not raw:
        return None
    return _parse_key(int(raw[0]), str(raw[1]), str(raw[2]))


def _ticker_state(t: Ticker) -> dict[str, Any]:
    key = (
        None
        if t.key is None
        else [t.key.sort_score, t.key.achieved_at.isoformat(), t.key.player_id]
    )
    return {"key": key, "rank": t.rank, "score": t.score, "total": t.total}


@dataclass(frozen=True)
class _Warm:
    """A board's subscriptions as of this broadcaster's last round, and how to tell
    whether they are still current (see ``db/migrations/0001_baseline.sql``)."""

    fingerprint: tuple[int, int, int]
    rounds: int
    subs: list[Subscription]


def _state_key(sub: Subscription) -> str:
    return f"{sub.connection_id}\x00{sub.view_id}"


def _dump_states(subs: Sequence[Subscription]) -> str:
    """Every subscription's view state, for the cursor row: key -> [change_no, seq, state]."""
    return pydantic_core.to_json(
        {_state_key(s): [s.change_no, s.last_seq, s.last_state] for s in subs}
    ).decode()


@dataclass(frozen=True)
class _Shown:
    """What a view shows this round, with its fingerprint."""

    entries: list[ViewEntry]
    total: int
    me: ViewEntry | None
    digest: str

    @classmethod
    def of(cls, entries: list[ViewEntry], total: int, me: ViewEntry | None) -> _Shown:
        return cls(entries, total, me, view_digest(entries, total, me))


def _ticker_of(sub: Subscription) -> Ticker | None:
    state = sub.last_state or {}
    if "as_of" not in state or "rank" not in state:
        return None
    return Ticker(
        str(sub.player_id), _key(state.get("key")), state.get("rank"), state.get("score"),
        int(state.get("total") or 0),
    )  # fmt: skip


def _me_entry(t: Ticker) -> ViewEntry | None:
    if t.rank is None or t.score is None:
        return None
    return ViewEntry(player=t.player_id, score=t.score, rank=t.rank)


class Broadcaster:
    """Runs rounds. Every round's outcome is in the database (cursor, view states); a
    warm instance also keeps each board's subscriptions and states in memory, and uses
    them only while the database says nothing changed behind its back."""

    def __init__(
        self,
        *,
        store: Store,
        connections: ConnectionStore,
        sender: Sender,
        settings: Settings,
        clock: Any = time.time,
        on_round: Callable[[RoundReport], None] | None = None,
    ) -> None:
        self.store = store
        self.connections = connections
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.on_round = on_round
        self._warm: dict[str, _Warm] = {}
        # the ticker each ``me`` state was made from (skips re-parsing it next round)
        self._parsed: dict[str, dict[tuple[str, str], tuple[dict[str, Any], Ticker]]] = {}
        self.window_s = settings.conflation_ms / 1000

    async def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """The handler payload: ``{"board": id}`` (a wake-up), ``{"source": "sweep"}``, or
        ``{"source": "fanout", "shard": ...}`` (part of a large fan-out handed over)."""
        if event.get("source") == "fanout":
            return await self.deliver_shard(event["shard"])
        if event.get("board"):
            boards = [str(event["board"])]
        else:
            # the scheduled sweep: catch lost wake-ups, keep the feed within retention
            boards = await self.due_boards()
            await feed.prune(
                self.store.pool,
                events_older_than=timedelta(seconds=self.settings.outbox_retention_s),
                submissions_older_than=timedelta(seconds=self.settings.submission_retention_s),
            )
        reports = []
        for board in boards:
            reports.extend(await self.drain(board))
        peak = max(reports, key=lambda r: r.frames, default=None)
        return {
            "boards": boards,
            "rounds": len(reports),
            "events": sum(r.events for r in reports),
            "frames": sum(r.frames for r in reports),
            "send_s": round(sum(r.send_s for r in reports), 6),
            # the round with the most frames: its fan-out rate is frames / send_s
            "peak_frames": peak.frames if peak else 0,
            "peak_send_s": round(peak.send_s, 6) if peak else 0.0,
        }

    async def deliver_shard(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A fan-out shard handed over by another invocation: post it, forget the gone."""
        frames = frames_of(payload)
        gone = await self.sender.send_many(frames)
        for cid in gone:
            await self.connections.remove(cid)
        return {"frames": len(frames), "gone": len(gone)}

    async def due_boards(self) -> list[str]:
        """Boards with events not yet sequenced or not yet broadcast: the sweep's work."""
        return sorted(set(await feed.boards_with_pending(self.store.pool))
                      | set(await self._lagging_boards()))  # fmt: skip

    async def _lagging_boards(self) -> list[str]:
        rows = await self.store.pool.fetch(
            "SELECT b.board_id FROM lb_board b LEFT JOIN lb_feed_cursor c "
            "ON c.board_id = b.board_id AND c.consumer = $1 "
            "WHERE b.seq > coalesce(c.seq, 0)",
            CONSUMER,
        )
        return [r[0] for r in rows]

    async def drain(self, board: str, *, max_rounds: int = 200) -> list[RoundReport]:
        """Run rounds until the board's feed is handled, no writer was in flight and no view
        is deferred (bounded: a writer stuck in flight is the sweep's to pick up)."""
        reports: list[RoundReport] = []
        gap_s = self.settings.broadcast_round_ms / 1000
        for _ in range(max_rounds):
            started = time.monotonic()
            report = await self.round(board)
            reports.append(report)
            if self.on_round is not None:
                self.on_round(report)
            if report.events == 0 and report.deferred_until is None:
                if report.settled or not await self._await_writers(board, report.seq):
                    break
                continue
            pause = gap_s - (time.monotonic() - started)
            if report.events == 0 and report.deferred_until is not None:
                pause = max(pause, report.deferred_until - self.clock())
            if pause > 0:
                await asyncio.sleep(pause)
        return reports

    async def _await_writers(self, board: str, seq: int) -> bool:
        """A writer of the board is in flight and nothing new is numbered: poll the
        sequencer alone (cheap: it neither locks nor writes while nothing has committed),
        backing off, until it numbers something or finds nobody in flight. False if the
        writer is still in flight after ``UNSETTLED_WAIT_S``: the sweep will pick it up."""
        pause, waited = UNSETTLED_PAUSE_S, 0.0
        while waited < UNSETTLED_WAIT_S:
            await asyncio.sleep(pause)
            waited += pause
            sequenced = await feed.sequence(self.store.pool, board)
            if sequenced.seq > seq or sequenced.settled:
                return True
            pause = min(pause * 2, UNSETTLED_PAUSE_MAX_S)
        return False

    async def round(self, board: str) -> RoundReport:
        """One round: sequence, then under the board lock send what changed."""
        sequenced = await feed.sequence(self.store.pool, board)
        report = RoundReport(board, seq=sequenced.seq, settled=sequenced.settled)
        async with translated(), self.store.pool.acquire() as conn, conn.transaction():
            await conn.execute(BOARD_LOCK, board)
            cursor, rounds = await feed.lock_cursor_state(conn, CONSUMER, board)
            info = await conn.fetchrow(BOARD_INFO, board)
            if info is None:  # the board is gone: so is what this process kept of it
                self._warm.pop(board, None)
                self._parsed.pop(board, None)
                return report
            warm = await self._subscriptions(conn, board, rounds)
            self._warm[board] = warm
            subs = warm.subs
            # top and around views are re-read, not derived: only tickers need old events
            oldest = min([cursor, *(self._as_of(s) for s in subs if s.kind == "me")])
            events = await self._events(conn, board, after=oldest)
            fresh = [e for e in events if e.seq > cursor]
            report.events = len(fresh)
            idle = not fresh and all(self._as_of(s) >= cursor for s in subs if s.kind == "me")
            if idle and not any(self._as_of(s) < cursor and s.kind != "me" for s in subs):
                return report
            upto = max([cursor, *(e.seq for e in events)])
            frames, states, deferred = await self._compute(
                board, SortOrder(info["sort_order"]), subs, events, upto
            )
            report.deferred_until = deferred
            sent_at = time.perf_counter()
            gone = await self.sender.send_many(frames) if frames else []
            report.send_s = time.perf_counter() - sent_at
            report.frames, report.gone, report.seq = len(frames), list(gone), upto
            if states:
                self._warm.pop(board)  # in doubt until the commit
                for sub in subs:
                    if (state := states.get((sub.connection_id, sub.view_id))) is not None:
                        sub.last_seq, sub.last_state = state
                rounds = await feed.save_cursor_state(
                    conn, CONSUMER, board, upto, _dump_states(subs)
                )
                warm = _Warm(warm.fingerprint, rounds, subs)
            else:
                await feed.advance_cursor(conn, CONSUMER, board, upto)
        self._warm[board] = warm
        for cid in gone:
            await self.connections.remove(cid)
        if (await compact(self.store.pool, int(info["season_no"]))).folded_buckets:
            await vacuum_deltas(self.store.pool)
        return report

    async def _subscriptions(self, conn: asyncpg.Connection, board: str, rounds: int) -> _Warm:
        """The board's subscriptions with their view states: from memory while nobody
        changed the set and no other broadcaster saved states since this one did, else
        from the database (the routes' rows, overlaid with the saved states)."""
        fingerprint = await self.connections.fingerprint(board, conn=conn)
        warm = self._warm.get(board)
        if warm is not None and warm.rounds == rounds and warm.fingerprint == fingerprint:
            return warm
        subs = await self.connections.of_board(board, conn=conn)
        self._parsed[board] = {}  # memo entries of gone subscriptions go with it
        saved = pydantic_core.from_json(await feed.cursor_states(conn, CONSUMER, board) or "{}")
        for sub in subs:
            entry = saved.get(_state_key(sub))
            # the same subscription (not an earlier one under the same ids), seen later
            if entry and entry[0] == sub.change_no and entry[1] >= sub.last_seq:
                sub.last_seq, sub.last_state = entry[1], entry[2]
        return _Warm(fingerprint, rounds, subs)

    @staticmethod
    def _as_of(sub: Subscription) -> int:
        state = sub.last_state or {}
        return int(state.get("as_of", sub.last_seq))

    async def _events(
        self, conn: asyncpg.Connection, board: str, *, after: int
    ) -> list[ChangeEvent]:
        out: list[ChangeEvent] = []
        while True:
            batch = await feed.read_events(conn, board, after=after, limit=5000)
            out.extend(batch)
            if len(batch) < 5000:
                return out
            after = batch[-1].seq

    async def _compute(
        self,
        board: str,
        order: SortOrder,
        subs: Sequence[Subscription],
        events: Sequence[ChangeEvent],
        upto: int,
    ) -> tuple[
        list[tuple[ConnectionId, str]],
        dict[tuple[str, str], tuple[int, dict[str, Any]]],
        float | None,
    ]:
        """Frames to send, states to save, and when the earliest deferred view is due.

        Views shared by many subscribers (the same top-N, the same around window) are
        computed, fingerprinted and serialised once per round; a subscriber's stored state
        is only that fingerprint, its ``as_of``, and when it was last sent to.
        """
        frames: list[tuple[ConnectionId, str]] = []
        states: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        now = self.clock()
        deferred: list[float] = []
        by_season: dict[str, list[ChangeEvent]] = defaultdict(list)
        for e in events:
            by_season[e.season].append(e)
        shared: dict[tuple[Any, ...], _Shown] = {}
        bodies: dict[tuple[Any, ...], str] = {}
        tickers = await self._tickers(board, order, subs, by_season, upto)

        def emit(
            sub: Subscription, group: tuple[Any, ...], shown: _Shown, extra: dict[str, Any]
        ) -> None:
            last = sub.last_state or {}
            previous = last.get("digest") or view_digest(
                [ViewEntry(**e) for e in last.get("entries") or []], int(last.get("total") or 0),
                ViewEntry(**last["me"]) if last.get("me") else None,
            )  # fmt: skip
            state = {"as_of": upto, "digest": shown.digest, "sent_at": last.get("sent_at"), **extra}
            if shown.digest == previous:
                # Unchanged: only a ticker's derivation base needs to move on, and only
                # now and then (it bounds how far back the next round must read).
                if extra and upto - self._as_of(sub) >= TICKER_REBASE_EVENTS:
                    states[(sub.connection_id, sub.view_id)] = (sub.last_seq, state)
                return
            due = float(last.get("sent_at") or 0) + self.window_s
            if due > now:
                deferred.append(due)  # keep the old state: recomputed when due
                return
            body_key = (*group, sub.last_seq)
            if body_key not in bodies:
                bodies[body_key] = UpdateFrame(
                    view_id=sub.view_id, board=board, season=sub.season, view=sub.kind,  # type: ignore[arg-type]
                    seq=upto, prev_seq=sub.last_seq, total=shown.total, entries=shown.entries,
                    me=shown.me,
                ).dump()  # fmt: skip
            frames.append((sub.connection_id, bodies[body_key]))
            state["sent_at"] = now
            states[(sub.connection_id, sub.view_id)] = (upto, state)

        parsed = self._parsed.setdefault(board, {})

        def emit_ticker(sub: Subscription, ticker: Ticker) -> None:
            """``emit`` for a ``me`` view, without building what an unchanged one never
            needs (a digest, a frame, a state)."""
            last = sub.last_state or {}
            if "rank" in last:
                unchanged = (last["rank"], last.get("score"), last.get("total")) == (
                    ticker.rank, ticker.score, ticker.total,
                )  # fmt: skip
            else:  # the subscribe route's state: compare fingerprints
                me = _me_entry(ticker)
                unchanged = view_digest([], ticker.total, me) == last.get("digest")
            key = (sub.connection_id, sub.view_id)
            if unchanged:
                if upto - self._as_of(sub) >= TICKER_REBASE_EVENTS:
                    state = {"as_of": upto, "sent_at": last.get("sent_at"), **_ticker_state(ticker)}
                    states[key] = (sub.last_seq, state)
                    parsed[key] = (state, ticker)
                return
            due = float(last.get("sent_at") or 0) + self.window_s
            if due > now:
                deferred.append(due)  # keep the old state: recomputed when due
                return
            mine = (
                None if ticker.rank is None or ticker.score is None
                else (ticker.player_id, ticker.score, ticker.rank)
            )  # fmt: skip
            frames.append((sub.connection_id, UpdateFrame.dump_ticker(
                view_id=sub.view_id, board=board, season=sub.season, seq=upto,
                prev_seq=sub.last_seq, total=ticker.total, me=mine,
            )))  # fmt: skip
            state = {"as_of": upto, "sent_at": now, **_ticker_state(ticker)}
            states[key] = (upto, state)
            parsed[key] = (state, ticker)

        for sub in subs:
            if self._as_of(sub) >= upto:
                continue  # nothing after what this view already reflects
            if sub.kind == "top":
                group: tuple[Any, ...] = ("top", sub.view_id)
                if group not in shared:
                    page = await self.store.fetch_top(board, season=sub.season, limit=sub.size)
                    shared[group] = _Shown.of(
                        [view_entry(e) for e in page.entries], page.total, None
                    )
                emit(sub, group, shared[group], {})
            elif sub.kind == "around":
                group = ("around", sub.view_id)
                if group not in shared:
                    page = await self.store.fetch_around(board, str(sub.player_id), k=sub.size,
                                                         season=sub.season)  # fmt: skip
                    entries = [view_entry(e) for e in page.entries]
                    me = next((e for e in entries if e.player == sub.player_id), None)
                    shared[group] = _Shown.of(entries, page.total, me)
                emit(sub, group, shared[group], {})
            else:
                emit_ticker(sub, tickers[(sub.connection_id, sub.view_id)])
        return frames, states, min(deferred) if deferred else None

    async def _tickers(
        self,
        board: str,
        order: SortOrder,
        subs: Sequence[Subscription],
        by_season: dict[str, list[ChangeEvent]],
        upto: int,
    ) -> dict[tuple[str, str], Ticker]:
        """Every ``me`` subscription's ticker as of ``upto``: derived where its entry did not
        move, re-read exactly as of ``upto`` where it did (or where it has no base)."""
        out: dict[tuple[str, str], Ticker] = {}
        reread: dict[str, list[Subscription]] = defaultdict(list)
        indexes: dict[tuple[str, int], tuple[ShiftIndex, set[str]]] = {}
        for sub in subs:
            if sub.kind != "me":
                continue
            memo = self._parsed.get(board, {}).get((sub.connection_id, sub.view_id))
            base = memo[1] if memo and memo[0] is sub.last_state else _ticker_of(sub)
            as_of = self._as_of(sub)
            if (sub.season, as_of) not in indexes:
                moves = net_moves(
                    [e for e in by_season.get(sub.season, []) if e.seq > as_of], order
                )
                indexes[(sub.season, as_of)] = (ShiftIndex.of(moves), set(moves))
            index, movers = indexes[(sub.season, as_of)]
            if base is None or base.key is None or sub.player_id in movers:
                reread[sub.season].append(sub)
            else:
                out[(sub.connection_id, sub.view_id)] = advance_ticker(base, index)
        for season, group in reread.items():
            fresh, _ = await self.store.fetch_tickers_as_of(
                board, season, sorted({str(s.player_id) for s in group}), upto
            )
            for sub in group:
                out[(sub.connection_id, sub.view_id)] = fresh[str(sub.player_id)]
        return out
