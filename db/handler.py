"""Lambda entry points of the schema: the migration custom resource and the season roll.

Each invocation runs on an event loop of its own and keeps no pool afterwards: both run
rarely (a deploy, once an hour).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

log = logging.getLogger("leaderboard.db")

PHYSICAL_ID: Final = "leaderboard-schema"


async def _migrate(properties: dict[str, Any]) -> dict[str, Any]:
    import asyncpg

    from aws.secrets import SecretsManagerReader
    from core.settings import Settings
    from db.migrate import migrate
    from db.roles import grant_app_role
    from db.services import resolve_dsns
    from db.wakeup import install_aurora_wakeup

    settings = Settings()
    dsns = resolve_dsns(settings, SecretsManagerReader(region=settings.aws_region))
    conn = await asyncpg.connect(dsns.primary)
    try:
        applied = await migrate(conn)
        app_role = properties.get("AppDatabaseUser")
        if app_role:
            await grant_app_role(conn, str(app_role))
        arn = properties.get("BroadcasterFunctionArn")
        wakeup = await install_aurora_wakeup(conn, str(arn), settings.aws_region) if arn else False
    finally:
        await conn.close()
    return {
        "Applied": ",".join(map(str, applied)) or "none",
        "AppRole": str(app_role or "none"),
        "AuroraWakeup": str(wakeup),
    }


def on_migrate_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CloudFormation custom resource (CDK Provider): migrate on Create and Update."""
    if event.get("RequestType") == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    data = asyncio.run(_migrate(event.get("ResourceProperties") or {}))
    log.info("migrations: %s", data)
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": data}


async def _roll() -> list[str]:
    from core.settings import Settings
    from db.services import open_services

    services = await open_services(Settings())
    try:
        return [f"{b.id}:{b.season}" for b in await services.store.roll_due_seasons()]
    finally:
        await services.close()


def roll_seasons(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scheduled: start the new season of every board whose reset time has passed."""
    return {"rolled": asyncio.run(_roll())}
