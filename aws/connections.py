"""The one ``@connections`` client: posts frames to WebSocket connections on AWS.

:class:`ConnectionsApiSender` is the AWS adapter of :class:`core.ports.Sender`, used by
every function that posts to a connection (the route handlers' replies and the
broadcaster's fan-outs). It POSTs each frame to ``{endpoint}/@connections/{url-quoted
id}`` (API Gateway Management API), signed with SigV4 for ``execute-api`` by botocore,
over one shared aiohttp session. The local runtime serves the same routes, so the same
code runs against it.

Outcomes: every post ends as one :class:`PostResult` (delivered, gone or failed);
:meth:`ConnectionsApiSender.deliver` collects them into a :class:`FanoutReport` and
never raises for a single connection. ``send_many`` returns the gone ids; ``send``
raises :class:`~core.errors.ConnectionGone` (410) or :class:`DeliveryFailed`.

Decisions are values: :func:`classify` maps a response to a :class:`Verdict`, and
:meth:`RetryPolicy.delay` gives the backoff. Throttling (429, ``LimitExceededException``,
``TooManyRequestsException``) is retried with exponential backoff and full jitter; 5xx
and transport errors a few times; other 4xx (403 ``ForbiddenException``, 413
``PayloadTooLargeException``...) are logged and counted as failed, not gone. Retries
may deliver a frame twice (a lost response); clients drop a repeated ``seq``.

Concurrency and ordering: at most ``concurrency`` requests are in flight per sender
(across concurrent calls). The frames of one connection are posted one after another,
in call order; different connections never wait for each other.

The endpoint is built from apiId, region and stage (:func:`management_endpoint`), never
from ``domainName``, which is the custom name under a custom domain and does not serve
``@connections``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final
from urllib.parse import quote

import aiohttp
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from yarl import URL

from core.errors import ConnectionGone, ServerError, Unavailable
from core.ids import ConnectionId
from core.ports import Frames, group_by_connection

log = logging.getLogger("leaderboard.aws.connections")

SERVICE: Final = "execute-api"
DEFAULT_CONCURRENCY: Final = 256
THROTTLING_ERRORS: Final = frozenset({"LimitExceededException", "TooManyRequestsException",
                                      "ThrottlingException"})  # fmt: skip
GONE_ERRORS: Final = frozenset({"GoneException"})
TRANSPORT_ERRORS: Final = (aiohttp.ClientError, TimeoutError, OSError)


def management_endpoint(api_id: str, region: str, stage: str) -> str:
    """The ``@connections`` endpoint of a WebSocket API stage."""
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"


class DeliveryFailed(ServerError):
    """A frame could not be delivered: refused (4xx), or retries ran out (throttled, 5xx)."""

    status = 502
    code = "delivery_failed"


# --- decisions (no I/O) ------------------------------------------------------------


class Verdict(StrEnum):
    """What one ``@connections`` answer means for the post."""

    DELIVERED = "delivered"
    GONE = "gone"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    """5xx or a transport error: worth a few retries."""
    REFUSED = "refused"
    """Any other 4xx: retrying the same request fails again."""


def error_type(header: str | None) -> str | None:
    """The bare error name of ``x-amzn-ErrorType`` (``Name:http://...`` -> ``Name``)."""
    if not header:
        return None
    return header.split(":", 1)[0].strip() or None


def classify(status: int, error: str | None) -> Verdict:
    """The verdict on one response: its HTTP status and bare ``x-amzn-ErrorType``."""
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410 or error in GONE_ERRORS:
        return Verdict.GONE
    if status == 429 or error in THROTTLING_ERRORS:
        return Verdict.THROTTLED
    if status >= 500:
        return Verdict.UNAVAILABLE
    return Verdict.REFUSED


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter.

    The n-th retry (n = 0, 1, ...) waits ``jitter() * min(cap_s, base_s * 2**n)``.
    ``throttle_attempts`` and ``unavailable_attempts`` count every attempt, the first
    included, and bound each kind of failure separately.
    """

    throttle_attempts: int = 6
    unavailable_attempts: int = 3
    base_s: float = 0.05
    cap_s: float = 2.0
    jitter: Callable[[], float] = random.random

    def attempts_for(self, verdict: Verdict) -> int:
        """How many attempts a post may take when it keeps getting ``verdict``."""
        if verdict is Verdict.THROTTLED:
            return self.throttle_attempts
        if verdict is Verdict.UNAVAILABLE:
            return self.unavailable_attempts
        return 1

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        return self.jitter() * min(self.cap_s, self.base_s * 2.0**retry)


# --- results -------------------------------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PostResult:
    """How one post ended; ``status``/``error``/``message`` describe the last answer."""

    connection_id: ConnectionId
    outcome: Outcome
    attempts: int
    status: int | None = None
    error: str | None = None
    message: str = ""


@dataclass(slots=True)
class FanoutReport:
    """What a fan-out did with its frames."""

    delivered: int = 0
    gone: list[ConnectionId] = field(default_factory=list)
    failed: list[PostResult] = field(default_factory=list)

    def add(self, result: PostResult) -> None:
        if result.outcome is Outcome.DELIVERED:
            self.delivered += 1
        elif result.outcome is Outcome.GONE:
            self.gone.append(result.connection_id)
        else:
            self.failed.append(result)


PAYLOAD_DIGEST: Final = "payload_sha256"
"""``AWSRequest.context`` key of a body's precomputed SHA-256 (hex)."""


class _Signer(SigV4Auth):
    """botocore's SigV4 for ``execute-api``, taking a body's hash from the request context
    when the caller computed it once for many posts. Output is byte-identical."""

    def __init__(self, credentials: ReadOnlyCredentials, region: str) -> None:
        super().__init__(credentials, SERVICE, region)

    def payload(self, request: AWSRequest) -> str:
        digest = request.context.get(PAYLOAD_DIGEST)
        return digest if isinstance(digest, str) else str(super().payload(request))


@dataclass(frozen=True, slots=True)
class _Body:
    """A frame body encoded once for all its posts."""

    data: bytes
    digest: str

    @classmethod
    def of(cls, text: str) -> _Body:
        data = text.encode()
        return cls(data, hashlib.sha256(data).hexdigest())


class ConnectionsApiSender:
    """Posts frames to ``@connections`` concurrently (SigV4, one shared aiohttp session).

    ``credentials`` default to botocore's default chain (the Lambda role), resolved at
    construction so a missing one fails at cold start. ``session`` may be shared with
    the caller, who then closes it; otherwise the sender opens one lazily on the running
    loop and :meth:`close` closes it.
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        credentials: Credentials | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if credentials is None:
            credentials = botocore.session.get_session().get_credentials()
            if credentials is None:
                raise Unavailable(
                    "no AWS credentials: expected the Lambda role or botocore's default "
                    "chain (environment, profile, container or instance role), got none"
                )
        self.endpoint_url = endpoint_url.rstrip("/")
        self._host = URL(self.endpoint_url).host_port_subcomponent or ""
        self.region = region
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self._credentials = credentials
        self._signer: _Signer | None = None
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._slots = asyncio.Semaphore(concurrency)

    # --- the Sender port ---

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        """Deliver one frame; raises ConnectionGone (410) or DeliveryFailed."""
        result = await self._post(connection_id, _Body.of(data))
        if result.outcome is Outcome.GONE:
            raise ConnectionGone(f"connection {connection_id!r} is gone")
        if result.outcome is Outcome.FAILED:
            raise DeliveryFailed(
                f"post to {connection_id!r} failed: expected 200, got {result.status} "
                f"{result.error or ''} after {result.attempts} attempt(s): {result.message}",
                status_code=result.status, error=result.error,
            )  # fmt: skip

    async def send_many(self, frames: Frames) -> list[ConnectionId]:
        """Deliver many frames concurrently; returns the connections found gone."""
        return (await self.deliver(frames)).gone

    async def close(self) -> None:
        """Close the session if this sender opened it (idempotent)."""
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    # --- fan-out ---

    async def deliver(self, frames: Frames) -> FanoutReport:
        """Post every frame from here: connections concurrently (bounded), each
        connection's frames in order; after a connection is gone, its later frames are
        skipped."""
        report = FanoutReport()
        grouped = group_by_connection(frames)
        groups = iter(grouped.items())
        encoded: dict[str, _Body] = {}

        async def work() -> None:
            for cid, bodies in groups:  # one shared iterator: each group taken once
                for body in bodies:
                    data = encoded.get(body)
                    if data is None:
                        data = encoded[body] = _Body.of(body)
                    result = await self._post(cid, data)
                    report.add(result)
                    if result.outcome is Outcome.GONE:
                        break

        await asyncio.gather(*(work() for _ in range(min(self.concurrency, len(grouped)))))
        return report

    # --- one post ---

    async def _post(self, connection_id: ConnectionId, body: _Body) -> PostResult:
        """POST one frame, retrying throttling and 5xx per the policy; never raises
        (except cancellation)."""
        url = f"{self.endpoint_url}/@connections/{quote(connection_id, safe='')}"
        attempt = 0
        while True:
            attempt += 1
            status: int | None = None
            error: str | None = None
            try:
                async with self._slots:
                    status, error, message = await self._attempt(url, body)
                verdict = classify(status, error)
            except TRANSPORT_ERRORS as exc:
                verdict, message = Verdict.UNAVAILABLE, f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # signing or a bug: this post fails, the fan-out goes on
                log.exception("post to %r raised", connection_id)
                verdict, message = Verdict.REFUSED, f"{type(exc).__name__}: {exc}"
            if verdict is Verdict.DELIVERED:
                return PostResult(connection_id, Outcome.DELIVERED, attempt, status)
            if verdict is Verdict.GONE:
                return PostResult(connection_id, Outcome.GONE, attempt, status, error, message)
            if attempt >= self.retry.attempts_for(verdict):
                log.warning(
                    "post to %r failed (%s): status %s %s after %d attempt(s): %s",
                    connection_id, verdict, status, error, attempt, message,
                )  # fmt: skip
                return PostResult(connection_id, Outcome.FAILED, attempt, status, error, message)
            await asyncio.sleep(self.retry.delay(attempt - 1))

    async def _attempt(self, url: str, body: _Body) -> tuple[int, str | None, str]:
        headers = self._sign(url, body)
        session = self._open_session()
        async with session.post(
            URL(url, encoded=True), data=body.data, headers=headers, timeout=self._timeout
        ) as resp:
            answer = await resp.read()
            if resp.status < 300:
                return resp.status, None, ""
            error = error_type(resp.headers.get("x-amzn-ErrorType"))
            return resp.status, error, _message(answer)

    def _sign(self, url: str, body: _Body) -> dict[str, str]:
        """SigV4 headers (Host, X-Amz-Date, Authorization[, X-Amz-Security-Token])."""
        frozen = self._credentials.get_frozen_credentials()
        if self._signer is None or self._signer.credentials != frozen:
            self._signer = _Signer(frozen, self.region)  # first use, or rotated keys
        # An explicit Host (as sent) spares botocore parsing it out of the URL twice.
        request = AWSRequest(method="POST", url=url, data=body.data, headers={"Host": self._host})
        request.context[PAYLOAD_DIGEST] = body.digest
        self._signer.add_auth(request)
        return dict(request.headers.items())

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.concurrency, ttl_dns_cache=300),
                timeout=self._timeout,
                skip_auto_headers=("User-Agent",),
            )
            self._owns_session = True
        return self._session


def _message(body: bytes) -> str:
    """The ``message`` of an AWS JSON error body, else the body's start."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace")
    if isinstance(parsed, dict):
        return str(parsed.get("message") or parsed.get("Message") or "")[:200]
    return str(parsed)[:200]


__all__ = [
    "DEFAULT_CONCURRENCY",
    "ConnectionsApiSender",
    "DeliveryFailed",
    "FanoutReport",
    "Outcome",
    "PostResult",
    "RetryPolicy",
    "Verdict",
    "classify",
    "error_type",
    "management_endpoint",
]
