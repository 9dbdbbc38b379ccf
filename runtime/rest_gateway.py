"""The REST API behind the local runtime, emulating an API Gateway REST API (v1).

:func:`mount_rest` adds two resources to the runtime's aiohttp app, as deployed on AWS:

- ``/v1/{proxy+}`` (any method), behind the REST REQUEST authorizer whose identity
  source is the ``Authorization`` header;
- ``/openapi.json`` (GET), with no authorizer.

For each request :class:`RestGateway` does what API Gateway does: without an
``Authorization`` header, 401 before the authorizer runs; otherwise it builds the
authorizer event (shape: ``rest-authorizer-request.json``) and runs the authorizer in a
worker thread (a JWKS fetch blocks) and, like API Gateway's authorizer cache, reuses its
answer per ``Authorization`` value for 300 s: :class:`~core.errors.Unauthorized` is 401, a
policy that does not allow the method ARN is 403, a crash or a non-policy is 500.
Then it builds the proxy event (shape: ``rest-proxy-v1.json``) with
``requestContext.authorizer`` as AWS fills it, calls the same
:func:`rest.api.handle_event` the Lambda calls, and maps the proxy response back.

Gateway refusals answer with the problem bodies of :func:`gateway_problem`; on AWS the
API's gateway responses (UNAUTHORIZED, ACCESS_DENIED, AUTHORIZER_FAILURE,
AUTHORIZER_CONFIGURATION_ERROR) are set to the same ``application/problem+json`` bodies.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from aiohttp import web

from authorizer.handler import authorize
from core.errors import Forbidden, LeaderboardError, ServerError, Unauthorized
from db.services import Services
from rest.api import RestServices, handle_event, problem_response
from rest.reads import COOLDOWN_S, TIMEOUT_S
from runtime.events import LOCAL_API_ID, ApiStage, new_id, now_ms, request_time, single_and_multi
from runtime.gateway import Authorizer
from runtime.policy import run_authorizer

log = logging.getLogger("leaderboard.runtime.rest")

PROXY_RESOURCE: Final = "/v1/{proxy+}"
AUTHORIZER_CACHE_TTL_S: Final = 300.0
"""API Gateway's default authorizer result TTL: a policy is reused per identity source."""
AUTHORIZER_CACHE_MAX: Final = 10_000
OPENAPI_RESOURCE: Final = "/openapi.json"
ACCOUNT_ID: Final = "000000000000"


def gateway_problem(status: int) -> LeaderboardError:
    """The error a gateway refusal reports (static: AWS gateway responses are templates)."""
    if status == 401:
        return Unauthorized(
            "missing or invalid bearer token: expected 'Authorization: Bearer <JWT>'",
            code="unauthorized",
        )
    if status == 403:
        return Forbidden("the authorizer denied this request", code="access_denied")
    return ServerError("the authorizer failed", code="authorizer_failure")


