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
  since (``lb_feed_cursor.rounds``). A
  round's cost is then its events, the views they change and the frames it sends, not
  a reload and rewrite of every subscriber.
- Decisions are :func:`core.conflation.decide`'s: this module gathers what every view
  shows as of the round's seq (top-N and around pages re-read once per distinct view,
  tickers derived from the events or re-read exactly as of the seq) and applies what it
  decides per subscription (send, defer, rebase or skip). A deferred view keeps its old
  state, and the round at the end of its window sends the then-latest state. Rounds of
  a board are serialised and start at least ``broadcast_round_ms`` apart (batching),
  and each frame's seq is above the last one, so nothing stale follows something newer.
- Every frame carries ``seq`` (the board seq it reflects) and ``prev_seq`` (the seq of the
  previous frame of that view on that connection): a client that sees
  ``prev_seq != last seq`` knows it missed something and resyncs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import pydantic_core

from broadcast.fanout import DEFAULT_SHARD_THRESHOLD, ShardingSender, frames_of
from core.boards import SortOrder, TieMode, Tier, board_tiers
from core.conflation import Decision, Defer, Rebase, Send, ViewState, decide, needs_round
from core.feed import ChangeEvent
from core.ids import ConnectionId
from core.moderation import is_erased
from core.protocol import UpdateFrame, ViewEntry, ticker_entry, view_entry
from core.views import (
    ShiftIndex,
    Ticker,
    advance_ticker,
    dense_display_holds,
    net_moves,
    view_digest,
)
from db import feed, lease
from db.compaction import compact, vacuum_deltas
from db.connections import Subscription
from db.errors import translated
from db.services import Services

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger("leaderboard.broadcast")

CONSUMER: Final = "broadcaster"
# While a writer of the board is in flight and nothing new has committed, a drain polls
# the sequencer from every 2 ms up to every 50 ms, for at most 5 s.
UNSETTLED_PAUSE_S: Final = 0.002
UNSETTLED_PAUSE_MAX_S: Final = 0.05
UNSETTLED_WAIT_S: Final = 5.0
# A drain holds its board's lease (db/lease.py) with one write at most this often; the
# lease (lb_wake_lease(), 1 s by default) must be well above it.
LEASE_EXTEND_S: Final = 0.1
LINGER_POLL_S: Final = 0.01
BOARD_LOCK: Final = "SELECT pg_advisory_xact_lock(19525, hashtext($1))"
BOARD_INFO: Final = """
SELECT l.sort_order, l.season, l.season_no, l.tie_mode, l.tiers,
       CASE WHEN l.all_time THEN lb_all_time_no(l.board_id) END AS all_time_no
  FROM lb_ladder l
 WHERE l.board_id = $1 AND l.season = l.current_season"""
# How long the oldest event a round just pushed waited since its writer created it.
PUSH_LAG_MS: Final = """
SELECT extract(epoch FROM clock_timestamp() - min(created_at)) * 1000
  FROM lb_event WHERE board_id = $1 AND seq > $2 AND seq <= $3"""
LAGGING_BOARDS: Final = """
SELECT b.board_id FROM lb_board b
  LEFT JOIN lb_feed_cursor c ON c.board_id = b.board_id AND c.consumer = $1
 WHERE b.seq > coalesce(c.seq, 0)"""


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
    lag_ms: float | None = None  # the oldest pushed event's age at the send, if any


@dataclass(frozen=True)
class _Warm:
    """A board's subscriptions as of this broadcaster's last round, and how to tell
    whether they are still current: the subscription set's fingerprint and the number
    of state saves (``lb_feed_cursor.rounds``) when this process last saw them."""

    fingerprint: tuple[int, int, int]
    rounds: int
    subs: list[Subscription]


@dataclass(frozen=True, slots=True)
class _Page:
    """What a top-N or around view shows this round (shared by its subscribers)."""

    entries: list[ViewEntry]
    total: int
    me: ViewEntry | None
    digest: str

    @classmethod
    def of(cls, entries: list[ViewEntry], total: int, me: ViewEntry | None) -> _Page:
        return cls(entries, total, me, view_digest(entries, total, me))


