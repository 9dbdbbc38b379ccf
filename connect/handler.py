"""Lambda entry points of the WebSocket routes: one function per route, each one line.

The container's services (:func:`db.services.open_services`: pools, the ``@connections``
client) are built on the first invocation and reused. The route logic lives in
``connect.routes`` and is shared with the local runtime.
"""

from __future__ import annotations

from typing import Any

from aws.lambdas import Container
from connect.events import WebSocketEvent
from connect.routes import dispatch
from db.services import Services


async def _open() -> Services:
    from core.settings import Settings
    from db.services import open_services

    return await open_services(Settings())


_container = Container(_open)


def _entry(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _container.run(lambda svc: dispatch(WebSocketEvent.parse(event), svc))


on_connect = on_disconnect = on_submit = on_subscribe = on_unsubscribe = on_default = _entry
on_moderate = _entry


def expire_connections(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scheduled sweep: delete connections past their expiry ($disconnect is best-effort)."""
    return {"expired": _container.run(lambda svc: svc.connections.expire())}
