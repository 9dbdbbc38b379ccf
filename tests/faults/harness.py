"""What the fault scenarios do to the real service, and how they check it afterwards.

- :class:`Service`: ``leaderboard up`` as its own process over a data directory, with the
  embedded primary and replica; kill, stop and restart it or its servers by signal.
- :class:`Load`: raw WebSocket clients submitting at a steady rate, each message with a
  unique submission id (also its request id), recording what came back for each: an ack,
  a typed error (its code), an untyped frame, or nothing (the connection dropped first).
- :func:`audit`: what the database itself says about the submits: every acked one stored
  exactly once, none refused before any work stored, nothing stored that was not sent,
  and every rank equal to a brute-force count over the entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import asyncpg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from authorizer.tokens import mint_token
from core.errors import CODES
from runtime.postgres import free_port

SECRET: Final = "fault-suite-secret-fault-suite-secret!"
BOARD: Final = "faults"
REFUSED_BEFORE_WORK: Final = frozenset({"overloaded", "rate_limited"})


def token(role: str = "server", player: str | None = None) -> str:
    return mint_token(
        secret=SECRET, player_id=player, role=role, issuer="leaderboard-local",
        audience="leaderboard", ttl_s=3600, subject=player or f"fault-{role}",
    )  # fmt: skip


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Service:
    """``leaderboard up`` on ``data_dir`` and a fixed port, in a process of its own."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {**os.environ, "LEADERBOARD_JWT_SECRET": SECRET, **env}
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/prod"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 120) -> float:
        """Start the service and wait for its ready line; the seconds that took."""
        started = time.monotonic()
        first = len(self.output)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "--data-dir", str(self.data_dir), "up",
             "--port", str(self.port)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=_raise_fd_limit,
        )  # fmt: skip
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        for line in stream:
            self.output.append(line)
            if "leaderboard is up" in line:
                break
            if time.monotonic() - started > timeout_s:
                raise TimeoutError("the service did not come up:\n" + "".join(self.output))
        else:
            raise RuntimeError("the service exited:\n" + "".join(self.output[-40:]))

        log = (self.data_dir.parent / "service.log").open("a")  # for a post-mortem
        log.writelines(self.output[first:])

        def drain() -> None:
            with contextlib.suppress(ValueError, OSError), log:
                for line in stream:
                    self.output.append(line)
                    log.write(line)
                    log.flush()

        threading.Thread(target=drain, daemon=True).start()
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the service process (its PostgreSQL servers go on running)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def postmaster(self, name: str) -> int:
        """The process id of the ``primary`` or ``replica`` postmaster."""
        pid_file = self.data_dir / name / "postmaster.pid"
        return int(pid_file.read_text().split()[0])

    def processes(self, name: str) -> list[int]:
        """The postmaster of ``name`` and its children (backends, WAL receiver, ...)."""
        root = self.postmaster(name)
        pids = [root]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == root:
                        pids.append(int(entry.name))
        return pids

    def signal_all(self, name: str, sig: int) -> None:
        """Send ``sig`` to the whole server (postmaster and children): SIGSTOP freezes it."""
        for pid in self.processes(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def port_of(self, name: str) -> int:
        return int((self.data_dir / f"{name}.port").read_text())

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port_of('primary')}/leaderboard"

    def log_bytes(self) -> int:
        return sum(len(line) for line in self.output)


@contextlib.contextmanager
def port_held(port: int, timeout_s: float = 5.0) -> Iterator[None]:
    """Hold 127.0.0.1:``port`` (connections accepted and dropped at once), so a server
    cannot start there: an outage of the server that listened on it."""
    deadline = time.monotonic() + timeout_s
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    while True:
        try:
            sock.bind(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)
    sock.listen(64)
    sock.settimeout(0.1)
    stop = threading.Event()

    def refuse() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = sock.accept()
                conn.close()

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2)
        sock.close()


@dataclass
class Outcome:
    """What one submit got back."""

    sent_at: float
    player: str
    answered_at: float | None = None
    kind: str = "none"
    """``ack``, ``error`` (typed, with ``code``), ``untyped`` or ``none``."""
    code: str | None = None


