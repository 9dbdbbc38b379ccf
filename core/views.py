"""What each subscriber must see after a batch of change events: I/O-free.

Three view kinds, all sent as full state (never as diffs), so a later frame always
supersedes an earlier one and a client needs no history to apply it:

- ``top``: the first N entries. Recomputed per distinct (season, N) from one query, sent
  to a subscriber only when it differs from what that subscriber last got.
- ``me``: one player's rank, score and the ladder's size. Derived from the events and the
  ticker's last known position, without a query: one score change shifts exactly the
  entries between the mover's old and new key (a removal has no new key, an arrival no
  old one), so for a ticker whose own entry did not move,

      new rank = old rank - #{movers whose old key < ticker key}
                          + #{movers whose new key < ticker key}

  counted with two binary searches over the batch's sorted keys. A ticker whose own
  entry moved (or that has no position yet) is re-read, exactly as of the batch's seq,
  with :func:`rewind`.
- ``around``: a player's ±k window, re-read per distinct (season, player, k).

Exactness as of a seq: a read may already see committed changes that are not yet
sequenced (or are sequenced past the batch). :func:`rewind` takes those "extra" events,
read in the same snapshot, and undoes them, so the derived state is exactly the state
after event ``seq`` and derivation never drifts.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.boards import SortOrder, TieMode
from core.feed import ChangeEvent
from core.ranking import BEFORE_EVERY_AT, EntryKey, entry_key


@dataclass(frozen=True)
class Move:
    """One player's net move over a batch: first old key, last new key (None: removed)."""

    player_id: str
    old_key: EntryKey | None
    new_key: EntryKey | None
    new_score: int | None
    old_score: int | None


def _new_key(e: ChangeEvent, order: SortOrder) -> EntryKey | None:
    if e.new_score is None or e.new_at is None:
        return None
    return entry_key(order, e.new_score, e.new_at, e.player_id)


def net_moves(events: Iterable[ChangeEvent], order: SortOrder) -> dict[str, Move]:
    """Collapse a batch of events (in seq order) into one move per player."""
    moves: dict[str, Move] = {}
    for e in events:
        new_key = _new_key(e, order)
        prior = moves.get(e.player_id)
        if prior is None:
            old_key = (
                None
                if e.old_score is None or e.old_at is None
                else entry_key(order, e.old_score, e.old_at, e.player_id)
            )
            moves[e.player_id] = Move(e.player_id, old_key, new_key, e.new_score, e.old_score)
        else:
            moves[e.player_id] = replace(prior, new_key=new_key, new_score=e.new_score)
    return moves


@dataclass(frozen=True)
class ShiftIndex:
    """Sorted old and new keys of a batch's movers, for O(log m) rank shifts."""

    old_keys: list[EntryKey]
    new_keys: list[EntryKey]
    inserted: int
    """How much the ladder grew: arrivals less removals."""

    @classmethod
    def of(cls, moves: Mapping[str, Move]) -> ShiftIndex:
        olds = sorted(m.old_key for m in moves.values() if m.old_key is not None)
        news = sorted(m.new_key for m in moves.values() if m.new_key is not None)
        return cls(olds, news, len(news) - len(olds))

    def shift(self, key: EntryKey) -> int:
        """How far an unmoved entry at ``key`` moves down (positive) or up (negative)."""
        return bisect_left(self.new_keys, key) - bisect_left(self.old_keys, key)


@dataclass(frozen=True)
class Ticker:
    """A ``me`` view's state: the player's key, rank and score, the ladder's size, and the
    display rank by the board's tie mode (None where not known: it is then re-read)."""

    player_id: str
    key: EntryKey | None
    rank: int | None
    score: int | None
    total: int
    display_rank: int | None = None


def advance_ticker(
    ticker: Ticker, index: ShiftIndex, tie_mode: TieMode = TieMode.ORDINAL
) -> Ticker:
    """The ticker after a batch in which its own entry did not move.

    A competition display rank moves as the key ``(score, BEFORE_EVERY_AT, "")`` would:
    by the movers that crossed the score. A dense one is only derived where
    :func:`dense_display_holds`; otherwise the ticker is re-read.
    """
    rank, display = ticker.rank, ticker.display_rank
    if ticker.key is not None and rank is not None:
        rank += index.shift(ticker.key)
        if tie_mode is TieMode.ORDINAL:
            display = rank
        elif tie_mode is TieMode.COMPETITION and display is not None:
            display += index.shift(EntryKey(ticker.key.sort_score, BEFORE_EVERY_AT, ""))
    total = ticker.total + index.inserted
    return Ticker(ticker.player_id, ticker.key, rank, ticker.score, total, display)