class _StateDump:
    """Every subscription's view state as the cursor row keeps it (a JSON object: key ->
    [change_no, seq, state]), encoded member by member and joined: only the members of
    subscriptions that moved since the last dump are encoded again, and a state shared
    by many subscriptions (the spectators of one top-N) is encoded once per dump."""

    def __init__(self) -> None:
        self._parts: dict[str, tuple[Subscription, str]] = {}
        self._keys: dict[str, str] = {}  # a subscription key, as JSON

    def dump(self, subs: Sequence[Subscription]) -> str:
        parts: dict[str, tuple[Subscription, str]] = {}
        keys: dict[str, str] = {}
        states: dict[int, str] = {}  # id(state) -> JSON; every state outlives the call
        for sub in subs:
            key = sub.key
            name = keys[key] = self._keys.get(key) or pydantic_core.to_json(key).decode()
            cached = self._parts.get(key)
            if cached is None or cached[0] is not sub:
                state = sub.state
                encoded = states.get(id(state))
                if encoded is None:
                    encoded = states[id(state)] = pydantic_core.to_json(state.to_json()).decode()
                cached = (sub, f"{name}:[{sub.change_no},{sub.last_seq},{encoded}]")
            parts[key] = cached
        self._parts, self._keys = parts, keys
        return "{" + ",".join(part for _, part in parts.values()) + "}"


def _moved(sub: Subscription, last_seq: int, state: ViewState) -> Subscription:
    """``replace(sub, last_seq=..., state=...)``, built directly: a round moves thousands."""
    return Subscription(
        sub.connection_id, sub.view_id, sub.board_id, sub.season, sub.kind, sub.player_id,
        sub.size, last_seq, state, sub.change_no,
    )  # fmt: skip


def _ticker_frame(
    sub: Subscription, board: str, ticker: Ticker, seq: int, tiers: list[Tier] | None
) -> str:
    return UpdateFrame.dump_ticker(
        view_id=sub.view_id, board=board, season=sub.season, seq=seq,
        prev_seq=sub.last_seq, total=ticker.total, me=ticker_entry(ticker, tiers),
    )  # fmt: skip


