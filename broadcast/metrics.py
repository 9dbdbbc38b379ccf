"""The broadcaster's CloudWatch metrics, as embedded metric format (EMF) log lines.

A Lambda prints one JSON object per run to stdout; CloudWatch Logs turns it into
metrics (namespace ``Leaderboard``, dimension ``Stage``), with no API call and no
permission beyond writing its log. ``BroadcastLagMs`` holds one value per round that
pushed events: from the oldest such event's creation to the round's send. A run with
nothing to push reports 0, so every run reports and the alarm can treat no data as no
broadcaster (infra/README.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

NAMESPACE: Final = "Leaderboard"
"""Must equal ``infra.config.METRICS_NAMESPACE``; a test checks it."""
LAG_METRIC: Final = "BroadcastLagMs"
WAKEUP_FAILURES_METRIC: Final = "WakeupFailures"
"""Aurora wake-ups that failed since the previous sweep (reported by the sweep only)."""
EMF_MAX_VALUES: Final = 100
"""EMF's limit on the values of one metric in one record."""


def emf_record(
    *,
    stage: str,
    lag_ms: Sequence[float],
    timestamp_ms: int,
    wakeup_failures: int | None = None,
) -> str:
    """One EMF log line: the run's lags (0 when it pushed nothing) and, from a sweep, the
    failed wake-ups it counted; dimension ``Stage``."""
    metrics: list[dict[str, str]] = [{"Name": LAG_METRIC, "Unit": "Milliseconds"}]
    record: dict[str, object] = {
        "Stage": stage,
        LAG_METRIC: [round(v, 3) for v in lag_ms][-EMF_MAX_VALUES:] or [0.0],
    }
    if wakeup_failures is not None:
        metrics.append({"Name": WAKEUP_FAILURES_METRIC, "Unit": "Count"})
        record[WAKEUP_FAILURES_METRIC] = wakeup_failures
    aws = {
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [
            {"Namespace": NAMESPACE, "Dimensions": [["Stage"]], "Metrics": metrics}
        ],
    }
    return json.dumps({"_aws": aws, **record}, separators=(",", ":"))


__all__ = ["LAG_METRIC", "NAMESPACE", "WAKEUP_FAILURES_METRIC", "emf_record"]
