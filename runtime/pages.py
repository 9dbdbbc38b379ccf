"""The spectator pages of the local runtime: plain HTML, CSS and ES modules, no build step.

:func:`mount_pages` is a :data:`~runtime.app.Mount`. It serves, next to the WebSocket
endpoint and the REST API on the same origin:

- ``/``: the boards, each linked to its page (``GET /v1/boards``);
- ``/boards/{board}``: the board's live top-N for a big screen (``?n=`` rows, default 10);
- ``/boards/{board}/ticker``: a player's live rank ticker (the ``me`` view);
- ``/admin``: the admin console (boards, seasons, players, bans, erasure, the audit log),
  which drives the REST API beside it and needs an admin token;
- ``/web/*``: the static assets under ``runtime/web`` (never a CDN); the TypeScript
  client's bundles (``leaderboard-client.js``, and ``leaderboard-widget.js``, the
  embeddable widgets a studio loads from its own site) are also served with
  ``Access-Control-Allow-Origin: *`` so another origin may load them as modules (they
  hold code, no data; the widgets authenticate with the token they are given).

Authentication: the pages take the token from the URL (``?token=<JWT>``) and send it as
the REST ``Authorization: Bearer`` header and as the WebSocket ``token`` parameter; there
is no anonymous mode. A board page needs any role (``spectator`` is meant for screens);
the ticker needs a ``player`` token, whose player it follows. The admin console also
takes the token from the URL fragment (``#token=``, which no request carries) or a form,
and works only with an ``admin`` token. The pages answer with
``Referrer-Policy: no-referrer`` (the token is in the URL), ``Cache-Control: no-store``
and a Content-Security-Policy allowing only this origin.

``GET /`` is also the runtime's WebSocket endpoint: a middleware answers plain GETs of
``/`` with the index page and leaves upgrade requests to the gateway.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from db.services import Services

WEB_DIR: Final = Path(__file__).with_name("web")
ASSETS_PREFIX: Final = "/web"
WS_PATH_PLACEHOLDER: Final = "%WS_PATH%"

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
BUNDLES: Final = ("leaderboard-client.js", "leaderboard-widget.js")
"""The client's bundles: modules that other origins may load (the embeddable widgets)."""
BUNDLE_HEADERS: Final = {
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class Pages:
    """The HTML pages, read once, with the WebSocket path of this runtime filled in."""

    def __init__(self, *, ws_path: str, web_dir: Path = WEB_DIR) -> None:
        self.web_dir = web_dir
        path = html.escape(ws_path, quote=True)
        self._html = {
            name: (web_dir / f"{name}.html").read_text().replace(WS_PATH_PLACEHOLDER, path)
            for name in ("index", "board", "ticker", "admin")
        }

    def page(self, name: str) -> web.Response:
        return web.Response(
            text=self._html[name], content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
        )

    async def index(self, request: web.Request) -> web.Response:
        return self.page("index")

    async def board(self, request: web.Request) -> web.Response:
        return self.page("board")

    async def ticker(self, request: web.Request) -> web.Response:
        return self.page("ticker")

    async def admin(self, request: web.Request) -> web.Response:
        return self.page("admin")

    def index_middleware(self) -> Middleware:
        """Plain GETs of ``/`` get the index page; WebSocket upgrades go to the gateway."""

        @web.middleware
        async def serve_index(request: web.Request, handler: Handler) -> web.StreamResponse:
            upgrade = request.headers.get("Upgrade", "").lower()
            if request.path == "/" and request.method in ("GET", "HEAD") and upgrade != "websocket":
                return self.page("index")
            return await handler(request)

        return serve_index


def _bundle(path: Path) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers=BUNDLE_HEADERS)

    return serve


def install_pages(app: web.Application, *, ws_path: str, web_dir: Path = WEB_DIR) -> Pages:
    """Add the pages and their assets to ``app`` (before it starts)."""
    pages = Pages(ws_path=ws_path, web_dir=web_dir)
    app.middlewares.append(pages.index_middleware())
    app.router.add_get("/boards/{board}", pages.board)
    app.router.add_get("/boards/{board}/ticker", pages.ticker)
    app.router.add_get("/admin", pages.admin)
    for name in BUNDLES:
        app.router.add_get(f"{ASSETS_PREFIX}/{name}", _bundle(web_dir / name))
    app.router.add_static(ASSETS_PREFIX, web_dir, show_index=False, follow_symlinks=False)
    return pages


def mount_pages(app: web.Application, services: Services) -> None:
    """The runtime :data:`~runtime.app.Mount` of the pages (WebSocket at ``/{stage}``)."""
    install_pages(app, ws_path=f"/{services.settings.ws_stage}")


__all__ = ["BUNDLES", "CONTENT_SECURITY_POLICY", "Pages", "install_pages", "mount_pages"]
