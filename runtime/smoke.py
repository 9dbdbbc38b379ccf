"""``leaderboard smoke``: one player's score, end to end, against any deployment.

    leaderboard smoke --ws wss://…/dev --rest https://…/dev/ --token <server JWT>

Works the same against ``leaderboard up`` and a deployed stage: it speaks only the public
protocols (WebSocket frames of docs/protocol.md, the REST API under ``/v1``). In order:

1. the board (``--board``, default ``smoke``) exists over REST, created with
   ``--admin-token`` when it does not;
2. a WebSocket connection with the token subscribes to the board's top view and gets a
   ``snapshot``;
3. it submits a score for a fresh player (``smoke-<random>``), higher than any earlier
   run's, and gets an ``ack`` with the player's score, exact rank and the ladder's total;
4. an ``update`` of the top view arrives, following the snapshot (``prev_seq``), that
   shows the player with the acked score and rank;
5. REST, read until it has caught up with that update's seq (the replica may lag), shows
   the same score and rank for the player and on the top page.

Each check prints one line; the first mismatch or timeout ends the run. The exit status
is 0 only when every check passed. The token needs a role that may submit for another
player and subscribe: ``server``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlencode

import aiohttp
from pydantic import TypeAdapter, ValidationError

from core.protocol import AckFrame, ErrorFrame, SnapshotFrame, UpdateFrame

SERVER_FRAMES: Final = TypeAdapter(AckFrame | SnapshotFrame | UpdateFrame | ErrorFrame)
TOP_N: Final = 10


class SmokeFailed(Exception):
    """A check did not hold; the message says what was expected and what arrived."""


@dataclass
class SmokeReport:
    """Every check run so far, as ``(name, ok, detail)``."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)


@dataclass(frozen=True)
class SmokeTarget:
    ws_url: str
    rest_url: str
    token: str
    admin_token: str | None = None
    board: str = "smoke"
    timeout_s: float = 30.0


def _rest(base: str, path: str, **query: str | int) -> str:
    url = base.rstrip("/") + "/v1/" + path.lstrip("/")
    return f"{url}?{urlencode(query)}" if query else url


def _ws(base: str, token: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}token={quote(token, safe='')}"


