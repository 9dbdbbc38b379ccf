"""The broadcaster's lag metric (broadcast.metrics): what the alarm reads."""

from __future__ import annotations

import json

from broadcast.metrics import LAG_METRIC, NAMESPACE, WAKEUP_FAILURES_METRIC, emf_record
from broadcast.worker import Broadcaster
from core.boards import BoardSpec
from core.ranking import ScoreInput
from core.settings import Settings
from db.services import open_services
from infra.config import BROADCAST_LAG_METRIC, METRICS_NAMESPACE
from infra.config import WAKEUP_FAILURES_METRIC as ALARMED
from tests.connect.test_routes import RecordingSender


def test_a_record_is_embedded_metric_format() -> None:
    """One JSON line: the metric declared under _aws with the Stage dimension, its values
    beside it; a run that pushed nothing reports 0; the names are the alarm's."""
    record = json.loads(emf_record(stage="dev", lag_ms=[], timestamp_ms=1_700_000_000_000))
    (declared,) = record["_aws"]["CloudWatchMetrics"]
    assert declared == {
        "Namespace": METRICS_NAMESPACE,
        "Dimensions": [["Stage"]],
        "Metrics": [{"Name": BROADCAST_LAG_METRIC, "Unit": "Milliseconds"}],
    }
    assert (NAMESPACE, LAG_METRIC) == (METRICS_NAMESPACE, BROADCAST_LAG_METRIC)
    assert record["Stage"] == "dev" and record[LAG_METRIC] == [0.0]
    many = json.loads(emf_record(stage="dev", lag_ms=[float(i) for i in range(150)],
                                 timestamp_ms=0))  # fmt: skip
    assert len(many[LAG_METRIC]) == 100
    swept = json.loads(emf_record(stage="dev", lag_ms=[], timestamp_ms=0, wakeup_failures=3))
    names = [m["Name"] for m in swept["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == [LAG_METRIC, WAKEUP_FAILURES_METRIC] and WAKEUP_FAILURES_METRIC == ALARMED
    assert swept[WAKEUP_FAILURES_METRIC] == 3


async def test_a_round_that_pushes_reports_its_lag(database_dsn: str, settings: Settings) -> None:
    """A wake-up whose round pushes events reports how old the oldest one was; a sweep with
    nothing to push reports none (the record then says 0), and the failed wake-ups it
    counted."""
    svc = await open_services(settings, dsn=database_dsn, sender=RecordingSender())
    try:
        await svc.store.create_board(BoardSpec(id="lagged"))
        await svc.store.submit("lagged", [ScoreInput("a", 1)])
        broadcaster = Broadcaster(svc)
        woken = await broadcaster.handle({"source": "postgres", "board": "lagged"})
        assert len(woken["lag_ms"]) == 1 and 0 <= woken["lag_ms"][0] < 60_000
        swept = await broadcaster.handle({"source": "sweep"})
        assert swept["lag_ms"] == [] and swept["wakeup_failures"] == 0
    finally:
        await svc.close()
