"""The Python client SDK: connect with a token, submit, and follow live views.

    async with LeaderboardClient.connect(url, token) as lb:
        ack = await lb.submit("arena", 1200)
        async for state in lb.subscribe("arena", view="top", n=10):
            print(state.seq, [(e.player, e.rank) for e in state.entries])

The resync rule lives in :class:`~client.tracking.ViewTracker` (no I/O); the socket,
request/reply correlation and resubscription live in :class:`~client.session.LeaderboardClient`.
"""

from client.session import LeaderboardClient, ServerError
from client.tracking import ViewState, ViewTracker

__all__ = ["LeaderboardClient", "ServerError", "ViewState", "ViewTracker"]
