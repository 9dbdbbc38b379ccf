"""A durable outbox of submits: a local SQLite file that outlives the game server.

Each submit message is written (and synced to disk) before it is first sent, with its
submission id, and deleted once the service acked it or refused it for good (a client
error: it would never succeed). What is left when the process stops (crashed, killed,
restarted, or a submit that ran out of its time budget) was not acked; the next client
opened on the same file sends those messages again, unchanged, with their original
submission ids, so the service applies each exactly once (a replay of one it had applied
is answered with ``replayed=True``).

SQLite comes with Python; calls run in a worker thread so the event loop never waits
on the disk.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS lb_outbox (
    submission_id TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    created_at REAL NOT NULL
)"""


class Outbox:
    """Unacked submit messages, by submission id, in a SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(SCHEMA)

    def _put(self, message: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO lb_outbox (submission_id, message, created_at) "
                "VALUES (?, ?, ?)",
                (str(message["submission_id"]), json.dumps(dict(message)), time.time()),
            )

    def _done(self, submission_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM lb_outbox WHERE submission_id = ?", (submission_id,))

    def _pending(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT message FROM lb_outbox ORDER BY created_at, submission_id"
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    async def put(self, message: Mapping[str, Any]) -> None:
        """Keep ``message`` (on disk when this returns) until :meth:`done`."""
        await asyncio.to_thread(self._put, message)

    async def done(self, submission_id: str) -> None:
        """Forget a message: acked, or refused for good."""
        await asyncio.to_thread(self._done, submission_id)

    async def pending(self) -> list[dict[str, Any]]:
        """The messages kept and not done, oldest first."""
        return await asyncio.to_thread(self._pending)

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["Outbox"]
