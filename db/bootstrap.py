"""Cold-start wiring for the Lambdas: settings, database credentials, pools, a loop.

On AWS the DSNs carry no password: ``db_secret_arn`` names the Secrets Manager secret
(the RDS-generated JSON with ``username``/``password``/``host``/``port``/``dbname``), read
once per container. Pools are small and opened once per container, then reused by every
invocation on the container's one event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from core.errors import ServerError
from core.settings import Settings

T = TypeVar("T")


def with_credentials(dsn: str, secret: dict[str, Any]) -> str:
    """``dsn`` with the user and password of an RDS secret (host and db kept from the DSN)."""
    parts = urlsplit(dsn)
    user = quote(str(secret["username"]), safe="")
    password = quote(str(secret["password"]), safe="")
    host = parts.hostname or str(secret.get("host", ""))
    port = parts.port or secret.get("port", 5432)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}:{port}"))


def fetch_secret(secret_arn: str, region: str) -> dict[str, Any]:  # pragma: no cover - AWS only
    import boto3

    client = boto3.client("secretsmanager", region_name=region)
    value = client.get_secret_value(SecretId=secret_arn)["SecretString"]
    parsed: dict[str, Any] = json.loads(value)
    return parsed


@dataclass(frozen=True)
class Dsns:
    primary: str
    reader: str | None


def resolve_dsns(settings: Settings) -> Dsns:
    """The primary and reader DSNs, with credentials from Secrets Manager when configured."""
    if not settings.database_url:
        raise ServerError(
            "LEADERBOARD_DATABASE_URL is not set: a Lambda needs the proxy endpoint",
            code="misconfigured",
        )
    primary, reader = settings.database_url, settings.reader_url
    if settings.db_secret_arn:
        secret = fetch_secret(settings.db_secret_arn, settings.aws_region)
        primary = with_credentials(primary, secret)
        reader = with_credentials(reader, secret) if reader else None
    return Dsns(primary, reader)


class LambdaLoop:
    """One event loop per container, so pools survive between invocations."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)


class Lazy:
    """A value built on first use, on the container's loop (cold start), then reused."""

    def __init__(self, build: Callable[[], Awaitable[Any]]) -> None:
        self._build = build
        self._value: Any = None

    async def get(self) -> Any:
        if self._value is None:
            self._value = await self._build()
        return self._value
