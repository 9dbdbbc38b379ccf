"""The ranking store: boards, seasons, scores and exact-rank reads over asyncpg.

Writes go to the primary pool; reads go to ``read_pool`` (the replica on AWS and in the
local runtime, the primary otherwise). Every write is one transaction; a submit of one score
is one round trip to ``lb_submit_acked`` (db/functions/lb_submit_acked.sql), which commits
``lb_submit`` and numbers the committed write for its ack (``lb_seq_of``); a batch is one
round trip to ``lb_submit`` and one to ``lb_seq_of`` on the same connection. Every read is one
statement, so its ranks, counts and ``as_of_seq`` come from one snapshot (or, when that
snapshot holds committed changes not numbered yet, one REPEATABLE READ transaction).

``as_of_seq`` covers exactly what a read shows: the entries, ranks, scores and total are
the ladder's state after the board's event ``as_of_seq`` and before the next. A snapshot
may already include committed changes whose events are not numbered yet (writers commit
first and are numbered later: db/RANKING.md, "The change feed"); each read checks for
them in its own statement and, when there are any, reads again in one REPEATABLE READ
snapshot and undoes them (``Store._read_as_of``). ``updates`` and ``metadata`` ride along
as of the read: they change without an event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from core.boards import (
    ALL_TIME,
    Board,
    BoardSpec,
    ResetSchedule,
    SortOrder,
    TieMode,
    Tier,
    board_tiers,
    check_tiers,
    season_for,
)
from core.errors import BadRequest, Conflict, NotFound
from core.feed import ChangeEvent
from core.ids import BoardId, SubmissionId, board_id, player_id, season_id
from core.ranking import (
    BEFORE_EVERY_AT,
    EntryKey,
    Page,
    RankedEntry,
    ScoreInput,
    Standing,
    SubmitResult,
    check_batch,
    check_score,
    encode_metadata,
    percentile,
    request_hash,
    with_display,
)
from core.views import Ticker, rewind, rewind_distinct, rewind_key
from db.errors import translated, unreachable_errors
from db.feed import event_from_row

if TYPE_CHECKING:
    import asyncpg

    from core.settings import Settings

INSERT_BOARD: Final = """
WITH b AS (
    INSERT INTO lb_board AS b (board_id, sort_order, policy, min_score, max_score,
                               reset_schedule, metadata, season, tie_mode, tiers, all_time)
    VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10::jsonb, $11)
    ON CONFLICT (board_id) DO NOTHING
    RETURNING b.board_id, b.sort_order, b.policy, b.min_score, b.max_score,
       b.reset_schedule, b.metadata, b.season, b.seq, b.created_at,
       b.tie_mode, b.tiers, b.all_time
), s AS (
    INSERT INTO lb_season (board_id, season) SELECT board_id, season FROM b
    UNION ALL
    SELECT board_id, 'all-time' FROM b WHERE b.all_time
)
SELECT * FROM b"""

UPDATE_BOARD: Final = """
UPDATE lb_board AS b SET
    min_score = coalesce($2, b.min_score),
    max_score = coalesce($3, b.max_score),
    reset_schedule = CASE WHEN $4 THEN $5 ELSE b.reset_schedule END,
    metadata = coalesce($6::jsonb, b.metadata),
    tie_mode = coalesce($7, b.tie_mode),
    tiers = CASE WHEN $8 THEN $9::jsonb ELSE b.tiers END,
    updated_at = now()
WHERE b.board_id = $1
RETURNING b.board_id, b.sort_order, b.policy, b.min_score, b.max_score,
       b.reset_schedule, b.metadata, b.season, b.seq, b.created_at,
       b.tie_mode, b.tiers, b.all_time"""

SELECT_BOARD: Final = """SELECT b.board_id, b.sort_order, b.policy, b.min_score, b.max_score,
       b.reset_schedule, b.metadata, b.season, b.seq, b.created_at,
       b.tie_mode, b.tiers, b.all_time FROM lb_board b WHERE b.board_id = $1"""
SELECT_BOARDS: Final = """SELECT b.board_id, b.sort_order, b.policy, b.min_score, b.max_score,
       b.reset_schedule, b.metadata, b.season, b.seq, b.created_at,
       b.tie_mode, b.tiers, b.all_time FROM lb_board b ORDER BY b.board_id"""
SELECT_SEASONS: Final = """
SELECT s.season, s.started_at, s.ended_at, lb_count_entries(s.season_no) AS entries,
       CASE WHEN s.season = b.season THEN b.reset_schedule END AS resets
  FROM lb_season s JOIN lb_board b ON b.board_id = s.board_id WHERE s.board_id = $1
 ORDER BY s.season = 'all-time', s.started_at, s.season_no"""

ROLL_SEASON: Final = """
WITH old AS (
    UPDATE lb_season SET ended_at = now()
     WHERE board_id = $1 AND season = (SELECT season FROM lb_board WHERE board_id = $1)
), s AS (
    INSERT INTO lb_season (board_id, season) VALUES ($1, $2)
), b AS (
    UPDATE lb_board AS b SET season = $2, updated_at = now() WHERE b.board_id = $1
    RETURNING b.board_id, b.sort_order, b.policy, b.min_score, b.max_score,
       b.reset_schedule, b.metadata, b.season, b.seq, b.created_at,
       b.tie_mode, b.tiers, b.all_time
)
SELECT * FROM b"""
SELECT_SEASON_EXISTS: Final = "SELECT 1 FROM lb_season WHERE board_id = $1 AND season = $2"
LOCK_BOARD: Final = "SELECT season FROM lb_board WHERE board_id = $1 FOR UPDATE"
COUNT_SEASONS: Final = "SELECT count(*) FROM lb_season WHERE board_id = $1"

# Scores, times and metadata travel as text[] and are cast here: asyncpg knows text[] but
# must look up any other array type (bigint[], timestamptz[], jsonb[]) with an introspection
# query on each new connection, ~20 ms idle and 50 ms under load, which a cold Lambda paid
# on its first submit and the local runtime once per pooled connection. asyncpg also wraps
# that introspection in a session-level set_config('jit', ...), which pins an RDS Proxy
# session (infra/README.md).
SUBMIT: Final = """
SELECT * FROM lb_submit($1, $2, $3, $4, $5::text[]::bigint[], $6::text[]::timestamptz[],
                        $7::text[]::jsonb[], $8, $9)"""

# An entry's metadata replaced without a new score: not a rank move, so no event and no
# seq (db/RANKING.md); the standing score keeps its place.
SET_METADATA: Final = """
UPDATE lb_entry e SET metadata = $3::jsonb
  FROM lb_ladder l
 WHERE l.board_id = $1 AND l.season = l.current_season
   AND e.season_no = l.season_no AND e.player_id = $2
