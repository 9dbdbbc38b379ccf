"""Latency summaries for the benchmarks."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


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
