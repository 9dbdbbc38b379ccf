"""`leaderboard up` on your own PostgreSQL: LEADERBOARD_DATABASE_URL is migrated and used,
LEADERBOARD_READER_URL is read from, and the start-up output says which."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg

from authorizer.tokens import mint_token
from runtime.cli import dev_secret
from tests.postgres_fixtures import PgServer

ROOT = Path(__file__).resolve().parents[2]
ONE_BOARD = """
WITH b AS (
    INSERT INTO lb_board (board_id, sort_order, policy, min_score, max_score, season)
    VALUES ($1, 'desc', 'best', 0, 10, 's1') RETURNING board_id
)
INSERT INTO lb_season (board_id, season) SELECT board_id, 's1' FROM b"""


@contextlib.asynccontextmanager
async def leaderboard_up(data_dir: Path, **env: str) -> AsyncIterator[tuple[str, list[str]]]:
    """``leaderboard up`` in a subprocess until its ready line: (its HTTP URL, its output)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADERBOARD_")}
    environment.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runtime.cli", "--data-dir", str(data_dir), "up", "--port", "0",
        cwd=ROOT, env=environment, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("Ctrl-C stops everything" in line for line in lines):
                raw = await proc.stdout.readline()
                assert raw, "leaderboard up ended early:\n" + "".join(lines)
                lines.append(raw.decode())
        url = next(re.search(r"HTTP\s+(\S+)", x) for x in lines if re.search(r"HTTP\s+http", x))
        assert url is not None
        yield url.group(1), lines
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def _line(lines: list[str], label: str) -> str:
    return next(x for x in lines if x.strip().startswith(label))


@contextlib.asynccontextmanager
async def new_database(pg_server: PgServer, template: str = "template0") -> AsyncIterator[str]:
    """A new database (empty from template0, or a copy of ``template``): its DSN."""
    name = f"lb_up_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield pg_server.dsn_for(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _token(data_dir: Path, role: str) -> dict[str, str]:
    tok = mint_token(secret=dev_secret(data_dir), player_id=None, role=role,
                     issuer="leaderboard-local", audience="leaderboard", ttl_s=60,
                     subject=f"test-{role}")  # fmt: skip
    return {"Authorization": f"Bearer {tok}"}


async def _board_ids(url: str, data_dir: Path) -> list[str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/v1/boards", headers=_token(data_dir, "spectator")) as boards,
    ):
        assert boards.status == 200
        return [b["id"] for b in (await boards.json())["boards"]]


async def test_up_migrates_and_uses_the_database_url(pg_server: PgServer, tmp_path: Path) -> None:
    """With LEADERBOARD_DATABASE_URL, `leaderboard up` migrates that (empty) database, serves
    from it (no embedded cluster), reads from it without a reader URL, and says so."""
    async with new_database(pg_server) as dsn:
        async with leaderboard_up(tmp_path, LEADERBOARD_DATABASE_URL=dsn) as (url, out):
            database = _line(out, "database")
            assert dsn.rsplit("/", 1)[1] in database and "yours" in database
            assert "reads: the primary" in database
            assert not (tmp_path / "primary").exists()  # no embedded cluster
            async with aiohttp.ClientSession() as http:
                created = await http.post(
                    f"{url}/v1/boards", json={"id": "mine"}, headers=_token(tmp_path, "admin")
                )
                assert created.status == 201
            assert await _board_ids(url, tmp_path) == ["mine"]
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM lb_schema_migration") >= 1
            assert await conn.fetchval("SELECT count(*) FROM lb_board WHERE board_id = 'mine'")
        finally:
            await conn.close()


async def test_up_reads_snapshots_from_the_reader_url(
    pg_server: PgServer, template_db: str, tmp_path: Path
) -> None:
    """With LEADERBOARD_READER_URL, snapshots are read from that database (here a second
    database standing in for the replica, holding a board the primary lacks)."""
    async with (
        new_database(pg_server, template_db) as dsn,
        new_database(pg_server, template_db) as reader_dsn,
    ):
        reader = await asyncpg.connect(reader_dsn)
        try:
            await reader.execute(ONE_BOARD, "only-on-the-reader")
        finally:
            await reader.close()
        env = {"LEADERBOARD_DATABASE_URL": dsn, "LEADERBOARD_READER_URL": reader_dsn}
        async with leaderboard_up(tmp_path, **env) as (url, out):
            assert f"reads: {reader_dsn}" in _line(out, "database")
            assert await _board_ids(url, tmp_path) == ["only-on-the-reader"]


async def test_up_falls_back_to_the_primary_when_the_reader_is_down(
    pg_server: PgServer, template_db: str, tmp_path: Path
) -> None:
    """A reader URL where nothing answers costs a failover: reads come from the primary."""
    async with new_database(pg_server, template_db) as dsn:
        primary = await asyncpg.connect(dsn)
        try:
            await primary.execute(ONE_BOARD, "on-the-primary")
        finally:
            await primary.close()
        dead = "postgresql://postgres@127.0.0.1:9/leaderboard"  # the discard port: refused
        env = {"LEADERBOARD_DATABASE_URL": dsn, "LEADERBOARD_READER_URL": dead}
        async with leaderboard_up(tmp_path, **env) as (url, out):
            assert f"reads: {dead}" in _line(out, "database")
            assert await _board_ids(url, tmp_path) == ["on-the-primary"]
