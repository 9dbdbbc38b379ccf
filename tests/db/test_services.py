"""open_services: the one place that builds a handler's services, on AWS and locally."""

from __future__ import annotations

import json

import pytest

from aws.connections import ConnectionsApiSender
from aws.invoke import LambdaWaker
from core.errors import ServerError
from core.settings import Settings
from db.services import NoSender, open_services, resolve_dsns


class Secrets:
    """A SecretReader over a dict, counting reads."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.reads = values, 0

    def read(self, secret_id: str) -> str:
        self.reads += 1
        return self.values[secret_id]


RDS_SECRET = json.dumps({"username": "app", "password": "p@ss/word", "host": "ignored"})


def test_credentials_come_from_the_secret_not_the_environment() -> None:
    """With db_secret_arn the DSNs get the secret's user and password (URL-quoted), and
    keep the configured hosts."""
    settings = Settings(
        database_url="postgresql://proxy.example:5432/leaderboard",
        reader_url="postgresql://proxy-ro.example:5432/leaderboard",
        db_secret_arn="arn:db",
    )
    dsns = resolve_dsns(settings, Secrets({"arn:db": RDS_SECRET}))
    assert dsns.primary == "postgresql://app:p%40ss%2Fword@proxy.example:5432/leaderboard"
    assert dsns.reader == "postgresql://app:p%40ss%2Fword@proxy-ro.example:5432/leaderboard"


def test_a_lambda_without_a_database_url_fails_naming_the_key() -> None:
    """A missing LEADERBOARD_DATABASE_URL is a configuration error that says so."""
    with pytest.raises(ServerError, match="LEADERBOARD_DATABASE_URL"):
        resolve_dsns(Settings())


async def test_on_aws_the_adapters_are_awss(
    database_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given nothing but settings, a handler gets the stage's @connections client and, for
    the broadcaster, Lambda Invoke as its waker; without a WebSocket API, no sender."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    settings = Settings(
        database_url=database_dsn, ws_api_id="abc123", aws_region="eu-west-1",
        ws_stage="dev", broadcast_function_name="leaderboard-dev-broadcaster",
    )  # fmt: skip
    services = await open_services(settings)
    try:
        assert isinstance(services.sender, ConnectionsApiSender)
        assert (
            services.sender.endpoint_url == "https://abc123.execute-api.eu-west-1.amazonaws.com/dev"
        )
        assert isinstance(services.waker, LambdaWaker)
        assert services.waker.function_name == "leaderboard-dev-broadcaster"
        assert await services.store.list_boards() == []
    finally:
        await services.close()
    rest = await open_services(Settings(database_url=database_dsn))
    try:
        assert isinstance(rest.sender, NoSender) and rest.waker is None
        with pytest.raises(ServerError, match="LEADERBOARD_WS_API_ID"):
            await rest.sender.send("c=", "{}")  # type: ignore[arg-type]
    finally:
        await rest.close()
