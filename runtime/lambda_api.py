"""The Lambda Invoke API of the local runtime.

Unmodified boto3 ``lambda`` code works against it with ``endpoint_url="http://HOST:PORT"``
(``LEADERBOARD_LAMBDA_ENDPOINT``), as ``@connections`` does (runtime/management.py):

- ``POST /2015-03-31/functions/{name}/invocations`` runs the function registered as
  ``name`` (a name, a partial or a full function ARN, or ``name:qualifier``) with the JSON
  request body as its event:

  - ``X-Amz-Invocation-Type: Event``: queued, answered 202 with an empty body; the function
    runs in a task of its own. Over 256 KB -> 413 ``RequestTooLargeException``.
  - ``RequestResponse`` (the default): answered 200 with the function's JSON result and
    ``X-Amz-Executed-Version: $LATEST``; a function that raises answers 200 with
    ``X-Amz-Function-Error: Unhandled`` and ``{"errorMessage", "errorType"}``, as Lambda
    does. Over 6 MB -> 413.
  - ``DryRun``: 204.
- An unknown function -> 404 ``ResourceNotFoundException``; another invocation type ->
  400 ``InvalidParameterValueException``; a body that is not JSON -> 400
  ``InvalidRequestContentException``.

Authentication: a SigV4-shaped ``Authorization`` header scoped to service ``lambda`` and
an ``X-Amz-Date`` header, else 403 (the signature is not verified, as local emulators do).

Concurrency: like a reserved concurrency of ``concurrency`` per function, at most that
many invocations of one function run at once; queued events wait their turn. Every
invocation is recorded in ``invocations`` (function, type, event) in arrival order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

from aiohttp import web

from runtime.management import SIGV4, aws_error

log = logging.getLogger("leaderboard.runtime.lambda")

INVOKE_PATH: Final = "/2015-03-31/functions/{function}/invocations"
MAX_EVENT_BYTES: Final = 256 * 1024
MAX_SYNC_BYTES: Final = 6 * 1024 * 1024
_ARN: Final = re.compile(
    r"^(?:arn:[\w-]+:lambda:[^:]+:\d+:function:|\d+:function:)?(?P<name>[^:]+)"
)

Function = Callable[[Mapping[str, Any]], Awaitable[Any]]
"""A function's handler logic: the event in, the JSON-ready result out."""


@dataclass(frozen=True)
class Invocation:
    function: str
    invocation_type: str
    event: Mapping[str, Any]


def function_name(identifier: str) -> str:
    """The bare name of ``name``, ``name:qualifier``, ``ACCOUNT:function:name`` or an ARN."""
    match = _ARN.match(unquote(identifier))
    return match["name"] if match else identifier


def signature_problem(authorization: str | None, amz_date: str | None) -> str | None:
    """What is wrong with the request's SigV4 authentication for Lambda, or None."""
    if not authorization:
        return "Missing Authentication Token"
    m = SIGV4.fullmatch(authorization.strip())
    if m is None:
        return "Authorization header is not an AWS4-HMAC-SHA256 signature"
    if m["service"] != "lambda":
        return f"Credential should be scoped to service 'lambda', got {m['service']!r}"
    if not amz_date:
        return "Authorization requires an 'X-Amz-Date' header"
    return None


class LambdaApi:
    """The Invoke API over the functions registered with :meth:`register`."""

    def __init__(self, *, concurrency: int = 4) -> None:
        self.concurrency = concurrency
        self.functions: dict[str, Function] = {}
        self.invocations: list[Invocation] = []
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._queued: set[asyncio.Task[None]] = set()

    def register(self, name: str, function: Function) -> None:
        """Serve ``function`` as ``name`` (replacing any function of that name)."""
        self.functions[name] = function
        self._slots[name] = asyncio.Semaphore(self.concurrency)

    def install(self, app: web.Application) -> None:
        app.router.add_post(INVOKE_PATH, self.invoke)

    async def settle(self) -> None:
        """Wait until no queued event is left (those queued meanwhile included)."""
        while self._queued:
            await asyncio.gather(*list(self._queued), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the events still queued or running."""
        for task in list(self._queued):
            task.cancel()
        await asyncio.gather(*list(self._queued), return_exceptions=True)

    async def invoke(self, request: web.Request) -> web.Response:
        """Invoke."""
        problem = signature_problem(
            request.headers.get("Authorization"), request.headers.get("X-Amz-Date")
        )
        if problem is not None:
            return aws_error(403, "AccessDeniedException", problem)
        name = function_name(request.match_info["function"])
        function = self.functions.get(name)
        if function is None:
            return aws_error(404, "ResourceNotFoundException", f"Function not found: {name}")
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind not in ("Event", "RequestResponse", "DryRun"):
            return aws_error(400, "InvalidParameterValueException",
                             f"invocation type: expected Event, RequestResponse or DryRun, "
                             f"got {kind!r}")  # fmt: skip
        if kind == "DryRun":
            return web.Response(status=204)
        body = await request.read()
        limit = MAX_EVENT_BYTES if kind == "Event" else MAX_SYNC_BYTES
        if len(body) > limit:
            return aws_error(413, "RequestTooLargeException",
                             f"{len(body)} byte payload is over the {limit} byte limit of "
                             f"{kind} invocations")  # fmt: skip
        try:
            event = json.loads(body) if body else {}
        except ValueError as exc:
            return aws_error(400, "InvalidRequestContentException",
                             f"Could not parse request body into json: {exc}")  # fmt: skip
        self.invocations.append(Invocation(name, kind, event))
        if kind == "Event":
            task = asyncio.create_task(self._run_event(name, function, event))
            self._queued.add(task)
            task.add_done_callback(self._queued.discard)
            return web.Response(status=202)
        async with self._slots[name]:
            try:
                result = await function(event)
            except Exception as exc:
                log.exception("function %s raised", name)
                return web.json_response(
                    {"errorMessage": str(exc), "errorType": type(exc).__name__},
                    headers={"X-Amz-Function-Error": "Unhandled",
                             "X-Amz-Executed-Version": "$LATEST"},
                )  # fmt: skip
        return web.json_response(result, headers={"X-Amz-Executed-Version": "$LATEST"})

    async def _run_event(self, name: str, function: Function, event: Mapping[str, Any]) -> None:
        async with self._slots[name]:
            try:
                await function(event)
            except Exception:  # Lambda logs it and, with no retry left, drops the event
                log.exception("function %s raised on an Event invocation", name)


__all__ = ["INVOKE_PATH", "Invocation", "LambdaApi", "function_name", "signature_problem"]
