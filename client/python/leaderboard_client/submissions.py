"""Submissions: the ``submit`` message a call sends and the typed ``ack`` it gets back.

Every submit carries a submission id (generated when the caller gives none). The
service stores the first result under that id for a day: a retry of the same message
(same id, same scores) answers that first result again with ``replayed=True`` and never
counts twice; the same id with other scores is a :class:`~client.errors.ConflictError`.

A batch must fit one API Gateway frame (``BATCH_MAX_BYTES``, 32 KB) and hold at most
``BATCH_MAX`` scores. :func:`batch_messages` splits a larger one, in the order given,
into parts that do; each part is its own submission, under an id derived from the
batch's (:func:`part_id`), so the same batch under the same id always splits into the
same parts under the same ids, and a retry replays the parts already applied and applies
the rest. Each part is all or nothing; the batch as a whole is not. :func:`merge_acks`
joins the parts' acks into the batch's.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

BATCH_MAX: Final = 1000
"""Scores in one submit (the service's ``batch_max``)."""
BATCH_MAX_BYTES: Final = 32 * 1024
"""Bytes of one batch submit message (the service's ``batch_max_bytes``: one frame)."""
REQUEST_ID_ROOM: Final = 64
"""Bytes kept free in each part for the ``request_id`` the client adds when it sends."""
SUBMISSION_ID_MAX: Final = 128


def new_submission_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class SubmitResult:
    """One player's outcome: their best (or latest) score now, its rank, the count and the
    percentile of the rank (None without a rank)."""

    player: str
    score: int
    rank: int | None
    total: int | None
    improved: bool
    replayed: bool = False
    percentile: float | None = None


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
                    percentile=r.get("percentile"),
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


def part_id(submission_id: str, index: int, count: int) -> str:
    """The submission id of part ``index`` (from 0) of ``count``: ``<id>.<i>of<n>``, from a
    digest of the id when that would be over 128 characters. One part keeps the id."""
    if count == 1:
        return submission_id
    suffix = f".{index + 1}of{count}"
    if len(submission_id) + len(suffix) > SUBMISSION_ID_MAX:
        submission_id = hashlib.sha256(submission_id.encode()).hexdigest()[:64]
    return submission_id + suffix


def _size(message: Mapping[str, Any]) -> int:
    return len(json.dumps(message).encode()) + REQUEST_ID_ROOM  # as the client sends it


def batch_messages(
    board: str,
    scores: Sequence[tuple[str, int]],
    *,
    submission_id: str,
    max_bytes: int = BATCH_MAX_BYTES,
    max_scores: int = BATCH_MAX,
) -> list[dict[str, Any]]:
    """The batch as submit messages that each fit ``max_bytes`` and ``max_scores``: one
    message under ``submission_id`` when it fits, else parts in the given order, each under
    :func:`part_id`. Deterministic: the same arguments give the same messages."""
    whole = batch_message(board, scores, submission_id=submission_id)
    if len(scores) <= max_scores and _size(whole) <= max_bytes:
        return [whole]
    empty = _size(batch_message(board, [], submission_id=part_id(submission_id, 0, 10**6)))
    groups: list[list[tuple[str, int]]] = [[]]
    used = empty
    for item in scores:
        line = len(json.dumps({"player": item[0], "score": item[1]}).encode()) + 2  # ", "
        if empty + line > max_bytes:
            raise ValueError(f"the score of {item[0]!r} alone does not fit {max_bytes} bytes")
        if groups[-1] and (used + line > max_bytes or len(groups[-1]) >= max_scores):
            groups.append([])
            used = empty
        groups[-1].append(item)
        used += line
    count = len(groups)
    return [
        batch_message(board, group, submission_id=part_id(submission_id, i, count))
        for i, group in enumerate(groups)
    ]


def merge_acks(acks: Sequence[Ack], *, submission_id: str) -> Ack:
    """One ack for a batch sent in parts: every part's results, in rank order, and the
    highest seq (every state from it on reflects every part)."""
    if len(acks) == 1:
        return acks[0]
    results = sorted(
        (r for a in acks for r in a.results),
        key=lambda r: (r.rank is None, r.rank if r.rank is not None else 0, r.player),
    )
    seqs = [a.seq for a in acks if a.seq is not None]
    return Ack(
        board=acks[0].board, submission_id=submission_id, results=tuple(results),
        seq=max(seqs) if seqs else None,
    )  # fmt: skip


__all__ = [
    "BATCH_MAX",
    "BATCH_MAX_BYTES",
    "Ack",
    "SubmitResult",
    "batch_message",
    "batch_messages",
    "merge_acks",
    "new_submission_id",
    "part_id",
    "submit_message",
]
