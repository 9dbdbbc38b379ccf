"""``leaderboard up``: run the local service until Ctrl-C.

Uses the PostgreSQL that ``LEADERBOARD_DATABASE_URL`` names (and reads snapshots from
``LEADERBOARD_READER_URL``, else from that primary), or else starts the embedded
PostgreSQL primary and streaming replica under the data directory (persistent); says at
start-up which; applies migrations, serves WebSocket, REST, @connections and the spectator
pages on one port, prints the URLs and development tokens, and with ``--demo`` creates a
board and runs simulated players (through the client SDK, with a server token) so a live
board shows at once. Ctrl-C (or SIGTERM) stops everything (exit status 0). If the
embedded PostgreSQL dies and cannot be restarted (see ``runtime.supervisor``), the
service stops and exits with status 1, for an outer supervisor to take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from pathlib import Path

from core.boards import BoardSpec
from core.errors import Conflict
from core.settings import Settings
from runtime.app import LOCAL_BROADCASTER, LocalRuntime, Mount

DEMO_BOARD = "demo-arena"


def _mounts() -> list[Mount]:
    from runtime.asyncapi import mount_asyncapi
    from runtime.pages import mount_pages
    from runtime.rest_gateway import mount_rest

    return [mount_rest, mount_asyncapi, mount_pages]


async def _demo(runtime: LocalRuntime, token: str, stop: asyncio.Event) -> None:
    """Simulated players, through the SDK as a game server: a few scores per second."""
    from leaderboard_client import LeaderboardClient

    with contextlib.suppress(Conflict):
        await runtime.store.create_board(BoardSpec(id=DEMO_BOARD, metadata={"title": "Demo arena"}))
    rng = random.Random()
    players = [f"bot-{i:02d}" for i in range(40)]
    async with LeaderboardClient.connect(runtime.ws_url, token) as lb:
        while not stop.is_set():
            await lb.submit(DEMO_BOARD, rng.randrange(0, 100_000), player=rng.choice(players))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(0.1, 0.6))


async def serve(settings: Settings, *, demo: bool = False) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from authorizer.tokens import mint_token
    from runtime.cli import more_tokens_hint

    # LEADERBOARD_DATABASE_URL: your PostgreSQL (migrated at start) instead of the embedded
    # one; LEADERBOARD_READER_URL: its replica for snapshot reads (else the primary).
    runtime = LocalRuntime(
        settings, dsn=settings.database_url, reader_dsn=settings.reader_url,
        data_dir=Path(settings.data_dir), host=settings.host, port=settings.port,
        mounts=_mounts(),
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with runtime:
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
        spectator = mint_token(secret=secret, player_id=None, role="spectator",
                               issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                               ttl_s=24 * 3600, subject="dev-spectator")  # fmt: skip
        player = mint_token(secret=secret, player_id="dev-player", role="player",
                            issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                            ttl_s=24 * 3600)  # fmt: skip
        game_server = mint_token(secret=secret, player_id=None, role="server",
                                 issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                                 ttl_s=24 * 3600, subject="demo-players")  # fmt: skip
        print(f"\nleaderboard is up\n"
              f"  HTTP        {runtime.http_url}  (health: {runtime.http_url}/health)\n"
              f"  WebSocket   {runtime.ws_url}?token=<token>\n"
              f"  @connections {runtime.management_url}/@connections/<id>\n"
              f"  Lambda Invoke {runtime.lambda_url}/2015-03-31/functions/"
              f"{settings.broadcast_function_name or LOCAL_BROADCASTER}/invocations\n"
              f"  database    {runtime.describe_databases()}\n"
              f"  spectator   {runtime.http_url}/?token={spectator}\n"
              f"  player token     {player}\n"
              f"  spectator token  {spectator}\n"
              f"  more tokens: {more_tokens_hint(settings.data_dir)}\n"
              f"Ctrl-C stops everything.\n", flush=True)  # fmt: skip
        demo_task = asyncio.create_task(_demo(runtime, game_server, stop)) if demo else None
        failed = asyncio.create_task(runtime.failed.wait())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({failed, stopped}, return_when=asyncio.FIRST_COMPLETED)
        failed.cancel()
        stopped.cancel()
        stop.set()
        if demo_task is not None:
            with contextlib.suppress(Exception):
                await demo_task
    if runtime.failed.is_set():
        print("leaderboard: the database could not be restarted; exiting", flush=True)
        return 1
    return 0
