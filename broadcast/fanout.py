"""The broadcaster's concurrent ``@connections`` adapter, and the sharding of big fan-outs.

:class:`ConnectionsApiSender` is the AWS adapter of the send-to-connection port
(:class:`connect.sender.Sender`): it POSTs each frame to
``{endpoint}/@connections/{url-quoted id}`` (API Gateway Management API), signed with
SigV4 for ``execute-api`` by botocore, over one shared aiohttp session. The local
runtime serves the same routes, so the same code runs against it.

Outcomes: every post ends as one :class:`PostResult` (delivered, gone or failed);
:meth:`ConnectionsApiSender.fan_out` collects them into a :class:`FanoutReport` and
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

Sharding: :func:`shard` splits frames into :class:`Shard` values, each a compact
JSON-ready payload (distinct bodies listed once + ``(connection id, body index)`` pairs)
under a byte budget that fits Lambda's 256 KB asynchronous payload. With an ``invoke``
hook and more than ``shard_threshold`` frames, the sender posts the first shard itself
and hands the others to separate invocations (fire and forget: those invocations report
and forget their own gone connections); a shard whose dispatch fails is posted here.
Without the hook (the local runtime) every frame is posted here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Self
from urllib.parse import quote

import aiohttp
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from pydantic import BaseModel, ConfigDict, model_validator
from yarl import URL

from core.errors import ConnectionGone, PayloadTooLarge, ServerError, Unavailable
from core.ids import ConnectionId

log = logging.getLogger("leaderboard.broadcast.fanout")

SERVICE: Final = "execute-api"
DEFAULT_CONCURRENCY: Final = 256
MAX_ASYNC_INVOKE_BYTES: Final = 256 * 1024
"""Lambda's limit on an asynchronous (``Event``) invocation payload."""
MAX_SHARD_BYTES: Final = 250_000
"""A shard's compact JSON size cap: leaves room for the event envelope around it."""
THROTTLING_ERRORS: Final = frozenset({"LimitExceededException", "TooManyRequestsException",
                                      "ThrottlingException"})  # fmt: skip
GONE_ERRORS: Final = frozenset({"GoneException"})
TRANSPORT_ERRORS: Final = (aiohttp.ClientError, TimeoutError, OSError)

Invoke = Callable[[dict[str, Any]], Awaitable[None]]
"""Hands one shard payload to a separate invocation (e.g. Lambda ``InvocationType=Event``)."""
Frames = Sequence[tuple[ConnectionId, str]]


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
    """What a fan-out did with its frames; frames handed to other invocations are
    counted in ``dispatched`` and not otherwise (their invocations report them)."""

    delivered: int = 0
    gone: list[ConnectionId] = field(default_factory=list)
    failed: list[PostResult] = field(default_factory=list)
    dispatched: int = 0
    shards_dispatched: int = 0

    def add(self, result: PostResult) -> None:
        if result.outcome is Outcome.DELIVERED:
            self.delivered += 1
        elif result.outcome is Outcome.GONE:
            self.gone.append(result.connection_id)
        else:
            self.failed.append(result)

    def merge(self, other: FanoutReport) -> None:
        self.delivered += other.delivered
        self.gone.extend(other.gone)
        self.failed.extend(other.failed)
        self.dispatched += other.dispatched
        self.shards_dispatched += other.shards_dispatched


# --- sharding (no I/O) -----------------------------------------------------------------


class Shard(BaseModel):
    """A compact, JSON-ready slice of a fan-out: each distinct body once, then
    ``(connection id, index into bodies)`` pairs in posting order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = 1
    bodies: tuple[str, ...]
    targets: tuple[tuple[str, int], ...]

    @model_validator(mode="after")
    def _indices_in_range(self) -> Self:
        if self.v != 1:
            raise ValueError(f"unsupported shard version: expected 1, got {self.v}")
        n = len(self.bodies)
        for cid, index in self.targets:
            if not 0 <= index < n:
                raise ValueError(
                    f"body index of {cid!r} out of range: expected 0..{n - 1}, got {index}"
                )
        return self

    def frames(self) -> list[tuple[ConnectionId, str]]:
        """The shard's frames, in posting order."""
        return [(ConnectionId(cid), self.bodies[i]) for cid, i in self.targets]

    def __len__(self) -> int:
        return len(self.targets)


def encode_shard(payload: Mapping[str, Any]) -> str:
    """The compact JSON of a shard payload (the encoding the size budget assumes)."""
    return json.dumps(payload, separators=(",", ":"))


_ENVELOPE_BYTES: Final = len(encode_shard({"v": 1, "bodies": [], "targets": []}))


@dataclass(slots=True)
class _ShardBuilder:
    """One shard being filled; ``size`` is the exact length of its compact JSON."""

    index: dict[str, int] = field(default_factory=dict)
    targets: list[tuple[str, int]] = field(default_factory=list)
    size: int = _ENVELOPE_BYTES

    def cost(self, cid: str, bodies: Sequence[str], sizes: Mapping[str, int]) -> int:
        """Bytes that appending ``bodies`` for ``cid`` would add to the compact JSON."""
        added, fresh, n_targets = 0, dict[str, int](), len(self.targets)
        cid_bytes = len(json.dumps(cid))
        for body in bodies:
            i = self.index.get(body)
            if i is None:
                i = fresh.get(body)
            if i is None:
                i = fresh[body] = len(self.index) + len(fresh)
                added += sizes[body] + (1 if i else 0)  # the body and its comma
            added += cid_bytes + len(str(i)) + 3 + (1 if n_targets else 0)  # [cid,i] + comma
            n_targets += 1
        return added

    def add(self, cid: str, body: str, sizes: Mapping[str, int]) -> None:
        self.size += self.cost(cid, (body,), sizes)
        i = self.index.get(body)
        if i is None:
            i = self.index[body] = len(self.index)
        self.targets.append((cid, i))

    def build(self) -> Shard:
        return Shard(bodies=tuple(self.index), targets=tuple(self.targets))