RETURNING e.player_id"""

# One score submitted, committed and numbered in one round trip
# (db/functions/lb_submit_acked.sql): the row of SUBMIT and the write's seq.
SUBMIT_ACKED: Final = """
CALL lb_submit_acked($1, $2, $3, $4, $5::text::bigint, $6::text::timestamptz, $7::text::jsonb,
                     $8, $9)"""

# The seq a committed write was numbered with (db/functions/lb_seq_of.sql).
SEQ_OF: Final = "SELECT lb_seq_of($1, $2)"

FETCH_TOP: Final = """
WITH
l AS (
    SELECT season_no, season, seq, sort_order, tie_mode, tiers,
           CASE WHEN season = current_season THEN reset_schedule END AS resets
      FROM lb_ladder
     WHERE board_id = $1 AND season = coalesce($2, current_season)
),
page AS (
    SELECT e.player_id, e.score, e.achieved_at, e.updates, e.metadata,
       e.sort_score, row_number() OVER () AS rn
      FROM l CROSS JOIN LATERAL (
            SELECT e.* FROM lb_entry e
             WHERE e.season_no = l.season_no
             ORDER BY e.sort_score, e.achieved_at, e.player_id
             LIMIT $3) e
)
SELECT l.season, l.seq, lb_count_entries(l.season_no) AS total, l.sort_order, l.tie_mode, l.tiers, l.resets,
       (SELECT lb_display_before(l.season_no, l.tie_mode, p.sort_score) FROM page p
         WHERE p.rn = 1) AS display_before,
       EXISTS (SELECT 1 FROM lb_event v
                WHERE v.board_id = $1 AND v.seq IS NULL AND v.season_no = l.season_no) AS pending,
       (SELECT json_agg(json_build_object(
            'player_id', p.player_id, 'score', p.score, 'achieved_at', p.achieved_at,
            'updates', p.updates, 'metadata', p.metadata, 'sort_score', p.sort_score,
            'rank', p.rn) ORDER BY p.rn) FROM page p) AS entries
  FROM l"""

FETCH_TOP_AFTER: Final = """
WITH
l AS (
    SELECT season_no, season, seq, sort_order, tie_mode, tiers,
           CASE WHEN season = current_season THEN reset_schedule END AS resets
      FROM lb_ladder
     WHERE board_id = $1 AND season = coalesce($2, current_season)
),
page AS (
    SELECT e.player_id, e.score, e.achieved_at, e.updates, e.metadata,
       e.sort_score, row_number() OVER () AS rn
      FROM l CROSS JOIN LATERAL (
            SELECT e.* FROM lb_entry e
             WHERE e.season_no = l.season_no
               AND (e.sort_score, e.achieved_at, e.player_id) > ($4, $5, $6::text COLLATE "C")
             ORDER BY e.sort_score, e.achieved_at, e.player_id
             LIMIT $3) e
),
base AS (
    SELECT lb_count_before(l.season_no, p.sort_score, p.achieved_at, p.player_id) AS before
      FROM page p, l WHERE p.rn = 1
)
SELECT l.season, l.seq, lb_count_entries(l.season_no) AS total, l.sort_order, l.tie_mode, l.tiers, l.resets,
       (SELECT lb_display_before(l.season_no, l.tie_mode, p.sort_score) FROM page p
         WHERE p.rn = 1) AS display_before,
       EXISTS (SELECT 1 FROM lb_event v
                WHERE v.board_id = $1 AND v.seq IS NULL AND v.season_no = l.season_no) AS pending,
       (SELECT json_agg(json_build_object(
            'player_id', p.player_id, 'score', p.score, 'achieved_at', p.achieved_at,
            'updates', p.updates, 'metadata', p.metadata, 'sort_score', p.sort_score,
            'rank', (SELECT before FROM base) + p.rn) ORDER BY p.rn) FROM page p) AS entries
  FROM l"""

FETCH_STANDING: Final = """
WITH
l AS (
    SELECT season_no, season, seq, sort_order, tie_mode, tiers,
           CASE WHEN season = current_season THEN reset_schedule END AS resets
      FROM lb_ladder
     WHERE board_id = $1 AND season = coalesce($2, current_season)
)
SELECT l.season, l.seq, lb_count_entries(l.season_no) AS total, l.sort_order, l.tie_mode, l.tiers, l.resets,
       EXISTS (SELECT 1 FROM lb_event v
                WHERE v.board_id = $1 AND v.seq IS NULL AND v.season_no = l.season_no) AS pending,
       (SELECT json_build_object(
            'player_id', e.player_id, 'score', e.score, 'achieved_at', e.achieved_at,
            'updates', e.updates, 'metadata', e.metadata, 'sort_score', e.sort_score,
            'rank', lb_count_before(l.season_no, e.sort_score, e.achieved_at, e.player_id) + 1,
            'display_before', lb_display_before(l.season_no, l.tie_mode, e.sort_score))
          FROM lb_entry e WHERE e.season_no = l.season_no AND e.player_id = $3) AS entry
  FROM l"""

# The hot path: one player's rank in the current season, as one planned statement
# (the same arithmetic as lb_count_before, with its lookups as LATERAL index probes),
# from the entry's key in ladder ``me.season_no``. RANK_TERMS is only the expression; the
# two statements below differ in how they find the ladder.
RANK_TERMS: Final = """
SELECT 1
 + (SELECT coalesce(sum(b.cnt), 0) FROM lb_rank_block b
     WHERE b.season_no = me.season_no
       AND (b.lo_score, b.lo_at, b.lo_player) < (blk.lo_score, blk.lo_at, blk.lo_player))
 + (SELECT coalesce(sum(b.cnt), 0) FROM lb_rank_bucket b
     WHERE b.season_no = me.season_no
       AND (b.lo_score, b.lo_at, b.lo_player) >= (blk.lo_score, blk.lo_at, blk.lo_player)
       AND (b.lo_score, b.lo_at, b.lo_player) < (bkt.lo_score, bkt.lo_at, bkt.lo_player))
 + (SELECT count(*) FROM lb_entry e
     WHERE e.season_no = me.season_no
       AND (e.sort_score, e.achieved_at, e.player_id) >= (bkt.lo_score, bkt.lo_at, bkt.lo_player)
       AND (e.sort_score, e.achieved_at, e.player_id)
           < (me.sort_score, me.achieved_at, me.player_id))
 + (SELECT coalesce(sum(d.delta), 0) FROM lb_rank_delta d
     WHERE d.season_no = me.season_no
       AND (d.sort_score, d.achieved_at, d.player_id) < (bkt.lo_score, bkt.lo_at, bkt.lo_player))
   AS rank,
   me.season_no"""
RANK_PROBES: Final = """
CROSS JOIN LATERAL (
    SELECT b.lo_score, b.lo_at, b.lo_player FROM lb_rank_block b
     WHERE b.season_no = me.season_no
       AND (b.lo_score, b.lo_at, b.lo_player) <= (me.sort_score, me.achieved_at, me.player_id)
     ORDER BY b.lo_score DESC, b.lo_at DESC, b.lo_player DESC LIMIT 1) blk
CROSS JOIN LATERAL (
    SELECT b.lo_score, b.lo_at, b.lo_player FROM lb_rank_bucket b
     WHERE b.season_no = me.season_no
       AND (b.lo_score, b.lo_at, b.lo_player) <= (me.sort_score, me.achieved_at, me.player_id)
     ORDER BY b.lo_score DESC, b.lo_at DESC, b.lo_player DESC LIMIT 1) bkt"""
# By board: the board's row and its current season's, then the entry.
FETCH_RANK_ONLY: Final = (
    RANK_TERMS
    + """
FROM lb_ladder l
JOIN lb_entry me ON me.season_no = l.season_no AND me.player_id = $2"""
    + RANK_PROBES
    + """
WHERE l.board_id = $1 AND l.season = l.current_season"""
)
# By a ladder this process resolved before (Store._current_season_nos): the entry, and the
# season's own row to check that it is still the board's current one, in the same
# snapshot as the rank. A roll ends the current season (ended_at, ROLL_SEASON) in the
# transaction that moves the board on, so a ladder that rolled answers nothing here and
# the caller asks by board. The board's row, which every submit reads and every numbering
# round rewrites, is not read: that lookup was about a sixth of the statement's time.
FETCH_RANK_IN: Final = (
    RANK_TERMS
    + """
FROM lb_season l
JOIN lb_entry me ON me.season_no = l.season_no AND me.player_id = $2"""
    + RANK_PROBES
    + """
