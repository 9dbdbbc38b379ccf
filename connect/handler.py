"""Lambda entry points of the WebSocket routes: one function per route, each one line.

Services (settings, pools, the @connections sender) are built once per container on first
use. The route logic lives in ``connect.routes`` and is shared with the local runtime.
"""

from __future__ import annotations

from typing import Any

from connect.events import WebSocketEvent
from connect.routes import RouteServices, dispatch
from db.bootstrap import LambdaLoop, Lazy

_loop = LambdaLoop()


async def _build() -> RouteServices:
    from datetime import timedelta

    from connect.sender import ManagementApiSender, management_endpoint
    from core.settings import Settings
    from db.bootstrap import resolve_dsns
    from db.connections import ConnectionStore
    from db.store import Store

    settings = Settings()
    dsns = resolve_dsns(settings)
    store = await Store.open(settings, dsn=dsns.primary, reader_dsn=dsns.reader)
    endpoint = management_endpoint(settings.ws_api_id or "", settings.aws_region, settings.ws_stage)
    return RouteServices(
        settings=settings, store=store,
        connections=ConnectionStore(store.pool, ttl=timedelta(seconds=settings.connection_ttl_s)),
        sender=ManagementApiSender(endpoint_url=endpoint, region=settings.aws_region),
    )  # fmt: skip


_services = Lazy(_build)


async def _route(event: dict[str, Any]) -> dict[str, Any]:
    return await dispatch(WebSocketEvent.parse(event), await _services.get())


def _entry(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _loop.run(_route(event))


on_connect = on_disconnect = on_submit = on_subscribe = on_unsubscribe = on_default = _entry


def expire_connections(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scheduled sweep: delete connections past their expiry ($disconnect is best-effort)."""

    async def sweep() -> int:
        svc: RouteServices = await _services.get()
        return await svc.connections.expire()

    return {"expired": _loop.run(sweep())}