class Smoke:
    """One smoke run against ``target``; ``out`` receives one line per check."""

    def __init__(self, target: SmokeTarget, *, out: Callable[[str], None] = print) -> None:
        self.target = target
        self.out = out
        self.report = SmokeReport()
        self.player = f"smoke-{secrets.token_hex(4)}"
        self.score = int(time.time() * 1000)

    def _check(self, name: str, ok: bool, detail: str) -> None:
        self.report.checks.append((name, ok, detail))
        self.out(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        if not ok:
            raise SmokeFailed(f"{name}: {detail}")

    async def run(self) -> SmokeReport:
        """Run every check (stops at the first failure); the report says how it went."""
        timeout = aiohttp.ClientTimeout(total=self.target.timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                await asyncio.wait_for(self._run(http), self.target.timeout_s)
        except SmokeFailed:
            pass
        except (TimeoutError, aiohttp.ClientError, OSError, ValidationError) as exc:
            self.report.checks.append(("smoke", False, f"{type(exc).__name__}: {exc}"))
            self.out(f"FAIL smoke: {type(exc).__name__}: {exc}")
        return self.report

    async def _run(self, http: aiohttp.ClientSession) -> None:
        await self._board(http)
        async with http.ws_connect(_ws(self.target.ws_url, self.target.token)) as ws:
            self._check("connect", True, "WebSocket open")
            snapshot = await self._subscribe(ws)
            ack = await self._submit(ws)
            update = await self._update(ws, snapshot, ack)
            await self._rest_agrees(http, ack, update.seq)

    # --- the checks ---

    async def _board(self, http: aiohttp.ClientSession) -> None:
        url = _rest(self.target.rest_url, f"boards/{quote(self.target.board, safe='')}")
        status, body = await self._get(http, url)
        if status == 404 and self.target.admin_token:
            created = await http.post(
                _rest(self.target.rest_url, "boards"),
                json={"id": self.target.board},
                headers={"Authorization": f"Bearer {self.target.admin_token}"},
            )
            async with created:
                self._check("create board", created.status in (200, 201, 409),
                            f"POST /v1/boards -> {created.status}")  # fmt: skip
            # REST reads come from a reader, which may not have the new board yet
            status, body = await self._get(http, url)
            while status == 404:
                await asyncio.sleep(0.2)
                status, body = await self._get(http, url)
        self._check("board", status == 200, f"GET /v1/boards/{self.target.board} -> {status} "
                    f"{'' if status == 200 else body}")  # fmt: skip

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> SnapshotFrame:
        await ws.send_json({"action": "subscribe", "board": self.target.board, "view": "top",
                            "n": TOP_N, "request_id": "smoke-subscribe"})  # fmt: skip
        frame = await self._frame(ws, lambda f: getattr(f, "request_id", None) == "smoke-subscribe")
        self._check("subscribe", isinstance(frame, SnapshotFrame),
                    f"expected a snapshot, got {frame.type}")  # fmt: skip
        assert isinstance(frame, SnapshotFrame)
        return frame

    async def _submit(self, ws: aiohttp.ClientWebSocketResponse) -> AckFrame:
        await ws.send_json({"action": "submit", "board": self.target.board, "score": self.score,
                            "player": self.player, "request_id": "smoke-submit"})  # fmt: skip
        frame = await self._frame(ws, lambda f: getattr(f, "request_id", None) == "smoke-submit")
        if not isinstance(frame, AckFrame):
            self._check("submit", False, f"expected an ack, got {frame.model_dump_json()}")
        assert isinstance(frame, AckFrame)
        (result,) = frame.results
        self._check(
            "submit",
            result.player == self.player and result.score == self.score and result.rank == 1,
            f"ack {self.player} score {result.score} rank {result.rank} of {result.total} "
            f"(expected score {self.score}, rank 1)",
        )
        return frame

    async def _update(
        self, ws: aiohttp.ClientWebSocketResponse, snapshot: SnapshotFrame, ack: AckFrame
    ) -> UpdateFrame:
        last_seq = snapshot.seq
        while True:
            frame = await self._frame(
                ws, lambda f: isinstance(f, UpdateFrame) and f.view_id == snapshot.view_id
            )
            assert isinstance(frame, UpdateFrame)
            self._check_in_order(frame, last_seq)
            last_seq = frame.seq
            mine = next((e for e in frame.entries if e.player == self.player), None)
            if mine is None:
                continue  # an earlier change of the board; ours follows
            (result,) = ack.results
            self._check("push", (mine.score, mine.rank) == (result.score, result.rank),
                        f"update seq {frame.seq} shows {self.player} score {mine.score} rank "
                        f"{mine.rank} (acked {result.score}, rank {result.rank})")  # fmt: skip
            return frame

    def _check_in_order(self, frame: UpdateFrame, last_seq: int) -> None:
        if frame.prev_seq != last_seq or frame.seq <= last_seq:
            self._check("push order", False, f"update prev_seq {frame.prev_seq} seq {frame.seq} "
                        f"after seq {last_seq}")  # fmt: skip

    async def _rest_agrees(self, http: aiohttp.ClientSession, ack: AckFrame, seq: int) -> None:
        (result,) = ack.results
        board = quote(self.target.board, safe="")
        player_url = _rest(self.target.rest_url, f"boards/{board}/players/{self.player}")
        while True:  # the REST reads may come from a replica a little behind
            status, body = await self._get(http, player_url)
            if status == 200 and body["as_of_seq"] >= seq:
                break
            if status not in (200, 404):
                self._check("rest standing", False, f"GET {player_url} -> {status} {body}")
            await asyncio.sleep(0.2)
        entry = body["entry"]
        self._check("rest standing", (entry["score"], entry["rank"]) == (result.score, result.rank),
                    f"as of seq {body['as_of_seq']}: score {entry['score']} rank {entry['rank']}")  # fmt: skip
        status, top = await self._get(http, _rest(self.target.rest_url, f"boards/{board}/top",
                                                  limit=TOP_N))  # fmt: skip
        listed = next((e for e in top.get("entries", []) if e["player_id"] == self.player), None)
        self._check("rest top", status == 200 and listed is not None
                    and (listed["score"], listed["rank"]) == (result.score, result.rank),
                    f"GET top -> {status}, {self.player}: {listed}")  # fmt: skip

    # --- I/O ---

    async def _get(self, http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.target.token}"}
        async with http.get(url, headers=headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text[:200]

    async def _frame(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        wanted: Callable[[AckFrame | SnapshotFrame | UpdateFrame | ErrorFrame], bool],
    ) -> AckFrame | SnapshotFrame | UpdateFrame | ErrorFrame:
        """The next frame ``wanted`` accepts; an error frame or a closed socket fails."""
        while True:
            message = await ws.receive()
            if message.type is not aiohttp.WSMsgType.TEXT:
                self._check("websocket", False, f"expected a text frame, got {message.type!r} "
                            f"{message.data!r}")  # fmt: skip
            data = json.loads(message.data)
            if data.get("type") not in ("ack", "snapshot", "update", "error"):
                continue
            frame = SERVER_FRAMES.validate_python(data)
            if isinstance(frame, ErrorFrame):
                self._check("websocket", False, f"error frame {frame.error}")
            if wanted(frame):
                return frame


async def smoke(target: SmokeTarget, *, out: Callable[[str], None] = print) -> SmokeReport:
    """Run the smoke test against ``target``."""
    return await Smoke(target, out=out).run()


__all__ = ["Smoke", "SmokeFailed", "SmokeReport", "SmokeTarget", "smoke"]