@dataclass(frozen=True, slots=True)
class Observed:
    """What the front door saw of one HTTP request."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    user_agent: str
    host: str

    @classmethod
    async def of(cls, request: web.Request) -> Observed:
        return cls(
            method=request.method, path=request.path, headers=tuple(request.headers.items()),
            query=tuple(request.query.items()), body=await request.read(),
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""), host=request.host,
        )  # fmt: skip

    @property
    def authorization(self) -> str | None:
        values = [v for k, v in self.headers if k.lower() == "authorization"]
        return values[-1] if values and values[-1].strip() else None


def resource_of(path: str) -> tuple[str, dict[str, str] | None]:
    """The API resource a path falls under, and its path parameters."""
    if path == OPENAPI_RESOURCE:
        return OPENAPI_RESOURCE, None
    return PROXY_RESOURCE, {"proxy": path.removeprefix("/v1/")}


def _request_context(
    api: ApiStage, seen: Observed, *, resource: str, at: int, authorizer: Mapping[str, Any] | None
) -> dict[str, Any]:
    request_id = new_id()
    ctx: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": api.api_id,
        "domainName": seen.host,
        "domainPrefix": seen.host.split(".")[0].split(":")[0],
        "extendedRequestId": request_id,
        "httpMethod": seen.method,
        "identity": {"sourceIp": seen.source_ip, "userAgent": seen.user_agent},
        "path": f"/{api.stage}{seen.path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": request_time(at),
        "requestTimeEpoch": at,
        "resourceId": f"{seen.method} {resource}",
        "resourcePath": resource,
        "stage": api.stage,
    }
    if authorizer is not None:
        ctx["authorizer"] = dict(authorizer)
    return ctx


def _views(pairs: tuple[tuple[str, str], ...]) -> tuple[Any, Any]:
    """API Gateway sends ``null`` (not ``{}``) when there are no query parameters."""
    if not pairs:
        return None, None
    return single_and_multi(pairs)


def _request_fields(seen: Observed) -> tuple[str, dict[str, str] | None, dict[str, Any]]:
    """The resource, path parameters, and the request fields both REST events carry."""
    resource, path_params = resource_of(seen.path)
    headers, multi_headers = single_and_multi(seen.headers)
    query, multi_query = _views(seen.query)
    return (
        resource,
        path_params,
        {
            "resource": resource,
            "path": seen.path,
            "httpMethod": seen.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
        },
    )


def authorizer_event(api: ApiStage, seen: Observed, *, at: int) -> dict[str, Any]:
    """The REST REQUEST authorizer event (shape: rest-authorizer-request)."""
    resource, path_params, fields = _request_fields(seen)
    return {
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": api.method_arn(f"{seen.method}{seen.path}"),
        **fields,
        "pathParameters": path_params or {},
        "stageVariables": {},
        "requestContext": _request_context(api, seen, resource=resource, at=at, authorizer=None),
    }


def proxy_event(
    api: ApiStage, seen: Observed, *, authorizer: Mapping[str, Any] | None, at: int
) -> dict[str, Any]:
    """The REST proxy integration event (shape: rest-proxy-v1)."""
    resource, path_params, fields = _request_fields(seen)
    body: str | None = None
    is_base64 = False
    if seen.body:
        try:
            body = seen.body.decode()
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(seen.body).decode(), True
    return {
        "version": "1.0",
        **fields,
        "requestContext": _request_context(
            api, seen, resource=resource, at=at, authorizer=authorizer
        ),
        "pathParameters": path_params,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def web_response(proxy: Mapping[str, Any]) -> web.Response:
    """An aiohttp response from a Lambda proxy response."""
    raw = proxy.get("body") or ""
    body = base64.b64decode(raw) if proxy.get("isBase64Encoded") else str(raw).encode()
    headers = {str(k): str(v) for k, v in (proxy.get("headers") or {}).items()}
    for name, values in (proxy.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ", ".join(str(v) for v in values)
    headers["x-amzn-RequestId"] = new_id()
    return web.Response(status=int(proxy["statusCode"]), body=body or None, headers=headers)


def _refusal(status: int, path: str) -> web.Response:
    return web_response(problem_response(gateway_problem(status), instance=path).to_proxy())


class RestGateway:
    """The REST API's front door on the local runtime (see the module docstring)."""

    def __init__(
        self,
        services: RestServices,
        *,
        authorizer: Authorizer,
        api: ApiStage,
        cache_ttl_s: float = AUTHORIZER_CACHE_TTL_S,
    ) -> None:
        self.services = services
        self.authorizer = authorizer
        self.api = api
        self.cache_ttl_s = cache_ttl_s
        self._policies: dict[str, tuple[float, dict[str, Any]]] = {}

    async def _policy(self, seen: Observed, event: dict[str, Any]) -> dict[str, Any]:
        """The authorizer's answer, reused per ``Authorization`` value for ``cache_ttl_s``
        (as API Gateway caches it; only answers are cached, never 401s or failures)."""
        key = seen.authorization or ""
        now = time.monotonic()
        cached = self._policies.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        response = await asyncio.to_thread(self.authorizer, event)
        if self.cache_ttl_s > 0:
            if len(self._policies) >= AUTHORIZER_CACHE_MAX:
                self._policies.clear()
            self._policies[key] = (now + self.cache_ttl_s, response)
        return response

    async def _services(self) -> RestServices:
        return self.services

    async def _authorize(self, seen: Observed) -> int | dict[str, Any]:
        """The refusal status, or ``requestContext.authorizer`` for the request."""
        if seen.authorization is None:
            return 401
        event = authorizer_event(self.api, seen, at=now_ms())
        return await run_authorizer(
            lambda: self._policy(seen, event), event["methodArn"], what="REST request"
        )

    async def serve(self, request: web.Request) -> web.Response:
        seen = await Observed.of(request)
        context: dict[str, Any] | None = None
        if resource_of(seen.path)[0] == PROXY_RESOURCE:
            auth = await self._authorize(seen)
            if isinstance(auth, int):
                return _refusal(auth, seen.path)
            context = auth
        event = proxy_event(self.api, seen, authorizer=context, at=now_ms())
        return web_response(await handle_event(event, self._services))


def install_rest(
    app: web.Application,
    services: Services,
    *,
    authorizer: Authorizer | None = None,
    cooldown_s: float = COOLDOWN_S,
    timeout_s: float = TIMEOUT_S,
) -> RestGateway:
    """Mount the REST API on ``app``; the gateway (tests reach its services through it)."""
    settings = services.settings
    rest = RestServices.create(services, cooldown_s=cooldown_s, timeout_s=timeout_s)
    if authorizer is None:
        from authorizer.tokens import TokenVerifier

        authorizer = partial(authorize, verifier=TokenVerifier(settings=settings))
    api = ApiStage(
        api_id=settings.ws_api_id or LOCAL_API_ID, region=settings.aws_region,
        stage=settings.ws_stage,
    )  # fmt: skip
    gateway = RestGateway(rest, authorizer=authorizer, api=api)
    # any character, a decoded newline too, so an invalid id is the API's typed 400 (as
    # API Gateway's {proxy+} passes it), not the local server's plain-text 404
    app.router.add_route("*", r"/v1/{proxy:[\s\S]+}", gateway.serve)
    app.router.add_route("*", OPENAPI_RESOURCE, gateway.serve)
    return gateway


def mount_rest(app: web.Application, services: Services) -> None:
    """The runtime :data:`~runtime.app.Mount` of the REST API, with default options."""
    install_rest(app, services)


__all__ = [
    "RestGateway",
    "authorizer_event",
    "gateway_problem",
    "install_rest",
    "mount_rest",
    "proxy_event",
    "web_response",
]
