"""The SDK's sequence rule (leaderboard_client.tracking), without I/O."""

from __future__ import annotations

from typing import Any

from leaderboard_client.tracking import Outcome, ViewTracker


def frame(kind: str, seq: int, prev: int | None = None, **extra: Any) -> dict[str, Any]:
    f: dict[str, Any] = {"type": kind, "view_id": "me:arena:s1", "board": "arena",
                         "season": "s1", "view": "me", "seq": seq, "total": 1, **extra}  # fmt: skip
    if prev is not None:
        f["prev_seq"] = prev
    return f


def test_a_snapshot_sets_the_state_and_an_update_continuing_it_applies() -> None:
    """Rules 1 and 3: snapshot, then the update whose prev_seq is the snapshot's seq."""
    t = ViewTracker("me:arena:s1")
    assert (
        t.apply(frame("snapshot", 4, me={"player": "a", "score": 1, "rank": 1})) is Outcome.APPLIED
    )
    assert (
        t.apply(frame("update", 7, 4, me={"player": "a", "score": 5, "rank": 1})) is Outcome.APPLIED
    )
    assert t.state is not None and t.state.seq == 7 and t.state.me is not None
    assert (t.state.me.score, t.state.board, t.state.season, t.state.view) == (
        5,
        "arena",
        "s1",
        "me",
    )
    assert not t.state.resynced


def test_old_updates_are_dropped() -> None:
    """Rule 2: an update at or below the seq shown is old news."""
    t = ViewTracker("v")
    t.apply(frame("snapshot", 4))
    assert t.apply(frame("update", 4, 3)) is Outcome.STALE
    assert t.apply(frame("update", 2, 1)) is Outcome.STALE
    assert t.seq == 4


def test_a_gap_needs_a_resync_whose_snapshot_is_marked() -> None:
    """Rule 4: a prev_seq that is not ours is a gap; the next snapshot is ``resynced``."""
    t = ViewTracker("v")
    t.apply(frame("snapshot", 4))
    assert t.apply(frame("update", 9, 6)) is Outcome.GAP
    assert t.seq == 4
    assert t.apply(frame("snapshot", 9)) is Outcome.APPLIED
    assert t.state is not None and t.state.resynced
    assert t.apply(frame("update", 10, 9)) is Outcome.APPLIED
    assert t.state is not None and not t.state.resynced


def test_an_update_before_any_snapshot_is_a_gap() -> None:
    """Nothing is shown yet, so no update can continue it."""
    assert ViewTracker("v").apply(frame("update", 3, 2)) is Outcome.GAP


def test_after_a_lost_connection_the_next_snapshot_is_a_resync_even_at_the_same_seq() -> None:
    """Rule 5: a reconnect's snapshot, even unchanged, is a resync; an older one is dropped."""
    t = ViewTracker("v")
    t.apply(frame("snapshot", 5))
    t.lost_connection()
    assert t.apply(frame("snapshot", 4)) is Outcome.STALE
    assert t.apply(frame("snapshot", 5)) is Outcome.APPLIED
    assert t.state is not None and t.state.resynced
