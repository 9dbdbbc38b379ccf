"""The broadcaster's per-view decision (core.conflation), without a database or a clock."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from core.conflation import Defer, Rebase, Send, Skip, ViewState, decide, needs_round
from core.ranking import EntryKey
from core.views import Ticker

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WINDOW = 0.1


def page(as_of: int, digest: str, sent_at: float | None = None) -> ViewState:
    return ViewState(as_of=as_of, digest=digest, sent_at=sent_at)


def ticker(
    as_of: int, rank: int | None, *, total: int = 10, sent_at: float | None = None
) -> ViewState:
    key = None if rank is None else EntryKey(-100 * rank, AT, "alice")
    score = None if rank is None else 100 * rank
    return ViewState(as_of=as_of, sent_at=sent_at, ticker=Ticker("alice", key, rank, score, total))


def test_an_unchanged_page_is_skipped() -> None:
    """Same entries as last sent: nothing to send, nothing to save."""
    assert decide(page(5, "d1", 1.0), page(9, "d1"), now=2.0, window_s=WINDOW) == Skip()


def test_a_change_after_a_quiet_spell_goes_out_at_once() -> None:
    """Leading edge: the first change after the window is sent now, stamped with now."""
    decision = decide(page(5, "d1", 1.0), page(9, "d2"), now=2.0, window_s=WINDOW)
    assert decision == Send(ViewState(as_of=9, digest="d2", sent_at=2.0))


def test_a_view_never_sent_to_goes_out_at_once() -> None:
    """A view with no frame since its snapshot (no sent_at) is sent on its first change."""
    assert isinstance(decide(page(5, "d1"), page(6, "d2"), now=0.01, window_s=WINDOW), Send)


def test_a_change_within_the_window_is_deferred_to_its_end() -> None:
    """A second change within the window waits until the window ends; the old state stays."""
    decision = decide(page(5, "d1", 1.0), page(9, "d2"), now=1.04, window_s=WINDOW)
    assert decision == Defer(due=1.1)


def test_a_ticker_whose_rank_moved_is_sent() -> None:
    """A ticker compares rank, score and ladder size, not its key."""
    assert isinstance(decide(ticker(3, 4), ticker(8, 5), now=5.0, window_s=WINDOW), Send)
    assert isinstance(decide(ticker(3, 4), ticker(8, 4, total=11), now=5.0, window_s=WINDOW), Send)
    assert decide(ticker(3, 4), ticker(8, 4), now=5.0, window_s=WINDOW) == Skip()


def test_an_old_unchanged_ticker_is_rebased_without_a_frame() -> None:
    """A ticker unchanged for rebase_after events saves its new base, keeps its sent_at,
    and sends nothing; a top-N page never needs a rebase."""
    decision = decide(ticker(0, 4, sent_at=1.0), ticker(500, 4), now=9.0, window_s=WINDOW)
    assert decision == Rebase(ticker(500, 4, sent_at=1.0))
    assert decide(page(0, "d", 1.0), page(500, "d"), now=9.0, window_s=WINDOW) == Skip()
    assert decide(ticker(0, 4), ticker(499, 4), now=9.0, window_s=WINDOW) == Skip()


def test_a_player_without_an_entry_is_a_state_too() -> None:
    """A ticker with no entry (rank None) that gets one is a change."""
    assert isinstance(decide(ticker(1, None), ticker(2, 3), now=5.0, window_s=WINDOW), Send)


def test_only_views_behind_the_round_need_it() -> None:
    """A view already reflecting the round's seq has nothing to gain from it."""
    assert needs_round(page(4, "d"), 5) and not needs_round(page(5, "d"), 5)


@given(
    st.one_of(st.none(), st.floats(0, 100)),
    st.floats(0, 200),
    st.sampled_from(["same", "other"]),
)
def test_a_change_is_sent_or_deferred_never_lost(
    sent_at: float | None, now: float, what: str
) -> None:
    """Whatever the clock: an unchanged view is skipped; a changed one is sent (at most one
    frame per window, stamped now) or deferred to exactly the end of its window."""
    previous = page(1, "d", sent_at)
    decision = decide(previous, page(2, "d" if what == "same" else "e"), now=now, window_s=WINDOW)
    if what == "same":
        assert decision == Skip()
    elif isinstance(decision, Send):
        assert (decision.state.sent_at, decision.state.as_of) == (now, 2)
        assert sent_at is None or now >= sent_at + WINDOW
    else:
        assert sent_at is not None
        assert decision == Defer(sent_at + WINDOW) and decision.due > now


def test_states_round_trip_through_json() -> None:
    """What the broadcaster saves is what it reads back, for pages and tickers alike."""
    for state in (page(7, "abc", 1.5), ticker(9, 3, sent_at=2.0), ticker(9, None)):
        again = ViewState.from_json(state.to_json(), player="alice")
        assert again == state
