"""Lambda entry of the REST API (API Gateway REST proxy integration, ``/v1/{proxy+}``).

Settings, pools and the cursor key are built on the first request that needs them
(cold start; ``GET /openapi.json`` needs none), never at import: importing this module needs no environment and no
network. The route logic (``rest.api``) is shared with the local runtime.
"""

from __future__ import annotations

from typing import Any

from aws.lambdas import Container
from rest.api import RestServices, handle_event


async def _open() -> RestServices:
    from core.settings import Settings
    from db.services import open_services

    return RestServices.create(await open_services(Settings()))


_container = Container(_open)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One REST proxy event in, one proxy response out."""
    return _container.complete(handle_event(event, _container.services))
