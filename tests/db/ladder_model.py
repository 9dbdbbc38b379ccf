"""A brute-force ladder: the truth the store's ranks are checked against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class LadderModel:
    order: str  # "desc" | "asc"
    policy: str  # "best" | "latest" | "increment"
    entries: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    def key(self, player: str) -> tuple[int, datetime, str]:
        score, at = self.entries[player]
        return (-score if self.order == "desc" else score, at, player)

    def expected_score(self, player: str, submitted: int) -> tuple[int, bool]:
        """The score after a submit and whether the key moves (new time stamped)."""
        if player not in self.entries:
            return submitted, True
        old = self.entries[player][0]
        if self.policy == "increment":
            return old + submitted, submitted != 0
        if self.policy == "latest":
            return submitted, True
        better = submitted > old if self.order == "desc" else submitted < old
        return (submitted, True) if better else (old, False)

    def apply(self, player: str, score: int, at: datetime) -> None:
        self.entries[player] = (score, at)

    def ordered(self) -> list[str]:
        return sorted(self.entries, key=self.key)

    def rank(self, player: str) -> int:
        return self.ordered().index(player) + 1

    def around(self, player: str, k: int) -> list[str]:
        order = self.ordered()
        i = order.index(player)
        return order[max(0, i - k) : i + k + 1]