def group_by_connection(frames: Frames) -> dict[ConnectionId, list[str]]:
    """Frames per connection, connections in first-seen order, bodies in call order."""
    groups: dict[ConnectionId, list[str]] = {}
    for cid, body in frames:
        groups.setdefault(cid, []).append(body)
    return groups


def shard(frames: Frames, max_per_shard: int, *, max_bytes: int = MAX_SHARD_BYTES) -> list[Shard]:
    """Split ``frames`` into shards of at most ``max_per_shard`` frames and ``max_bytes``
    of compact JSON (:func:`encode_shard`).

    Pure and deterministic. A connection's frames stay in one shard, in order, unless
    they alone exceed a cap (then they continue in the next shard). Raises
    :class:`~core.errors.PayloadTooLarge` for a single frame over ``max_bytes``.
    """
    if max_per_shard < 1:
        raise ValueError(f"max_per_shard must be at least 1, got {max_per_shard}")
    sizes: dict[str, int] = {}
    for _, body in frames:
        if body not in sizes:
            sizes[body] = len(json.dumps(body))
    shards: list[Shard] = []
    current = _ShardBuilder()
    for cid, bodies in group_by_connection(frames).items():
        if current.targets and (
            len(current.targets) + len(bodies) > max_per_shard
            or current.size + current.cost(cid, bodies, sizes) > max_bytes
        ):
            shards.append(current.build())
            current = _ShardBuilder()
        for body in bodies:
            if current.targets and (
                len(current.targets) >= max_per_shard
                or current.size + current.cost(cid, (body,), sizes) > max_bytes
            ):
                shards.append(current.build())
                current = _ShardBuilder()
            if current.size + current.cost(cid, (body,), sizes) > max_bytes:
                raise PayloadTooLarge(
                    f"a frame to {cid!r} does not fit a shard: expected at most "
                    f"{max_bytes} bytes of shard JSON, got a {sizes[body]}-byte body"
                )
            current.add(cid, body, sizes)
    if current.targets:
        shards.append(current.build())
    return shards


def shard_payload(s: Shard) -> dict[str, Any]:
    """The JSON-ready payload of a shard (lists, strings and ints only)."""
    return s.model_dump(mode="json")


def frames_of(payload: Mapping[str, Any]) -> list[tuple[ConnectionId, str]]:
    """The frames of a shard payload (the inverse of :func:`shard_payload`); raises
    pydantic's ``ValidationError`` naming what is malformed."""
    return Shard.model_validate(payload).frames()


def lambda_invoker(function_name: str, *, client: Any | None = None) -> Invoke:
    """An :data:`Invoke` hook that starts ``function_name`` asynchronously with
    ``{"source": "fanout", "shard": payload}`` (boto3 runs in a worker thread)."""
    if client is None:
        import boto3

        client = boto3.client("lambda")

    async def invoke(payload: dict[str, Any]) -> None:
        event = json.dumps({"source": "fanout", "shard": payload}, separators=(",", ":"))
        await asyncio.to_thread(
            client.invoke, FunctionName=function_name, InvocationType="Event", Payload=event
        )

    return invoke


# --- the adapter --------------------------------------------------------------------

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
        invoke: Invoke | None = None,
        shard_threshold: int = 5000,
        shard_size: int | None = None,
        max_shard_bytes: int = MAX_SHARD_BYTES,
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
        shard_size = shard_threshold if shard_size is None else shard_size
        if not 1 <= shard_size <= shard_threshold:
            raise ValueError(
                f"shard_size must be in 1..shard_threshold ({shard_threshold}), got {shard_size}"
            )
        self.endpoint_url = endpoint_url.rstrip("/")
        self._host = URL(self.endpoint_url).host_port_subcomponent or ""
        self.region = region
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.invoke = invoke
        self.shard_threshold = shard_threshold
        self.shard_size = shard_size
        self.max_shard_bytes = max_shard_bytes
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
        return (await self.fan_out(frames)).gone

    async def close(self) -> None:
        """Close the session if this sender opened it (idempotent)."""
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    # --- fan-out ---

    async def fan_out(self, frames: Frames) -> FanoutReport:
        """Post every frame (or dispatch shards of them); never raises for a connection."""
        if self.invoke is None or len(frames) <= self.shard_threshold:
            return await self.deliver(frames)
        first, *rest = shard(frames, self.shard_size, max_bytes=self.max_shard_bytes)
        parts = await asyncio.gather(self.deliver(first.frames()),
                                     *(self._dispatch(s) for s in rest))  # fmt: skip
        report = FanoutReport()
        for part in parts:
            report.merge(part)
        return report

    async def _dispatch(self, s: Shard) -> FanoutReport:
        assert self.invoke is not None
        try:
            await self.invoke(shard_payload(s))
        except Exception:
            log.exception("dispatch of a %d-frame shard failed; posting it here", len(s))
            return await self.deliver(s.frames())
        return FanoutReport(dispatched=len(s), shards_dispatched=1)

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
    "MAX_ASYNC_INVOKE_BYTES",
    "MAX_SHARD_BYTES",
    "ConnectionsApiSender",
    "DeliveryFailed",
    "FanoutReport",
    "Invoke",
    "Outcome",
    "PostResult",
    "RetryPolicy",
    "Shard",
    "Verdict",
    "classify",
    "encode_shard",
    "error_type",
    "frames_of",
    "group_by_connection",
    "lambda_invoker",
    "shard",
    "shard_payload",
]
