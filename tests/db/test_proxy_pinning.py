"""RDS Proxy pinning: what the service sends through the proxy leaves no session state.

A relay in front of PostgreSQL reads every statement the client sends and flags those
RDS Proxy pins a session for (tests/db/proxy_wire.py). The whole service path runs
through it with the settings the Lambdas get (``LEADERBOARD_DB_PROXY=true``).
"""

from __future__ import annotations

from dataclasses import replace

from core.settings import Settings
from db.services import open_services
from db.store import Store
from tests.connect.test_routes import RecordingSender
from tests.db.proxy_wire import PinningRelay, pin_reasons
from tests.db.service_path import run_service_path


async def test_the_service_path_pins_no_proxy_session(
    database_dsn: str, settings: Settings
) -> None:
    """Routes, broadcaster (with compaction and VACUUM), sweep, REST reads, season roll and
    expiry, as the Lambdas run them, send nothing that pins an RDS Proxy session."""
    proxied = settings.model_copy(update={"db_proxy": True, "db_pool_max": 4})
    async with PinningRelay(database_dsn) as relay:
        svc = await open_services(
            proxied, dsn=relay.dsn, reader_dsn=relay.dsn + "&application_name=reader",
            sender=RecordingSender(),
        )  # fmt: skip
        try:
            await run_service_path(svc)
        finally:
            await svc.close()
    assert relay.audit.statements, "the relay saw no statement"
    assert relay.audit.pins == [], "\n".join(
        f"{p.reason}: {p.statement.strip()[:160]}" for p in relay.audit.pins
    )


async def test_the_relay_sees_what_pins(database_dsn: str, settings: Settings) -> None:
    """The audit is not blind: asyncpg's statement cache (named prepared statements), a
    session advisory lock and a session SET are each flagged."""
    async with PinningRelay(database_dsn) as relay:
        store = await Store.open(replace_settings(settings), dsn=relay.dsn)
        try:
            async with store.pool.acquire() as conn:
                await conn.fetchval("SELECT $1::int", 1)
                await conn.execute("SELECT pg_advisory_lock(1); SELECT pg_advisory_unlock(1)")
                await conn.execute("SET work_mem = '8MB'")
        finally:
            await store.close()
    reasons = {p.reason.split(" '")[0] for p in relay.audit.pins}
    assert {"named prepared statement", "a session-level advisory lock",
            "SET/RESET of a session parameter"} <= reasons, reasons  # fmt: skip


def replace_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"db_proxy": False})


def test_transaction_scoped_forms_do_not_pin() -> None:
    """SET LOCAL, pg_advisory_xact_lock and a column DEFAULT are not pinning forms."""
    assert pin_reasons("SET LOCAL statement_timeout = 5") == []
    assert pin_reasons("SELECT pg_try_advisory_xact_lock(19523, 7)") == []
    assert pin_reasons("UPDATE t SET change_no = DEFAULT") == []
    assert pin_reasons("SELECT nextval('s')") == ["a sequence function"]


__all__ = ["replace"]
