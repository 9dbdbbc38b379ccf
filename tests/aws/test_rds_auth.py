"""IAM authentication to RDS Proxy (aws.rds_auth) and its wiring in open_services.

boto3 signs the tokens for real (with test credentials); the connections go to the test
PostgreSQL as a role of their own, which accepts any password (trust), so what is checked
is what the client does: a fresh token for every new connection, as the right user, and
no secret read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import pytest

from aws.rds_auth import RdsIamAuth
from core.settings import Settings
from db.services import open_services
from db.store import Store
from tests.postgres_fixtures import PgServer

REGION = "eu-west-1"


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
async def iam_role_dsn(pg_server: PgServer, database_dsn: str) -> AsyncIterator[str]:
    """``database_dsn`` as a login role of its own (no password of its own)."""
    role = f"lb_iam_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_dsn)
    await admin.execute(f'CREATE ROLE "{role}" LOGIN SUPERUSER')
    parts = urlsplit(database_dsn)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{host}"))
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
        )
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


def test_a_token_is_a_presigned_connect_for_host_port_and_user(aws_credentials: None) -> None:
    """A token is SigV4-presigned ``connect`` for the host, port and user, valid 15 minutes."""
    auth = RdsIamAuth(user="leaderboard_app", region=REGION)
    token = auth.token("proxy.example", 5432)
    endpoint, _, query = token.partition("/?")
    assert endpoint == "proxy.example:5432"
    params = parse_qs(query)
    assert params["Action"] == ["connect"]
    assert params["DBUser"] == ["leaderboard_app"]
    assert params["X-Amz-Expires"] == ["900"]
    assert params["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert f"/{REGION}/rds-db/aws4_request" in params["X-Amz-Credential"][0]
    assert auth.token("proxy.example", 5432) != "" and auth.tokens_made == 2


async def test_every_new_connection_gets_a_fresh_token(
    aws_credentials: None, iam_role_dsn: str, settings: Settings
) -> None:
    """asyncpg asks for the password each time it opens a connection, so a pool keeps
    connecting after any one token (15 minutes) or credential set has expired."""
    auth = RdsIamAuth(user="ignored", region=REGION)
    cfg = settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 3, "db_proxy": True})
    store = await Store.open(cfg, dsn=iam_role_dsn, passwords=auth.password_for)
    try:
        assert auth.tokens_made == 1
        held = [await store.pool.acquire() for _ in range(3)]
        assert auth.tokens_made == 3
        for conn in held:
            await store.pool.release(conn)
        await store.pool.expire_connections()
        await store.pool.fetchval("SELECT 1")
        assert auth.tokens_made == 4
    finally:
        await asyncio.wait_for(store.close(), 10)


class NoSecrets:
    """A SecretReader that fails the test if anything is read."""

    def read(self, secret_id: str) -> str:
        raise AssertionError(f"read {secret_id!r}: expected no secret to be read")


async def test_a_lambda_with_an_iam_user_reads_no_secret(
    aws_credentials: None, iam_role_dsn: str
) -> None:
    """With LEADERBOARD_DB_IAM_USER the services connect as that role with a token and never
    touch Secrets Manager: rotating the master secret cannot reach a warm function."""
    role = urlsplit(iam_role_dsn).username
    settings = Settings(
        database_url=iam_role_dsn, db_iam_user=role, aws_region=REGION, db_proxy=True,
        db_pool_min=1, db_pool_max=2,
    )  # fmt: skip
    services = await open_services(settings, secrets=NoSecrets())
    try:
        assert await services.store.pool.fetchval("SELECT current_user") == role
        assert await services.store.list_boards() == []
    finally:
        await services.close()
