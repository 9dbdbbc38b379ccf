"""Latency samples, summaries and load shares for the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


async def sample(fn: Callable[[str], Awaitable[Any]], keys: Sequence[str]) -> list[float]:
    """The latency, in seconds, of ``await fn(key)`` for each key, one after another."""
    out = []
    for key in keys:
        t0 = time.perf_counter()
        await fn(key)
        out.append(time.perf_counter() - t0)
    return out


async def sample_interleaved(
    fns: Sequence[Callable[[str], Awaitable[Any]]], keys: Sequence[str]
) -> list[list[float]]:
    """The latency, in seconds, of each of ``fns`` on each key, the fns taking turns key by
    key: a machine that slows down or speeds up during the run weighs on them alike."""
    out: list[list[float]] = [[] for _ in fns]
    for key in keys:
        for fn, latencies in zip(fns, out, strict=True):
            t0 = time.perf_counter()
            await fn(key)
            latencies.append(time.perf_counter() - t0)
    return out


def percentile_ms(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of samples given in seconds, in milliseconds."""
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0] * 1000
    cuts = statistics.quantiles(samples, n=1000, method="inclusive")
    index = min(len(cuts) - 1, max(0, round(q * 10) - 1))
    return cuts[index] * 1000


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if not ours or not theirs:
        return None
    return round(theirs / ours, 2)


def share(players: int, lane: int, lanes: int) -> range:
    """The players that concurrent writer ``lane`` of ``lanes`` submits for.

    Like concurrent matches, concurrent batch writers carry different players: two random
    batches drawn from one pool nearly always share a player, and the second then waits on
    that row's lock until the first commits, so the writers run one at a time.
    """
    return range(lane * players // lanes, (lane + 1) * players // lanes)


def vs(ours: float | None, baseline: float | None, *, digits: int = 3) -> float | None:
    """``ours / baseline``, the form of every ``*_vs_*`` key: None when either is missing
    or zero (a baseline that did not run, or a phase that measured nothing)."""
    if not ours or not baseline:
        return None
    return round(ours / baseline, digits)
