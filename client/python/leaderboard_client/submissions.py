"""Submissions: the ``submit`` message a call sends and the typed ``ack`` it gets back.

Every submit carries a submission id (generated when the caller gives none). The
service stores the first result under that id for a day: a retry of the same message
(same id, same scores) answers that first result again with ``replayed=True`` and never
counts twice; the same id with other scores is a :class:`~client.errors.ConflictError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def new_submission_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class SubmitResult:
    """One player's outcome: their best (or latest) score now, its rank and the count."""

    player: str
    score: int
    rank: int | None
    total: int | None
    improved: bool
    replayed: bool = False


@dataclass(frozen=True)
class Ack:
    """The reply to a submit, sent only after its transaction committed."""

    board: str
    submission_id: str | None
    results: tuple[SubmitResult, ...]
    seq: int | None = None
    """The board seq the write was numbered with: states with this seq or later reflect it
    (None from a service that does not say)."""

    @property
    def replayed(self) -> bool:
        """True when this answers a retry of a submission the service already applied."""
        return bool(self.results) and all(r.replayed for r in self.results)

    @property
    def result(self) -> SubmitResult:
        """The one result of a single-score submit."""
        if len(self.results) != 1:
            raise ValueError(f"expected one result, got {len(self.results)}: use .results")
        return self.results[0]

    @classmethod
    def of(cls, frame: Mapping[str, Any]) -> Ack:
        return cls(
            board=str(frame["board"]), submission_id=frame.get("submission_id"),
            seq=frame.get("seq"),
            results=tuple(
                SubmitResult(
                    player=r["player"], score=r["score"], rank=r.get("rank"), total=r.get("total"),
                    improved=bool(r.get("improved")), replayed=bool(r.get("replayed", False)),
                )
                for r in frame.get("results", [])
            ),
        )  # fmt: skip


def submit_message(
    board: str,
    score: int,
    *,
    submission_id: str,
    player: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A single-score submit (for the token's player unless ``player`` is named)."""
    message: dict[str, Any] = {"action": "submit", "board": board, "score": score,
                               "submission_id": submission_id}  # fmt: skip
    if player is not None:
        message["player"] = player
    if metadata is not None:
        message["metadata"] = dict(metadata)
    return message


def batch_message(
    board: str, scores: Sequence[tuple[str, int]], *, submission_id: str
) -> dict[str, Any]:
    """A batch submit (server role): applied all or nothing in one transaction."""
    return {"action": "submit", "board": board, "submission_id": submission_id,
            "scores": [{"player": p, "score": s} for p, s in scores]}  # fmt: skip


__all__ = ["Ack", "SubmitResult", "batch_message", "new_submission_id", "submit_message"]
