"""Lambda entry of the broadcaster.

Payloads: ``{"source": "postgres", "board": id}`` from the database's wake-up (the same
payload the local runtime passes after a NOTIFY), ``{"source": "sweep"}`` from the
schedule, which handles every board with unsequenced or unbroadcast events, and
``{"source": "fanout", "shard": ...}`` from another run handing over part of a large
fan-out.
"""

from __future__ import annotations

from typing import Any

from aws.lambdas import Container
from broadcast.worker import Broadcaster


async def _open() -> Broadcaster:
    from core.settings import Settings
    from db.services import open_services

    return Broadcaster(await open_services(Settings()))


_container = Container(_open)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _container.run(lambda broadcaster: broadcaster.handle(event))
