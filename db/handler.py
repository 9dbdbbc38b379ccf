"""Lambda entry points owned by the database layer: the migration custom resource and
the scheduled season roll."""

from __future__ import annotations

import logging
from typing import Any

from db.bootstrap import LambdaLoop

log = logging.getLogger("leaderboard.db")
_loop = LambdaLoop()

PHYSICAL_ID = "leaderboard-schema"


async def _migrate(properties: dict[str, Any]) -> dict[str, Any]:
    import asyncpg

    from core.settings import Settings
    from db.bootstrap import resolve_dsns
    from db.migrate import migrate
    from db.wakeup import install_aurora_wakeup

    settings = Settings()
    conn = await asyncpg.connect(resolve_dsns(settings).primary)
    try:
        applied = await migrate(conn)
        arn = properties.get("BroadcasterFunctionArn")
        wakeup = await install_aurora_wakeup(conn, str(arn), settings.aws_region) if arn else False
    finally:
        await conn.close()
    return {"Applied": ",".join(map(str, applied)) or "none", "AuroraWakeup": str(wakeup)}


def on_migrate_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CloudFormation custom resource (CDK Provider): migrate on Create and Update."""
    if event.get("RequestType") == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    data = _loop.run(_migrate(event.get("ResourceProperties") or {}))
    log.info("migrations: %s", data)
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": data}


async def _roll() -> list[str]:
    from core.settings import Settings
    from db.bootstrap import resolve_dsns
    from db.store import Store

    settings = Settings()
    dsns = resolve_dsns(settings)
    store = await Store.open(settings, dsn=dsns.primary)
    try:
        return [f"{b.id}:{b.season}" for b in await store.roll_due_seasons()]
    finally:
        await store.close()


def roll_seasons(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scheduled: start the new season of every board whose reset time has passed."""
    return {"rolled": _loop.run(_roll())}