WHERE l.season_no = $1 AND l.ended_at IS NULL"""
)

FETCH_AROUND: Final = """
WITH
l AS (
    SELECT season_no, season, seq, sort_order, tie_mode, tiers,
           CASE WHEN season = current_season THEN reset_schedule END AS resets
      FROM lb_ladder
     WHERE board_id = $1 AND season = coalesce($2, current_season)
),
me AS (
    SELECT e.sort_score, e.achieved_at, e.player_id
      FROM lb_entry e, l WHERE e.season_no = l.season_no AND e.player_id = $3
),
window_rows AS (
    SELECT e.* FROM l, me CROSS JOIN LATERAL (
        SELECT e.* FROM lb_entry e
         WHERE e.season_no = l.season_no
           AND (e.sort_score, e.achieved_at, e.player_id) < (me.sort_score, me.achieved_at, me.player_id)
         ORDER BY e.sort_score DESC, e.achieved_at DESC, e.player_id DESC
         LIMIT $4) e
    UNION ALL
    SELECT e.* FROM l, me CROSS JOIN LATERAL (
        SELECT e.* FROM lb_entry e
         WHERE e.season_no = l.season_no
           AND (e.sort_score, e.achieved_at, e.player_id) >= (me.sort_score, me.achieved_at, me.player_id)
         ORDER BY e.sort_score, e.achieved_at, e.player_id
         LIMIT $4 + 1) e
),
page AS (
    SELECT e.player_id, e.score, e.achieved_at, e.updates, e.metadata,
       e.sort_score,
           row_number() OVER (ORDER BY e.sort_score, e.achieved_at, e.player_id) AS rn
      FROM window_rows e
),
base AS (
    SELECT lb_count_before(l.season_no, p.sort_score, p.achieved_at, p.player_id) AS before
      FROM page p, l WHERE p.rn = 1
)
SELECT l.season, l.seq, lb_count_entries(l.season_no) AS total, l.sort_order, l.tie_mode, l.tiers, l.resets,
       (SELECT lb_display_before(l.season_no, l.tie_mode, p.sort_score) FROM page p
         WHERE p.rn = 1) AS display_before,
       EXISTS (SELECT 1 FROM lb_event v
                WHERE v.board_id = $1 AND v.seq IS NULL AND v.season_no = l.season_no) AS pending,
       EXISTS (SELECT 1 FROM me) AS found,
       (SELECT json_agg(json_build_object(
            'player_id', p.player_id, 'score', p.score, 'achieved_at', p.achieved_at,
            'updates', p.updates, 'metadata', p.metadata, 'sort_score', p.sort_score,
            'rank', (SELECT before FROM base) + p.rn) ORDER BY p.rn) FROM page p) AS entries
  FROM l"""

FETCH_PLAYERS: Final = """
WITH
l AS (
    SELECT season_no, season, seq, sort_order, tie_mode, tiers,
           CASE WHEN season = current_season THEN reset_schedule END AS resets
      FROM lb_ladder
     WHERE board_id = $1 AND season = coalesce($2, current_season)
),
page AS (
    SELECT e.player_id, e.score, e.achieved_at, e.updates, e.metadata,
       e.sort_score,
           lb_count_before(l.season_no, e.sort_score, e.achieved_at, e.player_id) + 1 AS rank,
           lb_display_before(l.season_no, l.tie_mode, e.sort_score) AS display_before
      FROM lb_entry e, l
     WHERE e.season_no = l.season_no AND e.player_id = ANY($3::text[])
)
SELECT l.season, l.seq, lb_count_entries(l.season_no) AS total, l.sort_order, l.tie_mode, l.tiers, l.resets,
       EXISTS (SELECT 1 FROM lb_event v
                WHERE v.board_id = $1 AND v.seq IS NULL AND v.season_no = l.season_no) AS pending,
       (SELECT json_agg(json_build_object(
            'player_id', p.player_id, 'score', p.score, 'achieved_at', p.achieved_at,
            'updates', p.updates, 'metadata', p.metadata, 'sort_score', p.sort_score,
            'rank', p.rank, 'display_before', p.display_before) ORDER BY p.rank)
          FROM page p) AS entries
  FROM l"""


SELECT_LADDER: Final = """
SELECT season_no, sort_order, tie_mode FROM lb_ladder WHERE board_id = $1 AND season = $2"""
SELECT_EXTRA_EVENTS: Final = """
SELECT board_id, season, coalesce(seq, 0) AS seq, player_id, old_score, new_score, old_at, new_at
  FROM lb_event
 WHERE board_id = $1 AND season_no = $2 AND (seq IS NULL OR seq > $3)
 ORDER BY event_id"""
SELECT_KEYS: Final = """
SELECT player_id, sort_score, achieved_at FROM lb_entry
 WHERE season_no = $1 AND player_id = ANY($2::text[])"""
COUNT_BEFORE_KEYS: Final = """
SELECT k.i, lb_count_before($1, k.s, k.a, k.p) AS before
  FROM unnest($2::text[]::bigint[], $3::text[]::timestamptz[], $4::text[])
       WITH ORDINALITY AS k(s, a, p, i)"""
# Above FEW_KEYS keys, one merged pass (db/RANKING.md, "Ranks of a batch"), as lb_submit
# does for a batch: lb_count_before per key re-sums every pending delta before its bucket,
# so a broadcaster round re-reading hundreds of tickers while writes pour in (and deltas
# pile up) grew with keys x deltas.
COUNT_BEFORE_MANY: Final = """
SELECT i, before
  FROM lb_count_before_many($1, $2::text[]::bigint[], $3::text[]::timestamptz[], $4::text[])"""
FEW_KEYS: Final = 16
SELECT_EVENT_AT: Final = "SELECT EXISTS (SELECT 1 FROM lb_event WHERE board_id = $1 AND seq = $2)"
PINNED_EVENTS_MAX: Final = 5000
"""A paging cursor is honoured while at most this many changes of its ladder followed its
seq: each is undone on every page read (db/RANKING.md, "The change feed")."""
COUNT_ENTRIES: Final = "SELECT lb_count_entries($1)"

# Reads exactly as of a seq (Store._read_as_of): the ladder and its seq, then entries in
# key order from a key, in the same REPEATABLE READ snapshot as the events to undo.
SELECT_LADDER_AT: Final = """
SELECT season_no, season, seq, sort_order, tie_mode, tiers,
           CASE WHEN season = current_season THEN reset_schedule END AS resets
      FROM lb_ladder
 WHERE board_id = $1 AND season = coalesce($2, current_season)"""
SELECT_ROWS_OF: Final = """
SELECT player_id, score, sort_score, achieved_at, updates, metadata FROM lb_entry
 WHERE season_no = $1 AND player_id = ANY($2::text[])"""
SELECT_ROWS_AFTER: Final = """
SELECT player_id, score, sort_score, achieved_at, updates, metadata FROM lb_entry
 WHERE season_no = $1 AND (sort_score, achieved_at, player_id) > ($2, $3, $4::text COLLATE "C")
 ORDER BY sort_score, achieved_at, player_id LIMIT $5"""
SELECT_ROWS_FROM: Final = """
SELECT player_id, score, sort_score, achieved_at, updates, metadata FROM lb_entry
 WHERE season_no = $1 AND (sort_score, achieved_at, player_id) >= ($2, $3, $4::text COLLATE "C")
 ORDER BY sort_score, achieved_at, player_id LIMIT $5"""
SELECT_ROWS_BEFORE: Final = """
SELECT player_id, score, sort_score, achieved_at, updates, metadata FROM lb_entry
 WHERE season_no = $1 AND (sort_score, achieved_at, player_id) < ($2, $3, $4::text COLLATE "C")
 ORDER BY sort_score DESC, achieved_at DESC, player_id DESC LIMIT $5"""
BEFORE_EVERY_KEY: Final = EntryKey(-(2**63), datetime.min.replace(tzinfo=UTC), "")
"""Below every entry's key (scores stay above -2^63): "after" it is the ladder's start."""

# The display counts of sort scores (db/functions/lb_display_before.sql), and how many
# entries sit at each of some sort scores, counting each only up to its cap.
DISPLAY_BEFORE_SCORES: Final = """
SELECT k.s, lb_display_before($1, $2, k.s) AS before
  FROM unnest($3::text[]::bigint[]) AS k(s)"""
COUNT_AT_SCORES: Final = """
SELECT k.s, (SELECT count(*) FROM (SELECT 1 FROM lb_entry e
                                    WHERE e.season_no = $1 AND e.sort_score = k.s
                                    LIMIT k.cap) x) AS n
  FROM unnest($2::text[]::bigint[], $3::text[]::integer[]) AS k(s, cap)"""


def _board(row: asyncpg.Record) -> Board:
    return Board(
        id=row["board_id"],
        order=row["sort_order"],
        policy=row["policy"],
        min_score=row["min_score"],
        max_score=row["max_score"],
        reset=row["reset_schedule"],
        metadata=json.loads(row["metadata"])
        if isinstance(row["metadata"], str)
        else row["metadata"],
        season=row["season"],
        seq=row["seq"],
        created_at=row["created_at"],
        tie_mode=row["tie_mode"],
        tiers=board_tiers(row["tiers"]),
        all_time=row["all_time"],
    )


def _resets(raw: str | None) -> ResetSchedule | None:
    return None if raw is None else ResetSchedule(raw)


def _shown(
    row: asyncpg.Record, entries: list[RankedEntry], items: list[dict[str, Any]],
    *, contiguous: bool,
) -> list[RankedEntry]:  # fmt: skip
    """A fast-path read's entries with their display ranks, percentiles and tiers, from the
    display counts its statement read (the first entry's, or each entry's)."""
    if contiguous:
        first = row["display_before"] if items else None
        before = {} if first is None else {items[0]["sort_score"]: first}
    else:
        before = {
            i["sort_score"]: i["display_before"] for i in items if i["display_before"] is not None
        }
    return with_display(
        entries, order=SortOrder(row["sort_order"]), total=row["total"],
        tie_mode=TieMode(row["tie_mode"]), tiers=board_tiers(row["tiers"]), before=before,
        contiguous=contiguous,
    )  # fmt: skip


@dataclass(frozen=True)
class _Row:
    """An entry as the as-of reads handle it: its key, score and what rides along."""

    key: EntryKey
    score: int
    updates: int
    metadata: dict[str, Any] | None

    @classmethod
    def of(cls, r: asyncpg.Record) -> _Row:
        meta = r["metadata"]
        return cls(
            EntryKey(r["sort_score"], r["achieved_at"], r["player_id"]), r["score"],
            r["updates"], json.loads(meta) if isinstance(meta, str) else meta,
        )  # fmt: skip

    def ranked(self, rank: int) -> RankedEntry:
        return RankedEntry(
            player_id=self.key.player_id, score=self.score, rank=rank,
            achieved_at=self.key.achieved_at, updates=self.updates, metadata=self.metadata,
        )  # fmt: skip


@dataclass(frozen=True)
class _Window:
    """Which entries a read shows: the top ``limit`` after ``after``; ``player`` and ``k``
    on each side; or exactly ``players``."""

    kind: str  # "top" | "before" | "around" | "players"
    limit: int = 0
    after: EntryKey | None = None  # "top": strictly after it; "before": strictly before it
    player: str | None = None
    k: int = 0
    players: tuple[str, ...] = ()
    pinned: bool = False
    """Read exactly as of the given seq or not at all (a paging cursor's own seq): refused
    as expired when its changes since are no longer kept or too many to undo."""


@dataclass(frozen=True)
class _AsOf:
    """A read's result exactly as of ``seq``."""

    season: str
    seq: int
    total: int
    entries: list[RankedEntry]
    found: bool
    last_key: EntryKey | None = None
    first_key: EntryKey | None = None
    resets: ResetSchedule | None = None


def _entry(item: dict[str, Any]) -> RankedEntry:
    return RankedEntry(
        player_id=item["player_id"],
        score=item["score"],
        rank=item["rank"],
        achieved_at=datetime.fromisoformat(item["achieved_at"]),
        updates=item["updates"],
        metadata=item["metadata"],
    )


def _key_of(item: dict[str, Any]) -> EntryKey:
    return EntryKey(
        item["sort_score"], datetime.fromisoformat(item["achieved_at"]), item["player_id"]
    )


def _entries(raw: str | None) -> list[dict[str, Any]]:
    return json.loads(raw) if raw else []


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=str, decoder=str, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (RESET ALL, UNLISTEN, ...): the store
    keeps no session state (its advisory locks are transaction-scoped), and the reset is a
    round trip on every release, about half the cost of a rank read."""


def _timestamptz_text(at: datetime | None) -> str | None:
    """A time as timestamptz input text, read as asyncpg reads a datetime (naive: local)."""
    return None if at is None else at.astimezone(UTC).isoformat()


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    proxy: bool = False,
    password: Callable[[], str] | None = None,
) -> asyncpg.Pool:
    """An asyncpg pool with the store's codecs.

    ``proxy``: the connections go through RDS Proxy, which pins a client session to one
    database connection when it sees session state (infra/README.md). asyncpg then keeps
    no statement cache: every statement is the unnamed one, which lasts one query, instead
    of a named prepared statement per query. The store's other session-level habits are off
    everywhere: no reset query on release, no ``SET``, transaction-scoped advisory locks.

    ``password``: called for every new connection (an IAM token, ``aws.rds_auth``).
    """
    import asyncpg

    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        password=password,
        init=_init_connection,
        reset=_keep_session,
        statement_cache_size=0 if proxy else 100,
        max_cached_statement_lifetime=0 if proxy else 300,
        server_settings={"application_name": "leaderboard"},
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def _connection(
    source: asyncpg.Pool | asyncpg.Connection,
) -> AsyncIterator[asyncpg.Connection]:
    """A connection of ``source``: one acquired from a pool (and released), or the very
    connection given (a replica read runs on one it can terminate: rest.reads)."""
    import asyncpg

    if isinstance(source, asyncpg.Pool):
        async with source.acquire() as conn:
            yield conn
    else:
        yield source


async def _count_before(
    conn: asyncpg.Connection, season_no: int, keys: Sequence[EntryKey]
) -> list[asyncpg.Record]:
    """How many entries come before each of ``keys`` (sorted), as rows ``(i, before)``
    with ``i`` the key's 1-based position: one probe per key for a few keys, one merged
    pass above :data:`FEW_KEYS`. Keys travel as text arrays (see ``SUBMIT``)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        COUNT_BEFORE_KEYS if len(keys) <= FEW_KEYS else COUNT_BEFORE_MANY,
        season_no,
        [str(k.sort_score) for k in keys],
        [_timestamptz_text(k.achieved_at) for k in keys],
        [k.player_id for k in keys],
    )
    return rows


