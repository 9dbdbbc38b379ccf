"""API Gateway's WebSocket limits as sans-I/O decisions: frame size and connection clocks.

- :class:`FrameSizeGuard` reads only the frame headers of the client's byte stream
  (RFC 6455 section 5.2) and reports the first data frame (text, binary or
  continuation) whose declared payload exceeds the frame limit, with the offset where
  that frame starts. It never buffers payload bytes, so it costs a few comparisons per
  frame. Control frames are capped at 125 bytes by the protocol and never trip it.
- :class:`ConnectionClock` answers "when must this connection close, and why": after
  ``idle_s`` without a client message, or ``max_s`` after it opened, whichever comes
  first. Times are plain floats from whatever monotonic clock the caller uses.

The front door (``runtime.gateway``) turns both answers into close frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

DATA_OPCODES: Final = frozenset({0x0, 0x1, 0x2})


@dataclass(frozen=True, slots=True)
class OversizeFrame:
    """A data frame over the limit: where it starts in the chunk that revealed it."""

    offset: int
    opcode: int
    length: int
    limit: int

    def describe(self) -> str:
        return f"frame of {self.length} bytes exceeds the {self.limit}-byte frame limit"


@dataclass(slots=True)
class FrameSizeGuard:
    """Tracks frame boundaries in a client->server byte stream; flags oversized data frames.

    Feed it every chunk in order. Once it has reported a frame it stays tripped and
    ignores further input (the connection is being closed).
    """

    limit: int
    tripped: OversizeFrame | None = None
    _header: bytearray = field(default_factory=bytearray)
    _skip: int = 0

    def feed(self, data: bytes) -> OversizeFrame | None:
        """Scan ``data``; the first oversized frame found in it (its offset in ``data``)."""
        if self.tripped is not None:
            return None
        i, n = 0, len(data)
        start = 0  # where the header being read began in ``data`` (0: in an earlier chunk)
        while i < n:
            if self._skip:
                step = min(self._skip, n - i)
                self._skip -= step
                i += step
                continue
            if not self._header:
                start = i
            self._header.append(data[i])
            i += 1
            parsed = _parse_header(self._header)
            if parsed is None:
                continue
            opcode, length = parsed
            self._header.clear()
            if opcode in DATA_OPCODES and length > self.limit:
                self.tripped = OversizeFrame(start, opcode, length, self.limit)
                return self.tripped
            self._skip = length
        return None


def _parse_header(header: bytearray) -> tuple[int, int] | None:
    """(opcode, payload length) once ``header`` holds a whole frame header, else None."""
    if len(header) < 2:
        return None
    opcode = header[0] & 0x0F
    len7 = header[1] & 0x7F
    masked = bool(header[1] & 0x80)
    ext = 2 if len7 == 126 else 8 if len7 == 127 else 0
    if len(header) < 2 + ext + (4 if masked else 0):
        return None
    length = int.from_bytes(header[2 : 2 + ext], "big") if ext else len7
    return opcode, length


class CloseReason(StrEnum):
    IDLE = "idle"
    MAX_AGE = "max_age"


@dataclass(slots=True)
class ConnectionClock:
    """The two deadlines of a connection: idle (reset by client messages) and maximum age."""

    opened_at: float
    idle_s: float
    max_s: float
    last_message_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.last_message_at = self.opened_at

    def touch(self, now: float) -> None:
        """A client message arrived at ``now``: the idle deadline moves."""
        self.last_message_at = now

    def deadline(self) -> tuple[float, CloseReason]:
        """When the connection must close if nothing else happens, and why."""
        idle_at = self.last_message_at + self.idle_s
        max_at = self.opened_at + self.max_s
        return (idle_at, CloseReason.IDLE) if idle_at < max_at else (max_at, CloseReason.MAX_AGE)
