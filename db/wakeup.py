"""Installing the Aurora wake-up (see db/functions/lb_wake_broadcaster.sql).

Locally the runtime LISTENs for the NOTIFY the feed trigger sends; on Aurora the
database invokes the broadcaster Lambda itself through the ``aws_lambda`` extension.
"""

from __future__ import annotations

from typing import Final

import asyncpg

EXTENSION_AVAILABLE: Final = "SELECT 1 FROM pg_available_extensions WHERE name = 'aws_lambda'"
CREATE_EXTENSION: Final = "CREATE EXTENSION IF NOT EXISTS aws_lambda CASCADE"
INVOKE_EXISTS: Final = """
SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'aws_lambda' AND p.proname = 'invoke'"""
SET_SETTING: Final = """
INSERT INTO lb_setting (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = excluded.value"""
TRIGGER_EXISTS: Final = "SELECT 1 FROM pg_trigger WHERE tgname = 'lb_event_wake_broadcaster'"
CREATE_TRIGGER: Final = """
CREATE TRIGGER lb_event_wake_broadcaster AFTER INSERT ON lb_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION lb_wake_broadcaster()"""


async def install_aurora_wakeup(
    conn: asyncpg.Connection, broadcaster_arn: str, region: str
) -> bool:
    """Install the wake-up if ``aws_lambda.invoke`` can exist here; whether it was installed."""
    if await conn.fetchval(EXTENSION_AVAILABLE):
        await conn.execute(CREATE_EXTENSION)
    if not await conn.fetchval(INVOKE_EXISTS):
        return False
    async with conn.transaction():
        await conn.execute(SET_SETTING, "broadcaster_arn", broadcaster_arn)
        await conn.execute(SET_SETTING, "aws_region", region)
        if not await conn.fetchval(TRIGGER_EXISTS):
            await conn.execute(CREATE_TRIGGER)
    return True
