"""A bare front door: the ceiling the benchmarks measure the service against.

``python -m bench.bare --port P --dsn DSN`` serves, from one aiohttp process as the service
runs, the least a WebSocket leaderboard can do per message, with none of the service's
work (no authorizer, no API Gateway event shapes, no validation, no ranks, no feed, no
idempotency):

- ``GET /prod`` (WebSocket, without compression, as the service's front door): each text
  frame ``{"score": n, "request_id": r}`` is upserted into a plain table (one
  ``INSERT … ON CONFLICT`` through an asyncpg pool, committed) for the player named by
  the ``token`` query parameter, then acked with the SDK's ack shape.
- ``POST /prod/@connections/{id}``: answers 200 and does nothing, so the AWS adapter's
  own cost (SigV4 and HTTP) is measured alone.
- ``GET /fanout`` (WebSocket): a socket that is only held open (what it receives is read
  and dropped), the bare counterpart of a subscriber's connection to the service; like
  the service's front door it never negotiates compression.
- ``POST /fanout``: the request's body (one text frame, the same update frame the service
  sent its subscribers) is sent to every socket connected to ``/fanout`` by a plain loop,
  ``for ws in sockets: await ws.send_str(frame)``, one after another in this process's
  event loop; the answer is ``{"sockets": n, "sent": n, "send_s": t}``, where ``send_s``
  is the loop's wall time alone (no HTTP, no JSON). ``sent / send_s`` is
  ``fanout_bare_msgs_per_s`` in ``bench push``: a bare ``send()`` loop over the same
  number of server-side sockets on the same machine, read by the same client process,
  beside the service's in-process fan-out (frames handed to its sockets per second of
  its broadcaster's send step). aiohttp frames each message again for each socket here;
  the service frames a shared body once and writes the same bytes to every socket, so
  its rate can exceed this loop's: the loop is the plain way to do it, not a bound.

It runs on the same machine, PostgreSQL and load generator as the service in the same
benchmark run. What it reaches is what this machine allows a front door built on these
libraries (aiohttp, asyncpg, botocore's SigV4 on the posting side); the service's figure
beside it is the price of everything it does on top.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Final

import asyncpg
from aiohttp import WSMsgType, web

from bench.environment import raise_fd_limit, start_service, stop_service
from db.store import create_pool

READY: Final = "bare is up"

TABLE: Final = """
CREATE TABLE IF NOT EXISTS bench_bare (
    player_id text COLLATE "C" PRIMARY KEY, score bigint NOT NULL, updates integer NOT NULL)"""
UPSERT: Final = """
INSERT INTO bench_bare AS e (player_id, score, updates) VALUES ($1, $2, 1)
ON CONFLICT (player_id) DO UPDATE SET score = excluded.score, updates = e.updates + 1
RETURNING score"""
SOCKETS: Final = web.AppKey[set[web.WebSocketResponse]]("fanout_sockets")


def app(pool: asyncpg.Pool) -> web.Application:
    async def websocket(request: web.Request) -> web.WebSocketResponse:
        player = request.query.get("token", "anonymous")
        # no permessage-deflate, as the service's front door: the SDK offers it, and
        # accepting it would charge compression to this ceiling and to its clients alone
        ws = web.WebSocketResponse(max_msg_size=128 * 1024, compress=False)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            message = json.loads(msg.data)
            score = await pool.fetchval(UPSERT, player, int(message["score"]))
            await ws.send_str(json.dumps({
                "type": "ack", "request_id": message.get("request_id"),
                "board": message.get("board", ""), "submission_id": message.get("submission_id"),
                "results": [{"player": player, "score": score}],
            }))  # fmt: skip
        return ws

    async def post(_request: web.Request) -> web.Response:
        return web.Response()

    async def fanout_socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)  # as the service's front door
        await ws.prepare(request)
        request.app[SOCKETS].add(ws)
        try:
            async for _msg in ws:
                pass
        finally:
            request.app[SOCKETS].discard(ws)
        return ws

    async def fanout_send(request: web.Request) -> web.Response:
        frame = await request.text()
        live: set[web.WebSocketResponse] = request.app[SOCKETS]
        sockets = list(live)
        sent = 0
        began = time.perf_counter()
        for ws in sockets:
            if not ws.closed:
                await ws.send_str(frame)
                sent += 1
        send_s = time.perf_counter() - began
        return web.json_response({"sockets": len(sockets), "sent": sent, "send_s": send_s})

    application = web.Application()
    application[SOCKETS] = set()
    application.router.add_get("/prod", websocket)
    application.router.add_post("/prod/@connections/{connection_id}", post)
    application.router.add_get("/fanout", fanout_socket)
    application.router.add_post("/fanout", fanout_send)
    return application


async def serve(port: int, dsn: str) -> None:
    pool = await create_pool(dsn, min_size=4, max_size=20)  # the service's pool settings
    await pool.execute(TABLE)
    runner = web.AppRunner(app(pool), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(READY, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await pool.close()


class BareServer:
    """``python -m bench.bare`` in a subprocess, beside the service's."""

    def __init__(self, *, port: int, dsn: str) -> None:
        self.port = port
        self.proc = start_service(
            [sys.executable, "-m", "bench.bare", "--port", str(port), "--dsn", dsn],
            ready=READY, timeout_s=60, preexec_fn=raise_fd_limit,
        )  # fmt: skip

    def stop(self) -> None:
        stop_service(self.proc, timeout_s=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT is how BareServer stops it
        asyncio.run(serve(args.port, args.dsn))


if __name__ == "__main__":
    main()
