"""The pages' sequence rule (the TypeScript client's ViewTracker, as bundled in
runtime/web/leaderboard-client.js) is the Python SDK's (leaderboard_client.tracking)."""

from __future__ import annotations

from typing import Any

from leaderboard_client.tracking import ViewTracker
from runtime.app import LocalRuntime
from tests.web.conftest import Screen


def frame(kind: str, seq: int, prev: int | None = None, *players: str) -> dict[str, Any]:
    f: dict[str, Any] = {"type": kind, "view_id": "top:arena:s1:3", "board": "arena",
                         "season": "s1", "view": "top", "seq": seq, "total": len(players),
                         "entries": [{"player": p, "score": 10 - i, "rank": i + 1}
                                     for i, p in enumerate(players)]}  # fmt: skip
    if prev is not None:
        f["prev_seq"] = prev
    return f


SCRIPT: list[dict[str, Any] | str] = [
    frame("update", 3, 2, "a"),  # before any snapshot: a gap
    frame("snapshot", 5, None, "a", "b"),
    frame("update", 6, 5, "b", "a"),  # applies
    frame("update", 6, 5, "b", "a"),  # a re-send: stale
    frame("update", 4, 3, "a"),  # old news: stale
    frame("update", 9, 7, "c"),  # prev_seq 7 != 6: a gap
    frame("snapshot", 4, None, "a"),  # a snapshot older than the state: stale
    frame("snapshot", 9, None, "c", "b", "a"),  # the resync: applies, resynced
    "lost",
    frame("snapshot", 9, None, "c", "b", "a"),  # after a reconnect, same seq: resynced
    frame("update", 10, 9, "c", "a", "b"),
]


def python_outcomes() -> list[list[Any]]:
    tracker, seen = ViewTracker("top:arena:s1:3"), []
    for step in SCRIPT:
        if step == "lost":
            tracker.lost_connection()
            continue
        assert isinstance(step, dict)
        outcome = tracker.apply(step).value
        s = tracker.state
        seen.append([outcome, s.seq if s else -1, s.resynced if s else False,
                     [e.player for e in s.entries] if s else []])  # fmt: skip
    return seen


JS = """async (script) => {
  const { ViewTracker } = await import('/web/leaderboard-client.js');
  const tracker = new ViewTracker(), seen = [];
  for (const step of script) {
    if (step === 'lost') { tracker.lostConnection(); continue; }
    const outcome = tracker.apply(step), s = tracker.state;
    seen.push([outcome, s ? s.seq : -1, s ? s.resynced : false,
               s ? s.entries.map(e => e.player) : []]);
  }
  return seen;
}"""


async def test_the_javascript_tracker_applies_frames_as_the_python_one_does(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Snapshot, update, stale, gap and reconnect steps give the same outcomes and states in
    the bundle the pages load as in the Python SDK."""
    await screen.page.goto(f"{web_runtime.http_url}/")
    expected = python_outcomes()
    assert [o[0] for o in expected] == ["gap", "applied", "applied", "stale", "stale", "gap",
                                        "stale", "applied", "applied", "applied"]  # fmt: skip
    assert await screen.page.evaluate(JS, SCRIPT) == expected