async def _check_rewindable(conn: asyncpg.Connection, bid: BoardId, seq: int) -> None:
    """A read pinned at ``seq`` can undo every later change only while the event right
    after it is kept (the feed is pruned oldest first, so then every later one is too)."""
    if not await conn.fetchval(SELECT_EVENT_AT, bid, seq + 1):
        raise _expired(f"the changes since its seq {seq} are no longer kept")


def _expired(why: str) -> BadRequest:
    return BadRequest(
        f"invalid cursor: expired ({why}); read the player's window again for a fresh one",
        code="invalid_cursor",
    )


async def _display_before(
    conn: asyncpg.Connection, season_no: int, tie_mode: TieMode, scores: Sequence[int]
) -> dict[int, int]:
    """Each sort score's display count in the connection's snapshot (lb_display_before)."""
    if not scores:
        return {}
    rows = await conn.fetch(
        DISPLAY_BEFORE_SCORES, season_no, tie_mode.value, [str(s) for s in scores]
    )
    return {int(r["s"]): int(r["before"]) for r in rows}


async def _count_at_scores(
    conn: asyncpg.Connection,
    season_no: int,
    leaving_keys: Iterable[EntryKey],
    arriving_keys: Iterable[EntryKey],
) -> dict[int, int]:
    """How many entries sit at the sort score of each key a rewind moves (``leaving_keys``
    now, ``arriving_keys`` then), each counted up to one more than the keys leaving it:
    enough for :func:`core.views.rewind_distinct` to tell whether any entry stays there."""
    leaving: dict[int, int] = {k.sort_score: 0 for k in arriving_keys}
    for k in leaving_keys:
        leaving[k.sort_score] = leaving.get(k.sort_score, 0) + 1
    if not leaving:
        return {}
    rows = await conn.fetch(
        COUNT_AT_SCORES, season_no, [str(s) for s in leaving],
        [str(c + 1) for c in leaving.values()],
    )  # fmt: skip
    return {int(r["s"]): int(r["n"]) for r in rows}


