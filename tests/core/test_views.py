"""The broadcaster's I/O-free view math against brute force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.boards import SortOrder
from core.feed import ChangeEvent
from core.ranking import entry_key
from core.views import ShiftIndex, Ticker, advance_ticker, net_moves, rewind

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLAYERS = [f"p{i}" for i in range(8)]


def _ranks(order: SortOrder, state: dict[str, tuple[int, datetime]]) -> dict[str, int]:
    keys = sorted(entry_key(order, s, a, p) for p, (s, a) in state.items())
    return {k.player_id: i + 1 for i, k in enumerate(keys)}


def _play(
    order: SortOrder, start: dict[str, tuple[int, datetime]], moves: list[tuple[str, int]], t: int
) -> tuple[dict[str, tuple[int, datetime]], list[ChangeEvent]]:
    """Apply score changes; a score of -1 removes the player's entry (if any)."""
    state = dict(start)
    events = []
    for i, (player, score) in enumerate(moves):
        at = T0 + timedelta(seconds=t + i)
        old = state.get(player)
        if score < 0:
            if old is not None:
                events.append(ChangeEvent(
                    board_id="b", season="s1", seq=t + i, player_id=player, old_score=old[0],
                    new_score=None, old_at=old[1], new_at=None,
                ))  # fmt: skip
                del state[player]
            continue
        events.append(ChangeEvent(
            board_id="b", season="s1", seq=t + i, player_id=player,
            old_score=old[0] if old else None, new_score=score,
            old_at=old[1] if old else None, new_at=at,
        ))  # fmt: skip
        state[player] = (score, at)
    return state, events


moves_st = st.lists(st.tuples(st.sampled_from(PLAYERS), st.integers(-1, 4)), max_size=12)
"""Score changes, with removals (-1) among them."""


@settings(max_examples=300, deadline=None)
@given(order=st.sampled_from(list(SortOrder)), first=moves_st, second=moves_st)
def test_derived_ticker_ranks_equal_brute_force(
    order: SortOrder, first: list[tuple[str, int]], second: list[tuple[str, int]]
) -> None:
    """A ticker whose entry did not move gets exactly the brute-force rank and total after a
    batch of arrivals, moves and removals."""
    before, _ = _play(order, {}, first, 0)
    after, events = _play(order, before, second, 100)
    index = ShiftIndex.of(net_moves(events, order))
    movers = {e.player_id for e in events}
    ranks_before, ranks_after = _ranks(order, before), _ranks(order, after)
    for player in before:
        if player in movers:
            continue
        s, a = before[player]
        ticker = Ticker(
            player, entry_key(order, s, a, player), ranks_before[player], s, len(before)
        )
        moved = advance_ticker(ticker, index)
        assert moved.rank == ranks_after[player]
        assert moved.total == len(after)


@settings(max_examples=300, deadline=None)
@given(order=st.sampled_from(list(SortOrder)), first=moves_st, extra=moves_st)
def test_rewind_undoes_extra_events(
    order: SortOrder, first: list[tuple[str, int]], extra: list[tuple[str, int]]
) -> None:
    """Counts read after extra events (removals among them), rewound, equal the counts
    before them."""
    then, _ = _play(order, {}, first, 0)
    now, extras = _play(order, then, extra, 100)
    now_keys = {p: entry_key(order, s, a, p) for p, (s, a) in now.items()}
    then_keys = {p: entry_key(order, s, a, p) for p, (s, a) in then.items()}
    probes = list(then_keys.values())
    count_now = {k: sum(1 for other in now_keys.values() if other < k) for k in probes}
    counts, total = rewind(order=order, count_before_now=count_now, total_now=len(now),
                           extras=extras, current_keys=now_keys)  # fmt: skip
    assert total == len(then)
    for player, key in then_keys.items():
        assert counts[key] + 1 == _ranks(order, then)[player]
