"""Large fan-outs, split across broadcaster runs: shards, and the sender that hands them over.

A round of a board watched by tens of thousands of connections has more frames than one
run should post. :func:`shard` splits frames into :class:`Shard` values, each a compact
JSON-ready payload (distinct bodies listed once, then ``(connection id, body index)``
pairs) under a byte budget that fits Lambda's 256 KB asynchronous payload.
:class:`ShardingSender` wraps a :class:`~core.ports.Sender`: with a
:class:`~core.ports.Waker` and more than ``shard_threshold`` frames, it posts the first
shard itself and wakes one broadcaster run per other shard with
``{"source": "fanout", "shard": payload}`` (fire and forget: those runs post their shard
and forget their own gone connections); a shard whose hand-over fails is posted here.
Without a waker every frame is posted here.

Ordering: a connection's frames stay in one shard, in order, unless they alone exceed a
cap, so each connection still sees its frames in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Self

from pydantic import BaseModel, ConfigDict, model_validator

from core.errors import PayloadTooLarge
from core.ids import ConnectionId
from core.ports import Frames, Sender, Waker, group_by_connection

log = logging.getLogger("leaderboard.broadcast.fanout")

MAX_SHARD_BYTES: Final = 250_000
"""A shard's compact JSON size cap: leaves room for the event envelope around it
(Lambda's asynchronous payload limit is 256 KB)."""
DEFAULT_SHARD_THRESHOLD: Final = 5000


# --- sharding (no I/O) -----------------------------------------------------------------


class Shard(BaseModel):
    """A compact, JSON-ready slice of a fan-out: each distinct body once, then
    ``(connection id, index into bodies)`` pairs in posting order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = 1
    bodies: tuple[str, ...]
    targets: tuple[tuple[str, int], ...]

    @model_validator(mode="after")
    def _indices_in_range(self) -> Self:
        if self.v != 1:
            raise ValueError(f"unsupported shard version: expected 1, got {self.v}")
        n = len(self.bodies)
        for cid, index in self.targets:
            if not 0 <= index < n:
                raise ValueError(
                    f"body index of {cid!r} out of range: expected 0..{n - 1}, got {index}"
                )
        return self

    def frames(self) -> list[tuple[ConnectionId, str]]:
        """The shard's frames, in posting order."""
        return [(ConnectionId(cid), self.bodies[i]) for cid, i in self.targets]

    def __len__(self) -> int:
        return len(self.targets)


def encode_shard(payload: Mapping[str, Any]) -> str:
    """The compact JSON of a shard payload (the encoding the size budget assumes)."""
    return json.dumps(payload, separators=(",", ":"))


_ENVELOPE_BYTES: Final = len(encode_shard({"v": 1, "bodies": [], "targets": []}))


@dataclass(slots=True)
class _ShardBuilder:
    """One shard being filled; ``size`` is the exact length of its compact JSON."""

    index: dict[str, int] = field(default_factory=dict)
    targets: list[tuple[str, int]] = field(default_factory=list)
    size: int = _ENVELOPE_BYTES

    def cost(self, cid: str, bodies: Sequence[str], sizes: Mapping[str, int]) -> int:
        """Bytes that appending ``bodies`` for ``cid`` would add to the compact JSON."""
        added, fresh, n_targets = 0, dict[str, int](), len(self.targets)
        cid_bytes = len(json.dumps(cid))
        for body in bodies:
            i = self.index.get(body)
            if i is None:
                i = fresh.get(body)
            if i is None:
                i = fresh[body] = len(self.index) + len(fresh)
                added += sizes[body] + (1 if i else 0)  # the body and its comma
            added += cid_bytes + len(str(i)) + 3 + (1 if n_targets else 0)  # [cid,i] + comma
            n_targets += 1
        return added

    def add(self, cid: str, body: str, sizes: Mapping[str, int]) -> None:
        self.size += self.cost(cid, (body,), sizes)
        i = self.index.get(body)
        if i is None:
            i = self.index[body] = len(self.index)
        self.targets.append((cid, i))

    def build(self) -> Shard:
        return Shard(bodies=tuple(self.index), targets=tuple(self.targets))


def shard(frames: Frames, max_per_shard: int, *, max_bytes: int = MAX_SHARD_BYTES) -> list[Shard]:
    """Split ``frames`` into shards of at most ``max_per_shard`` frames and ``max_bytes``
    of compact JSON (:func:`encode_shard`).

    Pure and deterministic. A connection's frames stay in one shard, in order, unless
    they alone exceed a cap (then they continue in the next shard). Raises
    :class:`~core.errors.PayloadTooLarge` for a single frame over ``max_bytes``.
    """
    if max_per_shard < 1:
        raise ValueError(f"max_per_shard must be at least 1, got {max_per_shard}")
    sizes: dict[str, int] = {}
    for _, body in frames:
        if body not in sizes:
            sizes[body] = len(json.dumps(body))
    shards: list[Shard] = []
    current = _ShardBuilder()
    for cid, bodies in group_by_connection(frames).items():
        if current.targets and (
            len(current.targets) + len(bodies) > max_per_shard
            or current.size + current.cost(cid, bodies, sizes) > max_bytes
        ):
            shards.append(current.build())
            current = _ShardBuilder()
        for body in bodies:
            if current.targets and (
                len(current.targets) >= max_per_shard
                or current.size + current.cost(cid, (body,), sizes) > max_bytes
            ):
                shards.append(current.build())
                current = _ShardBuilder()
            if current.size + current.cost(cid, (body,), sizes) > max_bytes:
                raise PayloadTooLarge(
                    f"a frame to {cid!r} does not fit a shard: expected at most "
                    f"{max_bytes} bytes of shard JSON, got a {sizes[body]}-byte body"
                )
            current.add(cid, body, sizes)
    if current.targets:
        shards.append(current.build())
    return shards


def shard_payload(s: Shard) -> dict[str, Any]:
    """The JSON-ready payload of a shard (lists, strings and ints only)."""
    return s.model_dump(mode="json")


def frames_of(payload: Mapping[str, Any]) -> list[tuple[ConnectionId, str]]:
    """The frames of a shard payload (the inverse of :func:`shard_payload`); raises
    pydantic's ``ValidationError`` naming what is malformed."""
    return Shard.model_validate(payload).frames()


class ShardingSender:
    """A :class:`~core.ports.Sender` that hands the shards of a large fan-out to other
    broadcaster runs through ``waker`` (see the module docstring)."""

    def __init__(
        self,
        sender: Sender,
        waker: Waker | None,
        *,
        shard_threshold: int = DEFAULT_SHARD_THRESHOLD,
        shard_size: int | None = None,
        max_shard_bytes: int = MAX_SHARD_BYTES,
    ) -> None:
        shard_size = shard_threshold if shard_size is None else shard_size
        if not 1 <= shard_size <= shard_threshold:
            raise ValueError(
                f"shard_size must be in 1..shard_threshold ({shard_threshold}), got {shard_size}"
            )
        self.sender = sender
        self.waker = waker
        self.shard_threshold = shard_threshold
        self.shard_size = shard_size
        self.max_shard_bytes = max_shard_bytes
        self.shards_handed_over = 0
        """Shards woken elsewhere so far (the others were posted here)."""

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        await self.sender.send(connection_id, data)

    async def send_many(self, frames: Frames) -> list[ConnectionId]:
        """Post ``frames``, handing shards beyond the first to other runs; the gone
        connections among the frames posted here."""
        if self.waker is None or len(frames) <= self.shard_threshold:
            return await self.sender.send_many(frames)
        first, *rest = shard(frames, self.shard_size, max_bytes=self.max_shard_bytes)
        parts = await asyncio.gather(
            self.sender.send_many(first.frames()), *(self._hand_over(s) for s in rest)
        )
        return [cid for part in parts for cid in part]

    async def _hand_over(self, s: Shard) -> list[ConnectionId]:
        assert self.waker is not None
        try:
            await self.waker.wake({"source": "fanout", "shard": shard_payload(s)})
        except Exception:
            log.exception("hand-over of a %d-frame shard failed; posting it here", len(s))
            return await self.sender.send_many(s.frames())
        self.shards_handed_over += 1
        return []


__all__ = [
    "DEFAULT_SHARD_THRESHOLD",
    "MAX_SHARD_BYTES",
    "Shard",
    "ShardingSender",
    "encode_shard",
    "frames_of",
    "shard",
    "shard_payload",
]
