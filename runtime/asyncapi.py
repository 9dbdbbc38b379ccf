"""``GET /asyncapi.json``: the WebSocket API's AsyncAPI 3.0 document, public like
``/openapi.json``.

:func:`mount_asyncapi` is a :data:`~runtime.app.Mount`. The document is the one
:func:`connect.asyncapi.asyncapi_document` generates from the wire models (and
``docs/asyncapi.json`` holds); it is serialized once per process and served with a
strong ``ETag`` (``If-None-Match`` gets 304), no token needed: it describes the API and
holds no data.
"""

from __future__ import annotations

import hashlib
from typing import Final

from aiohttp import web

from connect.asyncapi import asyncapi_document, dumps
from db.services import Services

ASYNCAPI_PATH: Final = "/asyncapi.json"


class AsyncApiDocument:
    def __init__(self) -> None:
        self.body = dumps(asyncapi_document()).encode()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    async def get(self, request: web.Request) -> web.Response:
        headers = {"ETag": self.etag, "Cache-Control": "public, max-age=300"}
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=self.body, content_type="application/json", charset="utf-8", headers=headers
        )


def mount_asyncapi(app: web.Application, services: Services) -> None:
    """The runtime :data:`~runtime.app.Mount` of ``GET /asyncapi.json``."""
    app.router.add_get(ASYNCAPI_PATH, AsyncApiDocument().get)


__all__ = ["ASYNCAPI_PATH", "mount_asyncapi"]
