"""The Python client SDK: connect with a token, submit, and follow live views.

    async with LeaderboardClient.connect(url, token) as lb:
        ack = await lb.submit("arena", 1200)
        async for state in await lb.subscribe("arena", view="top", n=10):
            print(state.seq, [(e.player, e.rank) for e in state.entries])

Modules, by what they own:

- :mod:`leaderboard_client.tracking`: the sequence rule (snapshot, update, stale, gap), no I/O;
- :mod:`leaderboard_client.submissions`: the submit messages and the typed :class:`Ack`;
- :mod:`leaderboard_client.errors`: the SDK's one exception tree, one class per error the service
  can send;
- :mod:`leaderboard_client.outbox`: the optional durable outbox of unacked submits (SQLite);
- :mod:`leaderboard_client.session`: the socket, request/reply correlation, retries, reconnects
  and resubscription.

The guide is ``docs/sdk.md``.
"""

from leaderboard_client.errors import (
    BadRequestError,
    ConflictError,
    ConnectionLost,
    ForbiddenError,
    InternalError,
    LeaderboardError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    RequestTimeout,
    ServerError,
    UnauthorizedError,
    UnavailableError,
)
from leaderboard_client.outbox import Outbox
from leaderboard_client.session import LeaderboardClient, Subscription
from leaderboard_client.submissions import Ack, SubmitResult
from leaderboard_client.tracking import Entry, ViewState, ViewTracker

__all__ = [
    "Ack",
    "BadRequestError",
    "ConflictError",
    "ConnectionLost",
    "Entry",
    "ForbiddenError",
    "InternalError",
    "LeaderboardClient",
    "LeaderboardError",
    "NotFoundError",
    "Outbox",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RequestTimeout",
    "ServerError",
    "SubmitResult",
    "Subscription",
    "UnauthorizedError",
    "UnavailableError",
    "ViewState",
    "ViewTracker",
]
