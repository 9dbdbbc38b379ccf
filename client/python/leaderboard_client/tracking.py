"""The client's sequence rule, as a pure state machine.

Every ``snapshot`` and ``update`` frame of a view carries ``seq``; updates also carry
``prev_seq``, the seq of the previous frame the server sent for that view. The rule:

1. A ``snapshot`` replaces the state; remember its ``seq``.
2. An ``update`` with ``seq <= last seq`` is old news (a re-send after a broadcaster
   restart, or a frame that raced a resync): drop it.
3. An ``update`` with ``prev_seq == last seq`` applies: replace the state, remember seq.
4. Any other ``update`` means a frame was missed (a gap): the state is unknown, so
   resync: resubscribe, which answers with a fresh snapshot, then keep applying 1-4.
5. After a reconnect, resubscribe every view (the server forgot them with the
   connection) and apply 1-4 from the new snapshots.

Frames always carry full view state, so applying one never needs the frames before it;
the rule exists so that a client never shows a state older than one it already showed,
and always notices when it may be missing the newest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Outcome(Enum):
    APPLIED = "applied"
    STALE = "stale"
    GAP = "gap"


@dataclass(frozen=True)
class Entry:
    """One row of a view: a player, their score and exact rank (1 is first), the rank to
    show by the board's tie mode, the percentile of the exact rank and the tier (None when
    no tier applies)."""

    player: str
    score: int
    rank: int
    display_rank: int = 0
    percentile: float = 0.0
    tier: str | None = None

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Entry:
        return cls(
            raw["player"], raw["score"], raw["rank"], int(raw.get("display_rank", raw["rank"])),
            float(raw.get("percentile", 0.0)), raw.get("tier"),
        )  # fmt: skip


@dataclass(frozen=True)
class ViewState:
    """What a view shows now.

    ``seq`` is the board sequence number the state reflects; ``total`` the season's
    entry count; ``entries`` the rows (``top``, ``around``); ``me`` the player's own row
    (``me``, ``around``; ``None`` before their first score). ``resynced`` is true on the
    state that a resync or reconnect produced: states before it may have been skipped.
    ``next_reset_at`` is when the season ends (ISO 8601, UTC, from the last snapshot;
    None if it never resets).
    """

    view_id: str
    seq: int
    total: int
    entries: list[Entry] = field(default_factory=list)
    me: Entry | None = None
    resynced: bool = False
    board: str = ""
    season: str = ""
    view: str = ""
    next_reset_at: str | None = None


def _entries(raw: list[dict[str, Any]] | None) -> list[Entry]:
    return [Entry.of(e) for e in raw or []]


class ViewTracker:
    """Applies a view's frames by the sequence rule."""

    def __init__(self, view_id: str) -> None:
        self.view_id = view_id
        self.state: ViewState | None = None
        self.needs_resync = False

    @property
    def seq(self) -> int:
        return -1 if self.state is None else self.state.seq

    def lost_connection(self) -> None:
        """Rule 5: the connection dropped; the next snapshot is a resync."""
        self.needs_resync = True

    def apply(self, frame: dict[str, Any]) -> Outcome:
        kind = frame.get("type")
        seq = int(frame["seq"])
        if kind == "update":
            if self.state is not None and seq <= self.state.seq:
                return Outcome.STALE
            if self.state is None or int(frame["prev_seq"]) != self.state.seq:
                self.needs_resync = True
                return Outcome.GAP
        elif self.state is not None and seq < self.state.seq:
            return Outcome.STALE
        me = frame.get("me")
        self.state = ViewState(
            view_id=self.view_id, seq=seq, total=int(frame.get("total", 0)),
            entries=_entries(frame.get("entries")),
            me=Entry.of(me) if me else None,
            resynced=kind == "snapshot" and self.needs_resync,
            board=str(frame.get("board", "")), season=str(frame.get("season", "")),
            view=str(frame.get("view", "")),
            next_reset_at=frame.get("next_reset_at") if kind == "snapshot"
            else self.state.next_reset_at if self.state is not None else None,
        )  # fmt: skip
        if kind == "snapshot":
            self.needs_resync = False
        return Outcome.APPLIED
