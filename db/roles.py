"""The service's database role: created and granted by the migrator.

On AWS the Lambdas behind RDS Proxy connect as ``leaderboard_app`` with IAM tokens; the
migration function (the master user, directly on the cluster) creates that role and
grants it what the service uses, and nothing else (db/functions/lb_grant_app_role.sql):
DML on the tables, the sequences, EXECUTE on the functions, ``rds_iam``; no DDL. It runs
after every migration, so objects added later are granted as well. Idempotent.
"""

from __future__ import annotations

from typing import Final

import asyncpg

GRANT_APP_ROLE: Final = "SELECT lb_grant_app_role($1)"


async def grant_app_role(conn: asyncpg.Connection, role: str) -> None:
    """Create ``role`` if needed and grant it exactly the service's rights (run as the
    schema's owner, after :func:`db.migrate.migrate`)."""
    await conn.execute(GRANT_APP_ROLE, role)


__all__ = ["grant_app_role"]
