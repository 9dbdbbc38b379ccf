"""Lambda entry of the broadcaster.

Payloads: ``{"source": "postgres", "board": id}`` from the database's wake-up (the same
payload the local runtime passes after a NOTIFY), ``{"source": "sweep"}`` from the
schedule, which handles every board with unsequenced or unbroadcast events, and
``{"source": "fanout", "shard": ...}`` from another run handing over part of a large
fan-out. Every run but a shard's prints its lag metrics (broadcast.metrics, EMF).
"""

from __future__ import annotations

import time
from typing import Any

from aws.lambdas import Container
from broadcast.metrics import emf_record
from broadcast.worker import Broadcaster


async def _open() -> Broadcaster:
    from core.settings import Settings
    from db.services import open_services

    return Broadcaster(await open_services(Settings()))


_container = Container(_open)


async def _run(broadcaster: Broadcaster, event: dict[str, Any]) -> dict[str, Any]:
    result = await broadcaster.handle(event)
    if event.get("source") != "fanout":  # a shard's run pushes no event of its own
        print(emf_record(stage=broadcaster.settings.stage, lag_ms=result["lag_ms"],
                         wakeup_failures=result["wakeup_failures"],
                         timestamp_ms=int(time.time() * 1000)), flush=True)  # fmt: skip
    return result


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _container.run(lambda broadcaster: _run(broadcaster, event))
