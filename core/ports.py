"""The ports: what the service needs from the world outside the database, as interfaces.

Each port has one adapter per place the service runs:

=====================  ========================================  ==============================
port                   on AWS (``aws/``)                          local runtime (``runtime/``)
=====================  ========================================  ==============================
:class:`Sender`        ``aws.connections.ConnectionsApiSender``   ``runtime.inprocess.InProcessSender``
                       (``@connections``, SigV4, retries)         (writes to the sockets)
:class:`Waker`         ``aws.invoke.LambdaWaker``                 ``runtime.broadcasting.BroadcastLoop``
                       (Lambda ``Invoke``, asynchronous)          (runs the broadcaster in-process)
:class:`SecretReader`  ``aws.secrets.SecretsManagerReader``       none: values come from settings
=====================  ========================================  ==============================

The route handlers, the broadcaster and the REST API are written against these, so the
same code runs on both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from core.ids import ConnectionId

Frames = Sequence[tuple[ConnectionId, str]]
"""Frames to send, in order: ``(connection id, text)`` pairs."""


class Sender(Protocol):
    """Sends text frames to WebSocket connections."""

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        """Deliver one frame; raises :class:`~core.errors.ConnectionGone` if the connection
        no longer exists."""

    async def send_many(self, frames: Frames) -> list[ConnectionId]:
        """Deliver many frames concurrently, each connection's in order; returns the
        connections found gone. Never raises for one connection."""


class Waker(Protocol):
    """Starts a broadcaster run with a payload, without waiting for it (fire and forget).

    Payloads are the broadcaster's: ``{"source": "postgres", "board": id}`` (a wake-up)
    and ``{"source": "fanout", "shard": {...}}`` (part of a large fan-out handed over).
    """

    async def wake(self, payload: Mapping[str, Any]) -> None:
        """Hand ``payload`` to a broadcaster run; raises if it could not be handed over."""


class SecretReader(Protocol):
    """Reads a secret's string value by its name or ARN (blocking; cached by adapters)."""

    def read(self, secret_id: str) -> str:
        """The secret's value; raises :class:`~core.errors.Unavailable` when unreadable."""


def group_by_connection(frames: Frames) -> dict[ConnectionId, list[str]]:
    """Frames per connection, connections in first-seen order, bodies in call order."""
    groups: dict[ConnectionId, list[str]] = {}
    for cid, body in frames:
        groups.setdefault(cid, []).append(body)
    return groups