async def _display_then(
    conn: asyncpg.Connection,
    season_no: int,
    tie_mode: TieMode,
    scores: Iterable[int],
    *,
    order: SortOrder,
    extras: Sequence[ChangeEvent],
    current: Mapping[str, EntryKey],
    then: Mapping[str, EntryKey | None],
) -> dict[int, int]:
    """Each sort score's display count (lb_display_before) as of a read's seq, from the
    read's snapshot, which also saw ``extras``: ``current`` and ``then`` are the moved
    players' keys in the snapshot and at the seq. Competition counts are entries before
    the key ``(s, BEFORE_EVERY_AT, "")``, undone as any count is (:func:`rewind`); dense
    counts by :func:`rewind_distinct`. Empty for ``ordinal`` (the display rank is the rank).
    """
    wanted = sorted(set(scores)) if tie_mode is not TieMode.ORDINAL else []
    now = await _display_before(conn, season_no, tie_mode, wanted)
    if not extras or not wanted:
        return now
    if tie_mode is TieMode.COMPETITION:
        keys = {s: EntryKey(s, BEFORE_EVERY_AT, "") for s in wanted}
        counts, _ = rewind(
            order=order, count_before_now={keys[s]: now[s] for s in wanted}, total_now=0,
            extras=extras, current_keys=current,
        )  # fmt: skip
        return {s: counts[keys[s]] for s in wanted}
    then_keys = [k for k in then.values() if k is not None]
    at_score = await _count_at_scores(conn, season_no, current.values(), then_keys)
    return {
        s: rewind_distinct(
            before_now=now[s],
            sort_score=s,
            now_keys=current.values(),
            then_keys=then_keys,
            at_score_now=at_score,
        )
        for s in wanted
    }


