"""The one place that builds what a handler needs: :func:`open_services`.

Every Lambda handler (WebSocket routes, broadcaster, REST, schema jobs) and the local
runtime get their :class:`Services` here, so a route, the broadcaster and a REST read
see the same store, connections and ports wherever they run. What differs between AWS
and the local runtime is only which adapters are passed in:

- on AWS nothing is passed: the database URLs come from settings; the functions behind
  RDS Proxy connect as ``db_iam_user`` with a fresh IAM token per connection
  (``aws.rds_auth``), the migration function with the master secret from Secrets Manager
  (``db_secret_arn``); frames go to the stage's ``@connections``
  (``ws_api_id``/``ws_stage``), with retries; the broadcaster wakes runs of itself
  through Lambda ``Invoke`` (``broadcast_function_name``). Those adapters live in
  ``aws/`` and are imported only here, and only when built;
- the local runtime passes its DSNs (the embedded primary and replica) and its
  in-process sender and waker.

Pools are opened here and closed by :meth:`Services.close`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from core.errors import ServerError
from core.ids import ConnectionId
from core.ports import Frames, SecretReader, Sender, Waker
from db.connections import ConnectionStore
from db.store import Store

if TYPE_CHECKING:
    from core.settings import Settings


@dataclass(frozen=True)
class Dsns:
    """The primary's and the reader's connection strings (the reader may be absent)."""

    primary: str
    reader: str | None


def with_credentials(dsn: str, secret: Mapping[str, Any]) -> str:
    """``dsn`` with the user and password of an RDS secret (host and db kept from the DSN)."""
    parts = urlsplit(dsn)
    user = quote(str(secret["username"]), safe="")
    password = quote(str(secret["password"]), safe="")
    host = parts.hostname or str(secret.get("host", ""))
    port = parts.port or secret.get("port", 5432)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}:{port}"))


def resolve_dsns(settings: Settings, secrets: SecretReader | None = None) -> Dsns:
    """The primary and reader DSNs, with credentials from ``db_secret_arn`` when set."""
    if not settings.database_url:
        raise ServerError(
            "LEADERBOARD_DATABASE_URL is not set: expected the database (or proxy) endpoint",
            code="misconfigured",
        )
    primary, reader = settings.database_url, settings.reader_url
    if settings.db_secret_arn:
        if secrets is None:
            raise ServerError(
                "LEADERBOARD_DB_SECRET_ARN is set but there is no secret reader",
                code="misconfigured",
            )
        secret = json.loads(secrets.read(settings.db_secret_arn))
        primary = with_credentials(primary, secret)
        reader = with_credentials(reader, secret) if reader else None
    return Dsns(primary, reader)


class NoSender:
    """The sender of a process that has no WebSocket API to post to (the REST function):
    any send is a configuration error, raised loudly."""

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        raise ServerError(
            "this function has no @connections endpoint: expected LEADERBOARD_WS_API_ID",
            code="misconfigured",
        )

    async def send_many(self, frames: Frames) -> list[ConnectionId]:
        if frames:
            await self.send(frames[0][0], frames[0][1])
        return []


@dataclass(frozen=True)
class Services:
    """What every handler works with: settings, the store, the connection registry and
    the ports. Build with :func:`open_services`; close with :meth:`close`."""

    settings: Settings
    store: Store
    connections: ConnectionStore
    sender: Sender
    waker: Waker | None = None
    secrets: SecretReader | None = None

    async def close(self) -> None:
        """Close the pools (the ports' adapters live as long as the process)."""
        await self.store.close()


def _aws_secrets(settings: Settings) -> SecretReader:
    from aws.secrets import SecretsManagerReader

    return SecretsManagerReader(region=settings.aws_region)


def _aws_sender(settings: Settings) -> Sender:
    if not settings.ws_api_id:
        return NoSender()
    from aws.connections import ConnectionsApiSender, management_endpoint

    endpoint = settings.management_endpoint or management_endpoint(
        settings.ws_api_id, settings.aws_region, settings.ws_stage
    )
    return ConnectionsApiSender(endpoint_url=endpoint, region=settings.aws_region)


def _aws_iam_passwords(settings: Settings) -> Callable[[str], Callable[[], str]] | None:
    if not settings.db_iam_user:
        return None
    from aws.rds_auth import RdsIamAuth

    return RdsIamAuth(user=settings.db_iam_user, region=settings.aws_region).password_for


def _aws_waker(settings: Settings) -> Waker | None:
    if not settings.broadcast_function_name:
        return None
    from aws.invoke import LambdaWaker

    return LambdaWaker(
        settings.broadcast_function_name,
        region=settings.aws_region,
        endpoint_url=settings.lambda_endpoint,
    )


async def open_services(
    settings: Settings,
    *,
    dsn: str | None = None,
    reader_dsn: str | None = None,
    sender: Sender | None = None,
    waker: Waker | None = None,
    secrets: SecretReader | None = None,
) -> Services:
    """Open the pools and build the ports (see the module docstring).

    ``dsn`` (and ``reader_dsn``) override the settings' database URLs; without them the
    URLs and credentials come from settings and, on AWS, Secrets Manager. Adapters not
    given are AWS's, built from settings.
    """
    if secrets is None and (settings.db_secret_arn or settings.cursor_secret_arn):
        secrets = _aws_secrets(settings)
    passwords = None
    if dsn is None:
        dsns = resolve_dsns(settings, secrets)
        dsn, reader_dsn = dsns.primary, dsns.reader
        passwords = _aws_iam_passwords(settings)
    if sender is None:
        sender = _aws_sender(settings)
    if waker is None:
        waker = _aws_waker(settings)
    store = await Store.open(settings, dsn=dsn, reader_dsn=reader_dsn, passwords=passwords)
    connections = ConnectionStore(store.pool, ttl=timedelta(seconds=settings.connection_ttl_s))
    return Services(settings, store, connections, sender, waker, secrets)


__all__ = ["Dsns", "NoSender", "Services", "open_services", "resolve_dsns", "with_credentials"]