class Broadcaster:
    """Runs rounds. Every round's outcome is in the database (cursor, view states); a
    warm instance also keeps each board's subscriptions and states in memory, and uses
    them only while the database says nothing changed behind its back."""

    def __init__(
        self,
        services: Services,
        *,
        clock: Callable[[], float] = time.time,
        on_round: Callable[[RoundReport], None] | None = None,
        shard_threshold: int = DEFAULT_SHARD_THRESHOLD,
    ) -> None:
        self.store = services.store
        self.connections = services.connections
        self.settings = services.settings
        self.sender = ShardingSender(
            services.sender, services.waker, shard_threshold=shard_threshold
        )
        self.clock = clock
        self.on_round = on_round
        self._warm: dict[str, _Warm] = {}
        self._dumps: dict[str, _StateDump] = {}
        self._held: dict[str, tuple[float, bool]] = {}  # board -> (extended at, leased)
        self.window_s = self.settings.conflation_ms / 1000

    async def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The handler payload: ``{"board": id}`` (a wake-up), ``{"source": "sweep"}``, or
        ``{"source": "fanout", "shard": ...}`` (part of a large fan-out handed over)."""
        if event.get("source") == "fanout":
            return await self.deliver_shard(event["shard"])
        failures = None
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
            failures = await lease.take_failures(self.store.pool)
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
            "lag_ms": [r.lag_ms for r in reports if r.lag_ms is not None],
            # the sweep's count of Aurora wake-ups that failed since the last sweep
            "wakeup_failures": failures,
        }

    async def deliver_shard(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A fan-out shard handed over by another run: post it, forget the gone."""
        frames = frames_of(payload)
        gone = await self.sender.sender.send_many(frames)
        for cid in gone:
            await self.connections.remove(cid)
        return {"frames": len(frames), "gone": len(gone)}

    async def due_boards(self) -> list[str]:
        """Boards with events not yet sequenced or not yet broadcast: the sweep's work."""
        async with translated():
            lagging = [r[0] for r in await self.store.pool.fetch(LAGGING_BOARDS, CONSUMER)]
        return sorted(set(await feed.boards_with_pending(self.store.pool)) | set(lagging))

    async def drain(self, board: str, *, max_rounds: int = 200) -> list[RoundReport]:
        """Run rounds until the board's feed is handled, no writer was in flight and no view
        is deferred (bounded: a writer stuck in flight is the sweep's to pick up).

        Each round first holds the board's lease, so no writer wakes another broadcaster
        while this one drains (db/lease.py); the drain ends by letting it go."""
        reports: list[RoundReport] = []
        gap_s = self.settings.broadcast_round_ms / 1000
        for _ in range(max_rounds):
            started = time.monotonic()
            await self._hold(board)
            report = await self.round(board)
            reports.append(report)
            if self.on_round is not None:
                self.on_round(report)
            if report.events == 0 and report.deferred_until is None:
                if report.settled:
                    if await self._lapse(board, report.seq):
                        continue
                    break
                if await self._await_writers(board, report.seq):
                    continue
                await self._release(board)  # a writer stuck in flight: the sweep's
                break
            pause = gap_s - (time.monotonic() - started)
            if report.events == 0 and report.deferred_until is not None:
                pause = max(pause, report.deferred_until - self.clock())
            if pause > 0:
                await asyncio.sleep(pause)
        return reports

    async def _hold(self, board: str) -> bool:
        """Extend the board's lease, at most once per ``LEASE_EXTEND_S``; whether the board
        is woken from the database at all (it has a lease)."""
        now = time.monotonic()
        extended_at, leased = self._held.get(board, (-LEASE_EXTEND_S, False))
        if now - extended_at >= LEASE_EXTEND_S:
            leased = await lease.extend(self.store.pool, board)
            self._held[board] = (now, leased)
        return leased

    async def _release(self, board: str) -> None:
        self._held.pop(board, None)
        await lease.release(self.store.pool, board)

    async def _lapse(self, board: str, seq: int) -> bool:
        """The drain found nothing more: True if it should go on after all.

        A board woken from the database first lingers one conflation window, holding its
        lease, in case its writers are only pausing (each wake-up ends with a window with
        no invoke, not one invoke per burst). Then the lease goes, and the board is looked
        at once more: a writer that saw the lease held made no wake-up of its own."""
        pool = self.store.pool
        if await self._hold(board):
            lingered = 0.0
            while lingered < self.window_s:
                await asyncio.sleep(LINGER_POLL_S)
                lingered += LINGER_POLL_S
                await self._hold(board)
                if (await feed.sequence(pool, board)).seq > seq:
                    return True
        await self._release(board)
        sequenced = await feed.sequence(pool, board)
        if sequenced.seq > seq:
            return True
        return not sequenced.settled and await self._await_writers(board, seq)

    async def _await_writers(self, board: str, seq: int) -> bool:
        """A writer of the board is in flight and nothing new is numbered: poll the
        sequencer alone (cheap: it neither locks nor writes while nothing has committed),
        backing off, until it numbers something or finds nobody in flight. False if the
        writer is still in flight after ``UNSETTLED_WAIT_S``: the sweep will pick it up."""
        pause, waited = UNSETTLED_PAUSE_S, 0.0
        while waited < UNSETTLED_WAIT_S:
            await asyncio.sleep(pause)
            waited += pause
            await self._hold(board)
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
                self._dumps.pop(board, None)
                return report
            warm = await self._subscriptions(conn, board, rounds)
            self._warm[board] = warm
            subs = warm.subs
            # top and around views are re-read, not derived: only tickers need old events
            oldest = min([cursor, *(s.state.as_of for s in subs if s.kind == "me")])
            events = await self._events(conn, board, after=oldest)
            fresh = [e for e in events if e.seq > cursor]
            report.events = len(fresh)
            if not fresh and not any(needs_round(s.state, cursor) for s in subs):
                return report
            upto = max([cursor, *(e.seq for e in events)])
            tie_mode, tiers = TieMode(info["tie_mode"]), board_tiers(info["tiers"])
            pages, tickers = await self._gather(
                board, SortOrder(info["sort_order"]), tie_mode, subs, events, upto
            )
            frames, moved, deferred = self._decide(board, subs, pages, tickers, upto, tiers)
            report.deferred_until = min(deferred) if deferred else None
            sent_at = time.perf_counter()
            gone = await self.sender.send_many(frames) if frames else []
            report.send_s = time.perf_counter() - sent_at
            report.frames, report.gone, report.seq = len(frames), list(gone), upto
            if fresh:
                lag = await conn.fetchval(PUSH_LAG_MS, board, cursor, upto)
                report.lag_ms = float(lag) if lag is not None else None
            if moved:
                self._warm.pop(board)  # in doubt until the commit
                subs = [moved.get(s.key, s) for s in subs]
                rounds = await feed.save_cursor_state(
                    conn,
                    CONSUMER,
                    board,
                    upto,
                    self._dumps.setdefault(board, _StateDump()).dump(subs),
                )
                warm = _Warm(warm.fingerprint, rounds, subs)
            else:
                await feed.advance_cursor(conn, CONSUMER, board, upto)
        self._warm[board] = warm
        for cid in gone:
            await self.connections.remove(cid)
        ladders = [info["season_no"], info["all_time_no"]]
        folded = [(await compact(self.store.pool, int(n))).folded_buckets for n in ladders if n]
        if any(folded):
            await vacuum_deltas(self.store.pool)
        return report

    def _decide(
        self,
        board: str,
        subs: Sequence[Subscription],
        pages: Mapping[str, _Page],
        tickers: Mapping[str, Ticker],
        upto: int,
        tiers: list[Tier] | None = None,
    ) -> tuple[list[tuple[ConnectionId, str]], dict[str, Subscription], list[float]]:
        """Apply :func:`~core.conflation.decide` to every subscription: the frames to send,
        the subscriptions whose state moved on, and when deferred views are due.

        Subscriptions of one top-N or around view that showed the same state with the
        same last seq (the spectators of a venue's top-10) get the same decision, the
        same frame and the same new state: each such group is decided once."""
        now = self.clock()
        window_s = self.window_s
        frames: list[tuple[ConnectionId, str]] = []
        moved: dict[str, Subscription] = {}
        deferred: list[float] = []
        # a shared view's outcome per (view, state shown, last seq): decision, frame body
        shared: dict[tuple[str, ViewState, int], tuple[Decision, str | None]] = {}
        for sub in subs:
            previous = sub.state
            if previous.as_of >= upto:  # not needs_round(): nothing after what it reflects
                continue
            body: str | None
            if sub.kind == "me":
                ticker = tickers[sub.key]
                decision = decide(
                    previous, ViewState(upto, None, None, ticker), now=now, window_s=window_s
                )
                body = (
                    _ticker_frame(sub, board, ticker, upto, tiers)
                    if type(decision) is Send
                    else None
                )
            else:
                group = (sub.view_id, previous, sub.last_seq)
                outcome = shared.get(group)
                if outcome is None:
                    page = pages[sub.view_id]
                    decision = decide(
                        previous, ViewState(upto, None, page.digest), now=now, window_s=window_s
                    )
                    body = None
                    if type(decision) is Send:
                        body = UpdateFrame(
                            view_id=sub.view_id, board=board, season=sub.season,
                            view=sub.kind,  # type: ignore[arg-type]
                            seq=upto, prev_seq=sub.last_seq, total=page.total,
                            entries=page.entries, me=page.me,
                        ).dump()  # fmt: skip
                    outcome = shared[group] = (decision, body)
                decision, body = outcome
            if type(decision) is Send:
                assert body is not None
                frames.append((sub.connection_id, body))
                moved[sub.key] = _moved(sub, upto, decision.state)
            elif type(decision) is Rebase:
                moved[sub.key] = _moved(sub, sub.last_seq, decision.state)
            elif type(decision) is Defer:
                deferred.append(decision.due)
        return frames, moved, deferred

    async def _subscriptions(self, conn: asyncpg.Connection, board: str, rounds: int) -> _Warm:
        """The board's subscriptions with their view states: from memory while nobody
        changed the set and no other broadcaster saved states since this one did, else
        from the database (the routes' rows, overlaid with the saved states)."""
        fingerprint = await self.connections.fingerprint(board, conn=conn)
        warm = self._warm.get(board)
        if warm is not None and warm.rounds == rounds and warm.fingerprint == fingerprint:
            return warm
        saved = pydantic_core.from_json(await feed.cursor_states(conn, CONSUMER, board) or "{}")
        subs = []
        for sub in await self.connections.of_board(board, conn=conn):
            entry = saved.get(sub.key)
            # the same subscription (not an earlier one under the same ids), seen later
            if entry and entry[0] == sub.change_no and entry[1] >= sub.last_seq:
                player = sub.player_id if sub.kind == "me" else None
                sub = replace(
                    sub, last_seq=entry[1], state=ViewState.from_json(entry[2], player=player)
                )
            subs.append(sub)
        return _Warm(fingerprint, rounds, subs)

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

    async def _gather(
        self,
        board: str,
        order: SortOrder,
        tie_mode: TieMode,
        subs: Sequence[Subscription],
        events: Sequence[ChangeEvent],
        upto: int,
    ) -> tuple[dict[str, _Page], dict[str, Ticker]]:
        """What every view that may have changed shows as of ``upto``: each distinct top-N
        or around page read once (by view id) exactly as of ``upto`` (changes numbered
        after it wait for the next round), each ticker derived or re-read."""
        pages: dict[str, _Page] = {}
        for sub in subs:
            if sub.kind == "me" or sub.view_id in pages or not needs_round(sub.state, upto):
                continue
            if sub.kind == "top":
                top = await self.store.fetch_top(
                    board, season=sub.season, limit=sub.size, as_of=upto
                )
                pages[sub.view_id] = _Page.of([view_entry(e) for e in top.entries], top.total, None)
            else:
                around = await self.store.fetch_around(
                    board, str(sub.player_id), k=sub.size, season=sub.season, as_of=upto
                )
                entries = [view_entry(e) for e in around.entries]
                me = next((e for e in entries if e.player == sub.player_id), None)
                pages[sub.view_id] = _Page.of(entries, around.total, me)
        tickers = await self._tickers(board, order, tie_mode, subs, events, upto)
        return pages, tickers

    async def _tickers(
        self,
        board: str,
        order: SortOrder,
        tie_mode: TieMode,
        subs: Sequence[Subscription],
        events: Sequence[ChangeEvent],
        upto: int,
    ) -> dict[str, Ticker]:
        """Every ``me`` subscription's ticker as of ``upto``: derived where its entry did not
        move, re-read exactly as of ``upto`` where it did (or where it has no base)."""
        by_season: dict[str, list[ChangeEvent]] = defaultdict(list)
        for e in events:
            by_season[e.season].append(e)
        out: dict[str, Ticker] = {}
        reread: dict[str, list[Subscription]] = defaultdict(list)
        indexes: dict[tuple[str, int], tuple[ShiftIndex, set[str], bool]] = {}
        for sub in subs:
            if sub.kind != "me" or not needs_round(sub.state, upto):
                continue
            base, as_of = sub.state.ticker, sub.state.as_of
            if (sub.season, as_of) not in indexes:
                moves = net_moves(
                    [e for e in by_season.get(sub.season, []) if e.seq > as_of], order
                )
                # an erased player's events name a pseudonym, whose key does not order
                # like the real one among exact ties: re-read rather than derive
                erased = any(is_erased(p) for p in moves)
                indexes[(sub.season, as_of)] = (ShiftIndex.of(moves), set(moves), erased)
            index, movers, erased = indexes[(sub.season, as_of)]
            if (
                base is None or base.key is None or erased or sub.player_id in movers
                or (tie_mode is not TieMode.ORDINAL and base.display_rank is None)
                or (tie_mode is TieMode.DENSE and not dense_display_holds(index, base.key))
            ):  # fmt: skip
                reread[sub.season].append(sub)
            else:
                out[sub.key] = advance_ticker(base, index, tie_mode)
        for season, group in reread.items():
            fresh, _ = await self.store.fetch_tickers_as_of(
                board, season, sorted({str(s.player_id) for s in group}), upto
            )
            for sub in group:
                out[sub.key] = fresh[str(sub.player_id)]
        return out