def dense_display_holds(index: ShiftIndex, key: EntryKey) -> bool:
    """Whether a batch leaves the distinct scores better than ``key``'s as they were: no
    mover left or reached a better score (the keys are sorted, so the first of each tells)."""
    return all(not keys or keys[0].sort_score >= key.sort_score
               for keys in (index.old_keys, index.new_keys))  # fmt: skip


def rewind_key(
    player: str, current: EntryKey | None, extras: Sequence[ChangeEvent], order: SortOrder
) -> EntryKey | None:
    """A player's key before the ``extras`` (events past the target seq) happened."""
    for e in extras:
        if e.player_id == player:
            if e.old_score is None or e.old_at is None:
                return None
            return entry_key(order, e.old_score, e.old_at, player)
    return current


def rewind(
    *,
    order: SortOrder,
    count_before_now: Mapping[EntryKey, int],
    total_now: int,
    extras: Sequence[ChangeEvent],
    current_keys: Mapping[str, EntryKey],
) -> tuple[Mapping[EntryKey, int], int]:
    """Counts and total as of the target seq, from a snapshot that also saw ``extras``.

    ``count_before_now[k]`` is the number of entries before key ``k`` in the snapshot;
    ``current_keys`` holds, for every player with extras, their key in that snapshot
    (absent if they have none). Undoing the extras: each such player leaves their key
    now and returns to their key before the first extra event (or disappears).
    """
    moved = {e.player_id for e in extras}
    now_keys = sorted(current_keys[p] for p in moved if p in current_keys)
    then_keys = sorted(
        k
        for k in (rewind_key(p, current_keys.get(p), extras, order) for p in moved)
        if k is not None
    )
    counts = {
        key: n - bisect_left(now_keys, key) + bisect_left(then_keys, key)
        for key, n in count_before_now.items()
    }
    return counts, total_now - len(now_keys) + len(then_keys)


def view_digest(entries: Sequence[Any], total: int, me: Any | None) -> str:
    """A short fingerprint of what a view shows (entries with player, score and rank; the
    ladder size; the viewer's own entry), to decide without storing it whether it changed."""
    rows = [(str(e.player), int(e.score), int(e.rank), int(e.display_rank)) for e in entries]
    mine = (
        None if me is None
        else (str(me.player), int(me.score), int(me.rank), int(me.display_rank))
    )  # fmt: skip
    canon = repr((rows, int(total), mine))  # only str, int, None: one spelling per value
    return hashlib.blake2b(canon.encode(), digest_size=12).hexdigest()


def rewind_distinct(
    *,
    before_now: int,
    sort_score: int,
    now_keys: Iterable[EntryKey],
    then_keys: Iterable[EntryKey],
    at_score_now: Mapping[int, int],
) -> int:
    """The number of distinct sort scores below ``sort_score`` as of the target seq, from
    ``before_now``, that number in a snapshot that also saw the extras (the dense count).

    Undoing the extras moves each moved player from its key now (``now_keys``) back to its
    key then (``then_keys``), so only those keys' scores can appear or vanish.
    ``at_score_now[v]`` is how many entries the snapshot has at score ``v``, counted up to
    at least one more than the moved players leaving ``v`` (enough to tell whether any
    entry stays).
    """
    leaving: dict[int, int] = {}
    arriving: dict[int, int] = {}
    for k in now_keys:
        leaving[k.sort_score] = leaving.get(k.sort_score, 0) + 1
    for k in then_keys:
        arriving[k.sort_score] = arriving.get(k.sort_score, 0) + 1
    count = before_now
    for v in {*leaving, *arriving}:
        if v >= sort_score:
            continue
        here = at_score_now[v]
        was = arriving.get(v, 0) > 0 or here > leaving.get(v, 0)
        count += int(was) - int(here > 0)
    return count
