"""The sans-I/O limit decisions: frame-header scanning and the connection clock."""

from __future__ import annotations

import os

import pytest

from runtime.limits import CloseReason, ConnectionClock, FrameSizeGuard


def frame(payload: bytes, *, opcode: int = 0x1, fin: bool = True, masked: bool = True) -> bytes:
    """One RFC 6455 frame as a client sends it (masked)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 1 << 16:
        head += bytes([mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mask_bit | 127]) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("size", [0, 1, 125, 126, 1000, 65535, 65536])
def test_frames_at_or_under_the_limit_pass(size: int) -> None:
    """A data frame whose payload is at most the limit never trips the guard."""
    guard = FrameSizeGuard(limit=size)
    assert guard.feed(frame(b"x" * size)) is None
    assert guard.tripped is None


@pytest.mark.parametrize("size", [126, 1001, 65536])
def test_a_frame_one_byte_over_the_limit_trips(size: int) -> None:
    """A data frame one byte over the limit trips the guard with its length (7/16/64-bit forms)."""
    guard = FrameSizeGuard(limit=size - 1)
    found = guard.feed(frame(b"x" * size))
    assert found is not None
    assert (found.offset, found.length, found.limit) == (0, size, size - 1)


def test_the_offset_points_at_the_oversized_frame_after_good_ones() -> None:
    """Frames before the oversized one are reported as passable bytes (its offset)."""
    good = frame(b"a" * 10) + frame(b"", opcode=0x9)  # a text frame and a ping
    guard = FrameSizeGuard(limit=100)
    found = guard.feed(good + frame(b"b" * 101))
    assert found is not None and found.offset == len(good)


def test_headers_and_payloads_split_across_chunks_are_tracked() -> None:
    """Fed one byte at a time, the guard still finds frame boundaries exactly."""
    stream = frame(b"a" * 200) + frame(b"b" * 300, opcode=0x0) + frame(b"c" * 301)
    guard = FrameSizeGuard(limit=300)
    hits = [guard.feed(stream[i : i + 1]) for i in range(len(stream))]
    found = [h for h in hits if h is not None]
    assert len(found) == 1 and found[0].length == 301


def test_fragments_are_limited_one_by_one() -> None:
    """A fragmented message within the frame limit per fragment passes whatever its total."""
    guard = FrameSizeGuard(limit=100)
    stream = frame(b"a" * 100, fin=False) + frame(b"b" * 100, opcode=0x0, fin=False)
    stream += frame(b"c" * 100, opcode=0x0)
    assert guard.feed(stream) is None


def test_a_tripped_guard_ignores_further_input() -> None:
    """After the first oversized frame the guard reports nothing more."""
    guard = FrameSizeGuard(limit=10)
    assert guard.feed(frame(b"x" * 11)) is not None
    assert guard.feed(frame(b"x" * 11)) is None
    assert guard.tripped is not None


def test_the_idle_deadline_moves_with_client_messages() -> None:
    """Each client message pushes the idle deadline to idle_s after it."""
    clock = ConnectionClock(opened_at=100.0, idle_s=10.0, max_s=1000.0)
    assert clock.deadline() == (110.0, CloseReason.IDLE)
    clock.touch(105.0)
    assert clock.deadline() == (115.0, CloseReason.IDLE)


def test_the_maximum_age_wins_over_a_later_idle_deadline() -> None:
    """However active the client, the connection closes max_s after it opened."""
    clock = ConnectionClock(opened_at=0.0, idle_s=10.0, max_s=30.0)
    clock.touch(25.0)
    assert clock.deadline() == (30.0, CloseReason.MAX_AGE)
