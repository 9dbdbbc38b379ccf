"""What the broadcaster decides for one subscription in one round: I/O-free.

A subscription's :class:`ViewState` is what its view last showed, as the broadcaster
keeps it between rounds (in memory, and in the database beside the feed cursor): the
board seq it reflects (``as_of``), when a frame last went out (``sent_at``), and what
the view showed: a fingerprint of the entries for ``top`` and ``around`` views
(``digest``), or the ticker itself for ``me`` views (``ticker``: rank, score, ladder
size, and the entry's key, from which the next round derives the next rank).

Each round the worker gathers what every view shows now (a :class:`ViewState` with
``as_of`` = the round's seq) and asks :func:`decide`, given the previous state, the
current one and the clock:

- :class:`Skip`: the view shows the same thing; nothing to send or save.
- :class:`Rebase`: the same thing, but a ticker's derivation base is
  ``rebase_after`` events old: save the current state (as the base the next round
  derives from) without sending. This bounds how far back a round must read events.
- :class:`Defer`: the view changed, but its last frame left less than the conflation
  window ago: send nothing now, keep the old state, and come back at ``due``. The
  state is recomputed then, so the frame that goes out carries the newest state.
- :class:`Send`: the view changed and its window has passed: send a frame with
  ``seq`` = the current ``as_of`` and ``prev_seq`` = the subscription's last seq,
  and save the current state stamped with ``sent_at = now``.

Conflation is per connection and view, leading edge: the first change after a quiet
spell goes out at once, then at most one frame per window, each the newest state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from core.ranking import EntryKey
from core.views import Ticker

REBASE_AFTER_EVENTS = 500
"""A ticker's derivation base is saved again once this many events old."""


@lru_cache(maxsize=65536)
def _key(sort_score: int, at: str, player: str) -> EntryKey:
    return EntryKey(sort_score, datetime.fromisoformat(at), player)


@lru_cache(maxsize=65536)
def _key_json(key: EntryKey) -> tuple[int, str, str]:
    """A ticker key as JSON-ready values (a ticker's key stays put while its rank moves)."""
    return (key.sort_score, key.achieved_at.isoformat(), key.player_id)


@dataclass(frozen=True, slots=True)
class ViewState:
    """What a subscription's view last showed (see the module docstring)."""

    as_of: int
    sent_at: float | None = None
    digest: str | None = None
    ticker: Ticker | None = None

    def shows_same_as(self, other: ViewState) -> bool:
        """Whether both states show a client the same thing (ignoring when and as of)."""
        if self.ticker is not None and other.ticker is not None:
            a, b = self.ticker, other.ticker
            return (a.rank, a.score, a.total, a.display_rank) == (
                b.rank, b.score, b.total, b.display_rank
            )  # fmt: skip
        return self.digest is not None and self.digest == other.digest

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-ready values (for the database)."""
        out: dict[str, Any] = {"as_of": self.as_of}
        if self.sent_at is not None:
            out["sent_at"] = self.sent_at
        if self.digest is not None:
            out["digest"] = self.digest
        t = self.ticker
        if t is not None:
            out["key"] = None if t.key is None else _key_json(t.key)
            out["rank"], out["score"], out["total"] = t.rank, t.score, t.total
            if t.display_rank is not None:
                out["display"] = t.display_rank
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], *, player: str | None) -> ViewState:
        """The state :meth:`to_json` wrote; ``player`` is the ticker's player for ``me``."""
        ticker = None
        if "total" in data and player is not None:
            raw = data.get("key")
            key = _key(int(raw[0]), str(raw[1]), str(raw[2])) if raw else None
            ticker = Ticker(
                player, key, data.get("rank"), data.get("score"), int(data["total"]),
                data.get("display"),
            )  # fmt: skip
        sent_at = data.get("sent_at")
        return cls(
            as_of=int(data["as_of"]),
            sent_at=None if sent_at is None else float(sent_at),
            digest=data.get("digest"),
            ticker=ticker,
        )


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing to send or save."""


@dataclass(frozen=True, slots=True)
class Rebase:
    """Save ``state`` as the view's new base; send nothing."""

    state: ViewState


@dataclass(frozen=True, slots=True)
class Defer:
    """The view changed within its window: decide again at ``due`` (epoch seconds)."""

    due: float


@dataclass(frozen=True, slots=True)
class Send:
    """Send a frame of ``state`` (seq ``state.as_of``) and save it."""

    state: ViewState


Decision = Skip | Rebase | Defer | Send


def decide(
    previous: ViewState,
    current: ViewState,
    *,
    now: float,
    window_s: float,
    rebase_after: int = REBASE_AFTER_EVENTS,
) -> Decision:
    """What to do with a view that showed ``previous`` and shows ``current`` now."""
    if current.shows_same_as(previous):
        if current.ticker is not None and current.as_of - previous.as_of >= rebase_after:
            return Rebase(replace(current, sent_at=previous.sent_at))
        return Skip()
    if previous.sent_at is not None and previous.sent_at + window_s > now:
        return Defer(previous.sent_at + window_s)
    # built directly, not with replace(): a round decides this for thousands of views
    return Send(ViewState(current.as_of, now, current.digest, current.ticker))


def needs_round(previous: ViewState, upto: int) -> bool:
    """Whether a view that reflects ``previous`` may change by a round up to ``upto``."""
    return previous.as_of < upto


__all__ = [
    "REBASE_AFTER_EVENTS",
    "Decision",
    "Defer",
    "Rebase",
    "Send",
    "Skip",
    "ViewState",
    "decide",
    "needs_round",
]