@dataclass
class Load:
    """``clients`` raw WebSocket connections submitting ``rate`` submits/s in all, each
    an increment of 1 for one of ``players`` players, with a unique submission id."""

    url: str
    rate: float
    clients: int = 8
    players: int = 50
    prefix: str = "s"
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    untyped: list[dict[str, Any]] = field(default_factory=list)
    reconnects: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _count: int = 0

    def start(self) -> Load:
        self._tasks = [asyncio.create_task(self._client(i)) for i in range(self.clients)]
        return self

    async def stop(self, settle_s: float = 10.0) -> None:
        """Stop sending; wait up to ``settle_s`` for the answers still owed."""
        self._stop.set()
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline and any(  # noqa: ASYNC110
            o.kind == "none" for o in self.outcomes.values()
        ):
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _client(self, i: int) -> None:
        period = self.clients / self.rate
        while not self._stop.is_set():
            try:
                async with connect(self.url + f"?token={token()}", open_timeout=10,
                                   max_queue=None) as ws:  # fmt: skip
                    reader = asyncio.create_task(self._read(ws))
                    try:
                        await self._send(ws, i, period)
                        await self._settle(reader)
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                            await reader
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError):
                pass
            if not self._stop.is_set():
                self.reconnects += 1
                await asyncio.sleep(0.2)

    async def _settle(self, reader: asyncio.Task[None], within_s: float = 10.0) -> None:
        """After the last send: keep reading until nothing is owed (or ``within_s``)."""
        deadline = time.monotonic() + within_s
        while (  # noqa: ASYNC110
            not reader.done()
            and time.monotonic() < deadline
            and any(o.kind == "none" for o in self.outcomes.values())
        ):
            await asyncio.sleep(0.05)

    async def _send(self, ws: ClientConnection, i: int, period: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self._stop.is_set():
            self._count += 1
            sid = f"{self.prefix}-{i}-{self._count}"
            player = f"p{self._count % self.players:03d}"
            self.outcomes[sid] = Outcome(time.monotonic(), player)
            await ws.send(json.dumps({
                "action": "submit", "board": BOARD, "player": player, "score": 1,
                "submission_id": sid, "request_id": sid,
            }))  # fmt: skip
            next_at += period
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            outcome = self.outcomes.get(str(frame.get("request_id")))
            if outcome is None:
                self.untyped.append(frame)
                continue
            outcome.answered_at = time.monotonic()
            if frame.get("type") == "ack":
                outcome.kind = "ack"
            elif frame.get("type") == "error" and frame["error"].get("code") in CODES:
                outcome.kind, outcome.code = "error", frame["error"]["code"]
            else:
                outcome.kind = "untyped"
                self.untyped.append(frame)

    # --- what the clients saw ------------------------------------------------------

    def acked(self) -> set[str]:
        return {sid for sid, o in self.outcomes.items() if o.kind == "ack"}

    def refused_before_work(self) -> set[str]:
        return {
            sid for sid, o in self.outcomes.items() if o.kind == "error"
            and o.code in REFUSED_BEFORE_WORK
        }  # fmt: skip

    def errors(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes.values():
            if o.kind == "error" and o.code is not None:
                counts[o.code] = counts.get(o.code, 0) + 1
        return counts

    def typed_share(self) -> float:
        """Of the errors clients saw, the share that were typed (a catalogued code with
        the request's id); 1.0 when there were none."""
        errors = sum(1 for o in self.outcomes.values() if o.kind == "error")
        untyped = len(self.untyped) + sum(1 for o in self.outcomes.values() if o.kind == "untyped")
        return 1.0 if errors + untyped == 0 else errors / (errors + untyped)

    def ack_latencies(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return [
            o.answered_at - o.sent_at for o in self.outcomes.values()
            if o.kind == "ack" and o.answered_at is not None and since <= o.sent_at < until
        ]  # fmt: skip

    def first_ack_after(self, at: float) -> float | None:
        times = [
            o.answered_at for o in self.outcomes.values()
            if o.kind == "ack" and o.answered_at is not None and o.answered_at >= at
        ]  # fmt: skip
        return min(times) - at if times else None


@dataclass
class Audit:
    acked: int
    stored: int
    """Of the submits sent, those stored (acked or not: an error may come after commit)."""
    lost: int
    duplicates: int
    refused_but_stored: int
    invented: int
    rank_mismatches: int


STORED: Final = "SELECT submission_id FROM lb_submission WHERE board_id = $1"
APPLIED: Final = """
SELECT coalesce(sum(e.score), 0) FROM lb_entry e
  JOIN lb_board b ON b.board_id = $1
  JOIN lb_season s ON s.board_id = b.board_id AND s.season = b.season AND s.season_no = e.season_no"""
ENTRIES: Final = """
SELECT e.player_id, e.sort_score, e.achieved_at FROM lb_entry e
  JOIN lb_board b ON b.board_id = $1
  JOIN lb_season s ON s.board_id = b.board_id AND s.season = b.season AND s.season_no = e.season_no"""


async def audit(dsn: str, loads: list[Load]) -> Audit:
    """The database's word on every submit the loads sent (see the module docstring)."""
    sent = {sid for load in loads for sid in load.outcomes}
    acked = {sid for load in loads for sid in load.acked()}
    refused = {sid for load in loads for sid in load.refused_before_work()}
    conn = await asyncpg.connect(dsn)
    try:
        stored = {r["submission_id"] for r in await conn.fetch(STORED, BOARD)}
        applied = int(await conn.fetchval(APPLIED, BOARD))
        rows = await conn.fetch(ENTRIES, BOARD)
        mismatches = await _rank_mismatches(conn, rows)
    finally:
        await conn.close()
    return Audit(
        acked=len(acked), stored=len(stored & sent), lost=len(acked - stored),
        duplicates=applied - len(stored), refused_but_stored=len(refused & stored),
        invented=len(_theirs(stored, loads) - sent), rank_mismatches=mismatches,
    )  # fmt: skip


def _theirs(stored: set[str], loads: list[Load]) -> set[str]:
    """The stored ids in the loads' namespaces (other scenarios' ids are theirs)."""
    prefixes = tuple(f"{load.prefix}-" for load in loads)
    return {sid for sid in stored if sid.startswith(prefixes)}


async def _rank_mismatches(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> int:
    """Players whose rank as the service reads it differs from a brute-force count of the
    entries ahead of them (same sort key: sort score, achieved at, player id in C order)."""
    keys = sorted((r["sort_score"], r["achieved_at"], r["player_id"].encode()) for r in rows)
    expected = {key[2].decode(): i + 1 for i, key in enumerate(keys)}
    from core.settings import Settings
    from db.store import Store

    store = Store(conn, settings=Settings())  # type: ignore[arg-type]
    top = await store.fetch_top(BOARD, limit=len(rows) or 1)
    seen = {e.player_id: e.rank for e in top.entries}
    mismatches = sum(1 for p, rank in expected.items() if seen.get(p) != rank)
    for player in list(expected)[:25]:
        standing = await store.fetch_standing(BOARD, player)
        mismatches += standing.entry.rank != expected[player]
    return mismatches
