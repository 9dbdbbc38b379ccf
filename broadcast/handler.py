"""Lambda entry of the broadcaster.

Payloads: ``{"source": "postgres", "board": id}`` from the database's wake-up (the same
payload the local runtime passes after a NOTIFY), and ``{"source": "sweep"}`` from the
schedule, which handles every board with unsequenced or unbroadcast events.
"""

from __future__ import annotations

from typing import Any

from db.bootstrap import LambdaLoop, Lazy

_loop = LambdaLoop()


async def _build() -> Any:
    from datetime import timedelta

    from broadcast.fanout import ConnectionsApiSender, lambda_invoker
    from broadcast.worker import Broadcaster
    from connect.sender import management_endpoint
    from core.settings import Settings
    from db.bootstrap import resolve_dsns
    from db.connections import ConnectionStore
    from db.store import Store

    settings = Settings()
    dsns = resolve_dsns(settings)
    store = await Store.open(settings, dsn=dsns.primary)
    endpoint = management_endpoint(settings.ws_api_id or "", settings.aws_region, settings.ws_stage)
    return Broadcaster(
        store=store,
        connections=ConnectionStore(store.pool, ttl=timedelta(seconds=settings.connection_ttl_s)),
        sender=ConnectionsApiSender(
            endpoint_url=endpoint,
            region=settings.aws_region,
            invoke=(
                lambda_invoker(settings.broadcast_function_name)
                if settings.broadcast_function_name
                else None
            ),
        ),
        settings=settings,
    )


_broadcaster = Lazy(_build)


async def _handle(event: dict[str, Any]) -> dict[str, Any]:
    broadcaster = await _broadcaster.get()
    result: dict[str, Any] = await broadcaster.handle(event)
    return result


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _loop.run(_handle(event))
