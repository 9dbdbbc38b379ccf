"""Lambda entry of the REST API (API Gateway REST proxy integration, ``/v1/{proxy+}``).

Settings, pools and the cursor key are built on the first request that needs them
(cold start), never at import: importing this module needs no environment and no
network. The route logic (``rest.api``) is shared with the local runtime.
"""

from __future__ import annotations

from typing import Any

from db.bootstrap import LambdaLoop, Lazy
from rest.api import RestServices, handle_event

_loop = LambdaLoop()


async def _build() -> RestServices:
    from core.settings import Settings
    from db.bootstrap import resolve_dsns
    from db.store import Store

    settings = Settings()
    dsns = resolve_dsns(settings)
    store = await Store.open(settings, dsn=dsns.primary, reader_dsn=dsns.reader)
    return RestServices.create(settings, store)


_services = Lazy(_build)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One REST proxy event in, one proxy response out."""
    return _loop.run(handle_event(event, _services.get))
