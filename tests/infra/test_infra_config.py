"""StageConfig: context layering and validation; LambdaEnvironment: in sync with Settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aws_cdk as cdk
import pytest
from pydantic import ValidationError

from core.settings import ENV_PREFIX as SETTINGS_PREFIX
from core.settings import Settings
from infra.config import ENV_PREFIX, DbMode, Fn, LambdaEnvironment, StageConfig

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def config_from(**context: object) -> StageConfig:
    return StageConfig.from_context(cdk.App(context=context).node)


def test_defaults_to_dev_serverless() -> None:
    """Without context the stage is dev, serverless, three AZs, no domain."""
    config = config_from()
    assert config.stage == "dev"
    assert config.db_mode is DbMode.SERVERLESS
    assert config.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert config.custom_domains is None


def test_command_line_strings_are_parsed() -> None:
    """-c values arrive as strings; numbers, booleans and JSON are converted."""
    config = config_from(
        stage="prod",
        dbMode="serverless",
        dbReaders="2",
        deletionProtection="false",
        reservedConcurrency='{"rest": 7}',
        availabilityZones='["eu-west-1a", "eu-west-1b"]',
        natGateways="2",
        region="eu-west-1",
    )
    assert config.db_mode is DbMode.SERVERLESS
    assert config.db_readers == 2
    assert config.deletion_protection is False
    assert config.reserved_concurrency[Fn.REST] == 7
    assert config.reserved_concurrency[Fn.BROADCASTER] == 20
    assert config.availability_zones == ("eu-west-1a", "eu-west-1b")


def test_unknown_stage_is_named() -> None:
    """An unknown stage fails, quoting what was expected and what arrived."""
    with pytest.raises(ValueError, match=r"expected one of \['dev', 'prod'\], got 'qa'"):
        config_from(stage="qa")


def test_stage_object_rejects_unknown_keys() -> None:
    """A typo in the leaderboard:<stage> object fails synthesis."""
    with pytest.raises(ValidationError, match="dbReadrs"):
        config_from(**{"leaderboard:dev": {"dbReadrs": 2}})


def test_one_az_is_refused() -> None:
    """The cluster needs a reader in another AZ, so one AZ is refused."""
    with pytest.raises(ValidationError, match="at least 2"):
        config_from(availabilityZones='["us-east-1a"]', natGateways=1)


def test_domain_needs_zone() -> None:
    """A domain name without a hosted zone id is refused."""
    with pytest.raises(ValidationError, match="both or neither"):
        config_from(domainName="example.com")


def test_edge_certificate_needed_outside_us_east_1() -> None:
    """Outside us-east-1 an edge certificate ARN must be given."""
    with pytest.raises(ValidationError, match="restCertificateArn"):
        config_from(region="eu-west-1", domainName="example.com", hostedZoneId="Z1")


def test_two_hostnames() -> None:
    """REST and WebSocket get different host names under the domain."""
    config = config_from(domainName="example.com", hostedZoneId="Z1")
    assert config.custom_domains == ("api.example.com", "ws.example.com")


def test_lambda_environment_matches_settings() -> None:
    """Every LambdaEnvironment field is a Settings field, under the same prefix."""
    assert ENV_PREFIX == SETTINGS_PREFIX
    names = {field.name for field in dataclasses.fields(LambdaEnvironment)}
    assert names <= set(Settings.model_fields), names - set(Settings.model_fields)


def test_lambda_environment_is_read_back_by_settings() -> None:
    """Settings built from to_env() sees the values the stack set."""
    env = LambdaEnvironment(
        stage="prod",
        aws_region="eu-west-1",
        database_url="postgresql://leaderboard@proxy:5432/leaderboard",
        db_secret_arn="arn:aws:secretsmanager:eu-west-1:1:secret:db",
        ws_api_id="abc123",
        ws_stage="prod",
        conflation_ms=50,
    ).to_env()
    assert "LEADERBOARD_READER_URL" not in env
    settings = Settings(
        _env_file=None, **{k.removeprefix(ENV_PREFIX).lower(): v for k, v in env.items()}
    )
    assert settings.stage == "prod"
    assert settings.conflation_ms == 50
    assert settings.ws_api_id == "abc123"


def test_a_changed_function_file_changes_the_migration_fingerprint(tmp_path: Path) -> None:
    """The migration custom resource re-runs when a function file alone changes, as it does
    for a new numbered migration."""
    from infra.compute import migrations_fingerprint

    for folder, name in (("migrations", "0001_baseline.sql"), ("functions", "lb_submit.sql")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text("-- v1\n")
    before = migrations_fingerprint(tmp_path)
    (tmp_path / "functions" / "lb_submit.sql").write_text("-- v2\n")
    assert migrations_fingerprint(tmp_path) != before
