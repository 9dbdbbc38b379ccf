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
EMF_MAX_VALUES: Final = 100
"""EMF's limit on the values of one metric in one record."""


def emf_record(*, stage: str, lag_ms: Sequence[float], timestamp_ms: int) -> str:
    """One EMF log line: the run's lags (0 when it pushed nothing), dimension ``Stage``."""
    values = [round(v, 3) for v in lag_ms][-EMF_MAX_VALUES:] or [0.0]
    return json.dumps(
        {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Stage"]],
                        "Metrics": [{"Name": LAG_METRIC, "Unit": "Milliseconds"}],
                    }
                ],
            },
            "Stage": stage,
            LAG_METRIC: values,
        },
        separators=(",", ":"),
    )


__all__ = ["LAG_METRIC", "NAMESPACE", "emf_record"]