class Store:
    """Boards, scores and exact-rank reads. Stateless: any number may run at once."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        settings: Settings,
        read_pool: asyncpg.Pool | None = None,
    ) -> None:
        self.pool = pool
        self.read_pool = read_pool or pool
        self.settings = settings
        # board -> the season_no of its current ladder as last seen by fetch_rank; a hint,
        # checked by every read that uses it (FETCH_RANK_IN)
        self._current_season_nos: dict[str, int] = {}

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        dsn: str,
        reader_dsn: str | None = None,
        passwords: Callable[[str], Callable[[], str]] | None = None,
    ) -> Store:
        """Open the pools; ``passwords(dsn)``, when given, is each pool's password callable
        (IAM tokens), and ``settings.db_proxy`` turns the statement cache off."""
        import asyncpg

        password = passwords(dsn) if passwords else None
        try:
            pool = await create_pool(
                dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max,
                proxy=settings.db_proxy, password=password,
            )  # fmt: skip
        except (*unreachable_errors(), asyncpg.PostgresError):
            # The database is down as the process starts (a cold Lambda during an outage):
            # open the pool without connections, so every call fails with a typed,
            # retryable error until the database is back, instead of the start failing
            # (which API Gateway would answer with its untyped "Internal server error").
            pool = await create_pool(
                dsn, min_size=0, max_size=settings.db_pool_max,
                proxy=settings.db_proxy, password=password,
            )  # fmt: skip
        reader = None
        if reader_dsn and reader_dsn != dsn:
            # connects on first use: a replica that is down when a Lambda starts costs its
            # reads a failover to the primary (rest.reads), not the whole cold start
            reader = await create_pool(
                reader_dsn, min_size=0, max_size=settings.db_pool_max,
                proxy=settings.db_proxy, password=passwords(reader_dsn) if passwords else None,
            )  # fmt: skip
        return cls(pool, settings=settings, read_pool=reader)

    async def close(self) -> None:
        if self.read_pool is not self.pool:
            await self.read_pool.close()
        await self.pool.close()

    # --- boards -----------------------------------------------------------------

    async def create_board(self, spec: BoardSpec, *, now: datetime | None = None) -> Board:
        """Create a board in its first season. Raises Conflict if the id is taken."""
        season = season_for(spec.reset, now or datetime.now(UTC))
        async with translated():
            row = await self.pool.fetchrow(
                INSERT_BOARD, spec.id, spec.order.value, spec.policy.value, spec.min_score,
                spec.max_score, spec.reset.value if spec.reset else None,
                json.dumps(spec.metadata), season, spec.tie_mode.value,
                None if spec.tiers is None else json.dumps([t.model_dump() for t in spec.tiers]),
                spec.all_time,
            )  # fmt: skip
        if row is None:
            raise Conflict(f"board {spec.id!r} already exists", code="board_exists")
        return _board(row)

    async def configure_board(
        self,
        board: str,
        *,
        min_score: int | None = None,
        max_score: int | None = None,
        reset: ResetSchedule | str | None = "keep",
        metadata: dict[str, Any] | None = None,
        tie_mode: TieMode | None = None,
        tiers: list[Tier] | str | None = "keep",
    ) -> Board:
        """Change a board's bounds, reset schedule, metadata, tie mode or tiers (order,
        policy and the all-time ladder are fixed); ``tiers=None`` clears the tiers."""
        bid = board_id(board)
        change_reset = reset != "keep"
        reset_value = reset.value if isinstance(reset, ResetSchedule) else None
        change_tiers = tiers != "keep"
        new_tiers = check_tiers(tiers) if isinstance(tiers, list) else None
        async with translated():
            row = await self.pool.fetchrow(
                UPDATE_BOARD, bid, min_score, max_score, change_reset, reset_value,
                json.dumps(metadata) if metadata is not None else None,
                tie_mode.value if tie_mode is not None else None, change_tiers,
                None if new_tiers is None else json.dumps([t.model_dump() for t in new_tiers]),
            )  # fmt: skip
        if row is None:
            raise NotFound(f"unknown board {bid!r}", code="unknown_board")
        return _board(row)

    async def get_board(self, board: str, *, replica: bool = False) -> Board:
        bid = board_id(board)
        pool = self.read_pool if replica else self.pool
        async with translated():
            row = await pool.fetchrow(SELECT_BOARD, bid)
        if row is None:
            raise NotFound(f"unknown board {bid!r}", code="unknown_board")
        return _board(row)

    async def list_boards(self, *, replica: bool = False) -> list[Board]:
        pool = self.read_pool if replica else self.pool
        async with translated():
            rows = await pool.fetch(SELECT_BOARDS)
        return [_board(r) for r in rows]

    async def list_seasons(self, board: str, *, replica: bool = False) -> list[dict[str, Any]]:
        bid = board_id(board)
        pool = self.read_pool if replica else self.pool
        async with translated():
            rows = await pool.fetch(SELECT_SEASONS, bid)
        if not rows:
            raise NotFound(f"unknown board {bid!r}", code="unknown_board")
        return [dict(r) for r in rows]

    async def roll_season(
        self, board: str, *, season: str | None = None, now: datetime | None = None
    ) -> Board:
        """Start a new season; the old one stays queryable by name.

        Without ``season``: the schedule's season for ``now`` on scheduled boards, else
        ``s<N+1>``. Raises Conflict when that season already exists.
        """
        bid = board_id(board)
        async with translated(), self.pool.acquire() as conn, conn.transaction():
            current = await conn.fetchval(LOCK_BOARD, bid)
            if current is None:
                raise NotFound(f"unknown board {bid!r}", code="unknown_board")
            if season is None:
                board_row = await conn.fetchrow(SELECT_BOARD, bid)
                reset = board_row["reset_schedule"]
                if reset:
                    season = season_for(ResetSchedule(reset), now or datetime.now(UTC))
                else:
                    season = f"s{await conn.fetchval(COUNT_SEASONS, bid) + 1}"
            new = season_id(season)
            if new == ALL_TIME:
                raise BadRequest(
                    f"season {ALL_TIME!r} is the all-time ladder's name; pick another",
                    code="reserved_season",
                )
            if await conn.fetchval(SELECT_SEASON_EXISTS, bid, new):
                raise Conflict(f"board {bid!r} already has a season {new!r}", code="season_exists")
            row = await conn.fetchrow(ROLL_SEASON, bid, new)
        return _board(row)

    async def roll_due_seasons(self, *, now: datetime | None = None) -> list[Board]:
        """Roll every scheduled board whose schedule has moved past its current season."""
        now = now or datetime.now(UTC)
        rolled = []
        for board in await self.list_boards():
            if board.reset is None or board.season == season_for(board.reset, now):
                continue
            try:
                rolled.append(await self.roll_season(board.id, now=now))
            except Conflict:
                continue  # another roller got there first
        return rolled

    # --- writes -----------------------------------------------------------------

    async def submit(
        self,
        board: str,
        scores: Sequence[ScoreInput],
        *,
        submission_id: SubmissionId | None = None,
        submitter: str = "",
        with_ranks: bool = True,
    ) -> list[SubmitResult]:
        """Apply one score or a batch in one transaction (all or nothing).

        Once committed, the write is numbered (if no one numbered it yet) and every result
        carries its ``seq``: the board seq of the write's last change event, from which on
        every snapshot and update reflects it (the board's seq then, for a write that moved
        no entry; the first write's, for a replay).

        Idempotent by ``submission_id`` within ``submitter`` (the principal's scope,
        :func:`core.auth.submission_scope`; ``""`` for the service's own callers): a retry
        returns the first result with ``replayed=True``; the same id with another payload
        raises Conflict; another submitter's ids are neither. Results
        come back in rank order. ``with_ranks=False`` (bulk imports) skips computing
        ranks, which then come back as None.
        """
        bid = board_id(board)
        check_batch(scores, batch_max=self.settings.batch_max)
        players: list[str] = []
        values: list[str] = []  # as text: see SUBMIT
        ats: list[str | None] = []
        metas: list[str | None] = []
        # One lock order for every writer: batches touching the same players never deadlock.
        for item in sorted(scores, key=lambda s: s.player_id):
            players.append(player_id(item.player_id))
            values.append(str(check_score(item.score)))
            ats.append(_timestamptz_text(item.achieved_at))
            metas.append(encode_metadata(item.metadata, max_bytes=self.settings.metadata_max_bytes))
        digest = request_hash(bid, scores) if submission_id else None
        rows, seq = await self._submit_with_retry(
            bid, submission_id, digest, players, values, ats, metas, with_ranks, submitter
        )
        return [
            SubmitResult(
                player_id=r["player_id"],
                score=r["score"],
                rank=r["rank"],
                total=r["total"],
                improved=r["improved"],
                updates=r["updates"],
                achieved_at=r["achieved_at"],
                replayed=r["replayed"],
                seq=seq,
            )
            for r in rows
        ]

    async def set_metadata(
        self, board: str, player: str, metadata: dict[str, Any] | None
    ) -> Standing:
        """Replace a player's metadata in the board's current season, keeping the score
        (``None`` clears it); the player's standing read back from the primary."""
        bid, pid = board_id(board), player_id(player)
        text = encode_metadata(metadata, max_bytes=self.settings.metadata_max_bytes)
        async with translated():
            done = await self.pool.fetchval(SET_METADATA, bid, pid, text)
        if done is None:
            board_row = await self.get_board(bid)  # unknown_board when there is none
            raise NotFound(
                f"player {pid!r} has no entry on board {bid!r} season {board_row.season!r}",
                code="unknown_player",
            )
        return await self.fetch_standing(bid, pid)

    async def _submit_with_retry(self, *args: Any) -> tuple[list[asyncpg.Record], int]:
        """Run lb_submit, then number the committed write (lb_seq_of) on the same
        connection: its rows and its seq. One score goes in one round trip
        (lb_submit_acked), a batch in two. Retries transient conflicts. Two racing retries
        of one submission id: the loser hits the unique key and, on retry, replays the
        winner's result."""
        import asyncpg

        attempts = 4
        board, submission, digest, players, values, ats, metas, with_ranks, submitter = args
        async with translated(), self.pool.acquire() as conn:
            for attempt in range(1, attempts + 1):
                try:
                    if len(players) == 1:
                        # committed once this returns: never retried past this point
                        row = await conn.fetchrow(
                            SUBMIT_ACKED, board, submission, digest, players[0], values[0],
                            ats[0], metas[0], with_ranks, submitter,
                        )  # fmt: skip
                        assert row is not None
                        rows = [row]
                        seq = row["seq"]
                    else:
                        rows = await conn.fetch(SUBMIT, *args)
                        seq = None
                except (
                    asyncpg.UniqueViolationError,
                    asyncpg.DeadlockDetectedError,
                    asyncpg.SerializationError,
                ):
                    if attempt == attempts:
                        raise
                    continue
                if seq is None:
                    seq = await conn.fetchval(SEQ_OF, board, rows[0]["last_event"])
                return rows, int(seq or 0)
        raise AssertionError("unreachable")

    # --- reads ------------------------------------------------------------------

    async def fetch_top(
        self,
        board: str,
        *,
        season: str | None = None,
        limit: int = 10,
        after: EntryKey | None = None,
        replica: bool = False,
        as_of: int | None = None,
    ) -> Page:
        """A page of the ladder in rank order, continuing strictly after ``after``, exactly
        as of its ``as_of_seq`` (the board's seq, or ``as_of`` when given and not above it).

        Keyset pagination: entries that did not move are never skipped or repeated
        between pages, however many writes happen in between.
        """
        bid = board_id(board)
        sid = season_id(season) if season is not None else None
        if not 1 <= limit <= self.settings.page_max:
            raise BadRequest(
                f"limit must be within [1, {self.settings.page_max}], got {limit}",
                code="invalid_limit",
            )
        pool = self.read_pool if replica else self.pool
        async with translated():
            if after is None:
                row = await pool.fetchrow(FETCH_TOP, bid, sid, limit)
            else:
                row = await pool.fetchrow(
                    FETCH_TOP_AFTER, bid, sid, limit, after.sort_score, after.achieved_at,
                    after.player_id,
                )  # fmt: skip
        if row is None:
            raise await self._missing(bid, sid)
        if row["pending"] or (as_of is not None and as_of < row["seq"]):
            window = _Window("top", limit=limit, after=after)
            exact = await self._read_as_of(pool, bid, sid, window, as_of)
            if exact is None:
                raise await self._missing(bid, sid)
            return Page(
                board_id=bid, season=exact.season, entries=exact.entries, total=exact.total,
                as_of_seq=exact.seq, next_after=exact.last_key if len(exact.entries) == limit else None,
                resets=exact.resets,
            )  # fmt: skip
        items = _entries(row["entries"])
        next_after = None
        if len(items) == limit:
            last = items[-1]
            next_after = EntryKey(
                last["sort_score"], datetime.fromisoformat(last["achieved_at"]), last["player_id"]
            )
        return Page(
            board_id=bid, season=row["season"],
            entries=_shown(row, [_entry(i) for i in items], items, contiguous=True),
            total=row["total"], as_of_seq=row["seq"], next_after=next_after, resets=row["resets"],
        )  # fmt: skip

    async def fetch_standing(
        self, board: str, player: str, *, season: str | None = None, replica: bool = False
    ) -> Standing:
        """A player's exact rank, score, and percentile."""
        bid, pid = board_id(board), player_id(player)
        sid = season_id(season) if season is not None else None
        pool = self.read_pool if replica else self.pool
        async with translated():
            row = await pool.fetchrow(FETCH_STANDING, bid, sid, pid)
        if row is None:
            raise await self._missing(bid, sid)
        if row["pending"]:
            exact = await self._read_as_of(pool, bid, sid, _Window("players", players=(pid,)))
            if exact is None:
                raise await self._missing(bid, sid)
            if not exact.entries:
                raise NotFound(
                    f"player {pid!r} has no entry on board {bid!r} season {exact.season!r}",
                    code="unknown_player",
                )
            mine = exact.entries[0]
            return Standing(
                board_id=bid, season=exact.season, entry=mine, total=exact.total,
                percentile=percentile(mine.rank, exact.total), as_of_seq=exact.seq,
                resets=exact.resets,
            )  # fmt: skip
        if row["entry"] is None:
            raise NotFound(
                f"player {pid!r} has no entry on board {bid!r} season {row['season']!r}",
                code="unknown_player",
            )
        item = json.loads(row["entry"])
        entry = _shown(row, [_entry(item)], [item], contiguous=False)[0]
        return Standing(
            board_id=bid, season=row["season"], entry=entry, total=row["total"],
            percentile=percentile(entry.rank, row["total"]), as_of_seq=row["seq"],
            resets=row["resets"],
        )  # fmt: skip

    async def fetch_rank(self, board: str, player: str) -> int | None:
        """Just the rank of a player in the board's current season (the hot path).

        Asks by the ladder this store found for the board last time (one probe fewer), and
        by board when that answers nothing: a player without an entry, a season that
        rolled (in any process), a board never read here. Each answer is exact in its
        statement's snapshot."""
        async with translated():
            season_no = self._current_season_nos.get(board)
            if season_no is not None:
                row = await self.read_pool.fetchrow(FETCH_RANK_IN, season_no, player)
                if row is not None:
                    return int(row["rank"])
            row = await self.read_pool.fetchrow(FETCH_RANK_ONLY, board, player)
        if row is None:
            return None
        self._current_season_nos[board] = row["season_no"]
        return int(row["rank"])

    async def fetch_around(
        self,
        board: str,
        player: str,
        *,
        k: int = 5,
        season: str | None = None,
        replica: bool = False,
        as_of: int | None = None,
    ) -> Page:
        """The player with up to ``k`` entries ahead and ``k`` behind, in rank order, exactly
        as of its ``as_of_seq`` (the board's seq, or ``as_of`` when given and not above it)."""
        bid, pid = board_id(board), player_id(player)
        sid = season_id(season) if season is not None else None
        if not 0 <= k <= 100:
            raise BadRequest(f"k must be within [0, 100], got {k}", code="invalid_window")
        pool = self.read_pool if replica else self.pool
        async with translated():
            row = await pool.fetchrow(FETCH_AROUND, bid, sid, pid, k)
        if row is None:
            raise await self._missing(bid, sid)
        if row["pending"] or (as_of is not None and as_of < row["seq"]):
            window = _Window("around", player=pid, k=k)
            exact = await self._read_as_of(pool, bid, sid, window, as_of)
            if exact is None:
                raise await self._missing(bid, sid)
            if not exact.found:
                raise NotFound(
                    f"player {pid!r} has no entry on board {bid!r} season {exact.season!r}",
                    code="unknown_player",
                )
            return Page(
                board_id=bid, season=exact.season, entries=exact.entries, total=exact.total,
                as_of_seq=exact.seq, resets=exact.resets, first_key=exact.first_key,
                last_key=exact.last_key,
            )  # fmt: skip
        if not row["found"]:
            raise NotFound(
                f"player {pid!r} has no entry on board {bid!r} season {row['season']!r}",
                code="unknown_player",
            )
        items = _entries(row["entries"])
        return Page(
            board_id=bid, season=row["season"],
            entries=_shown(row, [_entry(i) for i in items], items, contiguous=True),
            total=row["total"], as_of_seq=row["seq"], resets=row["resets"],
            first_key=_key_of(items[0]) if items else None,
            last_key=_key_of(items[-1]) if items else None,
        )  # fmt: skip

    async def fetch_window(
        self,
        board: str,
        *,
        season: str,
        key: EntryKey,
        before: bool,
        limit: int,
        as_of: int,
        replica: bool = False,
    ) -> Page:
        """The ``limit`` entries strictly before (or after) ``key`` in rank order, exactly as
        of seq ``as_of``, however many writes came since: pages read at one seq never skip
        or repeat an entry, whichever way they go. Refused (``invalid_cursor``) once the
        changes since ``as_of`` are no longer kept or too many to undo."""
        bid, sid = board_id(board), season_id(season)
        if not 1 <= limit <= self.settings.page_max:
            raise BadRequest(
                f"limit must be within [1, {self.settings.page_max}], got {limit}",
                code="invalid_limit",
            )
        pool = self.read_pool if replica else self.pool
        window = _Window("before" if before else "top", limit=limit, after=key, pinned=True)
        exact = await self._read_as_of(pool, bid, sid, window, as_of)
        if exact is None:
            raise await self._missing(bid, sid)
        return Page(
            board_id=bid, season=exact.season, entries=exact.entries, total=exact.total,
            as_of_seq=exact.seq, resets=exact.resets, first_key=exact.first_key,
            last_key=exact.last_key,
        )  # fmt: skip

    async def fetch_players(
        self,
        board: str,
        players: Sequence[str],
        *,
        season: str | None = None,
        replica: bool = False,
    ) -> Page:
        """The listed players (friends) in rank order, each with their global rank.

        Their rank among the list is their position in ``entries``; players without an
        entry are left out.
        """
        bid = board_id(board)
        pids = sorted({player_id(p) for p in players})
        if not 1 <= len(pids) <= self.settings.page_max:
            raise BadRequest(
                f"list 1 to {self.settings.page_max} players, got {len(pids)}",
                code="invalid_players",
            )
        sid = season_id(season) if season is not None else None
        pool = self.read_pool if replica else self.pool
        async with translated():
            row = await pool.fetchrow(FETCH_PLAYERS, bid, sid, pids)
        if row is None:
            raise await self._missing(bid, sid)
        if row["pending"]:
            exact = await self._read_as_of(pool, bid, sid, _Window("players", players=tuple(pids)))
            if exact is None:
                raise await self._missing(bid, sid)
            return Page(
                board_id=bid, season=exact.season, entries=exact.entries, total=exact.total,
                as_of_seq=exact.seq, resets=exact.resets,
            )  # fmt: skip
        items = _entries(row["entries"])
        return Page(
            board_id=bid, season=row["season"],
            entries=_shown(row, [_entry(i) for i in items], items, contiguous=False),
            total=row["total"], as_of_seq=row["seq"], resets=row["resets"],
        )  # fmt: skip

    async def fetch_tickers_as_of(
        self, board: str, season: str, players: Sequence[str], as_of_seq: int
    ) -> tuple[dict[str, Ticker], int]:
        """Each player's key, rank and score, and the ladder size, exactly after event
        ``as_of_seq`` of the board (see core.views.rewind). Players without an entry at
        that point get a Ticker with no key or rank."""
        bid = board_id(board)
        async with (
            translated(),
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            ladder = await conn.fetchrow(SELECT_LADDER, bid, season)
            if ladder is None:
                raise await self._missing(bid, season)
            n, order = ladder["season_no"], SortOrder(ladder["sort_order"])
            extras = [
                event_from_row(r) for r in await conn.fetch(SELECT_EXTRA_EVENTS, bid, n, as_of_seq)
            ]
            wanted = sorted(set(players) | {e.player_id for e in extras})
            rows = await conn.fetch(SELECT_KEYS, n, wanted)
            current = {
                r["player_id"]: EntryKey(r["sort_score"], r["achieved_at"], r["player_id"])
                for r in rows
            }
            then = {p: rewind_key(p, current.get(p), extras, order) for p in players}
            probe = sorted({k for k in then.values() if k is not None})
            counted = await _count_before(conn, n, probe)
            total_now = int(await conn.fetchval(COUNT_ENTRIES, n))
            tie_mode = TieMode(ladder["tie_mode"])
            moved = {e.player_id for e in extras}
            display = await _display_then(
                conn, n, tie_mode, {k.sort_score for k in probe}, order=order, extras=extras,
                current={p: current[p] for p in moved if p in current},
                then={p: rewind_key(p, current.get(p), extras, order) for p in moved},
            )  # fmt: skip
        before_now = {probe[r["i"] - 1]: int(r["before"]) for r in counted}
        counts, total = rewind(
            order=order, count_before_now=before_now, total_now=total_now, extras=extras,
            current_keys=current,
        )  # fmt: skip
        tickers = {}
        for p, key in then.items():
            if key is None:
                tickers[p] = Ticker(p, None, None, None, total)
            else:
                score = -key.sort_score if order is SortOrder.DESC else key.sort_score
                shown = display[key.sort_score] + 1 if key.sort_score in display else None
                rank = counts[key] + 1
                tickers[p] = Ticker(p, key, rank, score, total, shown or rank)
        return tickers, total

    async def _read_as_of(
        self, pool: asyncpg.Pool, bid: BoardId, sid: str | None, window: _Window,
        as_of: int | None = None,
    ) -> _AsOf | None:  # fmt: skip
        """A window of the ladder exactly as of the board's seq in one REPEATABLE READ
        snapshot (or as of ``as_of``, when not above it), None for an unknown ladder.

        The snapshot may show changes whose events are not numbered yet (or numbered
        past ``as_of``): those "extra" events are undone. A moved player's entry is shown
        at the key before its first extra event (or not at all, for a new one), every
        other entry where it is, and ranks and the total are the snapshot's counts with
        the moves undone (:func:`core.views.rewind`). With m moved players, the first
        ``limit + m`` entries after a key hold the first ``limit`` of the rewound ladder
        (and ``k + m`` on each side of a key its ``k`` neighbours), so one ordered read
        covers the window.
        """
        async with (
            translated(),
            _connection(pool) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            ladder = await conn.fetchrow(SELECT_LADDER_AT, bid, sid)
            if ladder is None:
                return None
            n, order = ladder["season_no"], SortOrder(ladder["sort_order"])
            seq = int(ladder["seq"]) if as_of is None else min(as_of, int(ladder["seq"]))
            if window.pinned and seq < int(ladder["seq"]):
                await _check_rewindable(conn, bid, seq)
            extras = [event_from_row(r) for r in await conn.fetch(SELECT_EXTRA_EVENTS, bid, n, seq)]
            if window.pinned and len(extras) > PINNED_EVENTS_MAX:
                raise _expired(f"{len(extras)} changes since its seq {seq}")
            moved = {e.player_id for e in extras}
            wanted = moved | set(window.players) | ({window.player} if window.player else set())
            rows = {
                r["player_id"]: _Row.of(r)
                for r in await conn.fetch(SELECT_ROWS_OF, n, sorted(wanted))
            }
            current = {p: rows[p].key for p in moved if p in rows}
            then = {p: rewind_key(p, current.get(p), extras, order) for p in moved}

            def then_row(p: str, key: EntryKey) -> _Row:
                score = -key.sort_score if order is SortOrder.DESC else key.sort_score
                now = rows.get(p)
                return _Row(key, score, now.updates if now else 1, now.metadata if now else None)

            # the entries of the snapshot the window reads from, in key order when
            # ``contiguous`` (so each one's count is the first one's plus its position)
            contiguous = True
            if window.kind == "top":
                after = window.after or BEFORE_EVERY_KEY
                now_rows = [_Row.of(r) for r in await conn.fetch(
                    SELECT_ROWS_AFTER, n, *after, window.limit + len(moved))]  # fmt: skip
                moved_in = [then_row(p, k) for p, k in then.items() if k is not None and k > after]
            elif window.kind == "before":
                assert window.after is not None
                ahead = await conn.fetch(
                    SELECT_ROWS_BEFORE, n, *window.after, window.limit + len(moved)
                )
                now_rows = [_Row.of(r) for r in reversed(ahead)]
                moved_in = [
                    then_row(p, k) for p, k in then.items() if k is not None and k < window.after
                ]
            elif window.kind == "around":
                assert window.player is not None
                me = rows.get(window.player)
                centre = then.get(window.player) if window.player in moved else None
                if window.player not in moved and me is not None:
                    centre = me.key
                if centre is None:
                    return _AsOf(
                        ladder["season"], seq, 0, [], found=False, resets=_resets(ladder["resets"])
                    )
                reach = window.k + len(moved)
                ahead = await conn.fetch(SELECT_ROWS_BEFORE, n, *centre, reach)
                behind = await conn.fetch(SELECT_ROWS_FROM, n, *centre, reach + 1)
                now_rows = [_Row.of(r) for r in [*reversed(ahead), *behind]]
                moved_in = [then_row(p, k) for p, k in then.items() if k is not None]
            else:
                contiguous = False
                listed = set(window.players)
                now_rows = [rows[p] for p in sorted(listed) if p in rows]
                moved_in = [
                    then_row(p, k) for p, k in then.items() if k is not None and p in listed
                ]
            kept = [r for r in now_rows if r.key.player_id not in moved]
            probe = sorted(
                {r.key for r in moved_in}
                | ({now_rows[0].key} if contiguous and now_rows else {r.key for r in now_rows})
            )
            counted = await _count_before(conn, n, probe)
            total_now = int(await conn.fetchval(COUNT_ENTRIES, n))
            candidates = sorted([*kept, *moved_in], key=lambda r: r.key)
            if window.kind == "top":
                shown = candidates[: window.limit]
            elif window.kind == "before":
                shown = candidates[-window.limit :] if window.limit else []
            elif window.kind == "around":
                at = next(i for i, r in enumerate(candidates) if r.key.player_id == window.player)
                shown = candidates[max(0, at - window.k) : at + window.k + 1]
            else:
                shown = candidates
            tie_mode = TieMode(ladder["tie_mode"])
            display = await _display_then(
                conn, n, tie_mode, {r.key.sort_score for r in (shown[:1] if contiguous else shown)},
                order=order, extras=extras, current=current, then=then,
            )  # fmt: skip
        before_now = {probe[r["i"] - 1]: int(r["before"]) for r in counted}
        if contiguous and now_rows:
            first = before_now[now_rows[0].key]
            before_now.update({r.key: first + i for i, r in enumerate(now_rows)})
        counts, total = rewind(
            order=order, count_before_now={r.key: before_now[r.key] for r in candidates},
            total_now=total_now, extras=extras, current_keys=current,
        )  # fmt: skip
        entries = with_display(
            [r.ranked(counts[r.key] + 1) for r in shown], order=order, total=total,
            tie_mode=tie_mode, tiers=board_tiers(ladder["tiers"]), before=display,
            contiguous=contiguous,
        )  # fmt: skip
        last = shown[-1].key if shown else None
        return _AsOf(
            ladder["season"], seq, total, entries, found=True, last_key=last,
            first_key=shown[0].key if shown else None,
            resets=_resets(ladder["resets"]),
        )  # fmt: skip

    async def _missing(self, bid: BoardId, sid: str | None) -> NotFound:
        """The right NotFound for a ladder lookup that matched nothing."""
        async with translated():
            exists = await self.pool.fetchval(SELECT_BOARD, bid)
        if exists is None:
            return NotFound(f"unknown board {bid!r}", code="unknown_board")
        return NotFound(f"board {bid!r} has no season {sid!r}", code="unknown_season")


__all__ = ["Store", "create_pool"]
