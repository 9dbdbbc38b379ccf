"""The service's database role (db/roles.py): its grants suffice for everything the
service does, and it can change no schema.

The role is created the way the migration custom resource creates it on Aurora, by the
schema's owner through ``lb_grant_app_role``; the service then connects as it, as the
Lambdas do through RDS Proxy.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from core.boards import BoardSpec
from core.ranking import ScoreInput
from core.settings import Settings
from db.moderation import Moderation
from db.roles import grant_app_role
from db.services import open_services
from tests.connect.test_routes import RecordingSender
from tests.db.service_path import run_service_path


@pytest.fixture
async def app_dsn(database_dsn: str) -> AsyncIterator[str]:
    """``database_dsn`` as a fresh app role created by ``grant_app_role``."""
    role = f"lb_app_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(database_dsn)
    await grant_app_role(owner, role)
    await grant_app_role(owner, role)  # idempotent: every deploy runs it again
    parts = urlsplit(database_dsn)
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
    finally:
        await owner.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
        )
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.execute(f'DROP ROLE "{role}"')
        await owner.close()


async def test_the_app_role_runs_the_whole_service(app_dsn: str, settings: Settings) -> None:
    """Routes, broadcaster with compaction and VACUUM, sweep, REST reads, season roll and
    expiry all run as the app role."""
    services = await open_services(
        settings.model_copy(update={"db_proxy": True}), dsn=app_dsn, sender=RecordingSender()
    )
    try:
        assert (
            await services.store.pool.fetchval("SELECT current_user") == urlsplit(app_dsn).username
        )
        assert not await services.store.pool.fetchval(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        await run_service_path(services)
    finally:
        await services.close()


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE lb_intruder (x int)",
        "ALTER TABLE lb_board ADD COLUMN intruder int",
        "DROP TABLE lb_entry",
        "TRUNCATE lb_entry",
        "CREATE INDEX lb_intruder ON lb_entry (score)",
        "CREATE FUNCTION lb_intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE OR REPLACE FUNCTION lb_count_entries(bigint) RETURNS bigint LANGUAGE sql "
        "AS 'SELECT 0::bigint'",
        "DROP FUNCTION lb_submit",
        "INSERT INTO lb_setting VALUES ('broadcaster_arn', 'arn:aws:lambda:x')",
        "DELETE FROM lb_schema_migration",
    ],
)
async def test_the_app_role_cannot_change_the_schema(app_dsn: str, statement: str) -> None:
    """No DDL, and no writes to what the migrations and the deployment own."""
    conn = await asyncpg.connect(app_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_the_app_role_may_append_to_the_audit_log_but_never_delete_from_it(
    app_dsn: str, settings: Settings
) -> None:
    """As the app role a moderation action is audited and an erasure pseudonymises the log,
    but deleting or truncating audit records is refused."""
    services = await open_services(settings, dsn=app_dsn, sender=RecordingSender())
    try:
        await services.store.create_board(BoardSpec(id="audited"))
        await services.store.submit("audited", [ScoreInput("x", 1)])
        mod = Moderation(services.store.pool)
        await mod.ban("x", board="audited", actor="ops", reason="r")
        erasure = await mod.erase("x", actor="ops", reason=None)
        assert erasure.removed["audit_records"] == 1
        for statement in ("DELETE FROM lb_audit", "TRUNCATE lb_audit"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await services.store.pool.execute(statement)
        assert len(await mod.audit(player=erasure.pseudonym)) == 2
    finally:
        await services.close()
