"""Typed configuration of one deployment, read once from CDK context.

``StageConfig.from_context`` is the only place that reads context. It layers,
lowest first: the built-in defaults of the stage (``dev`` or ``prod``), the
``leaderboard:<stage>`` object in ``cdk.json``, and single keys given on the
command line (``cdk synth -c stage=prod -c dbMode=provisioned``). Unknown keys in
the ``leaderboard:<stage>`` object fail synthesis, naming the key.

``LambdaEnvironment`` is the typed form of the Lambda environment. Its field
names are those of ``core.settings.Settings``, so ``to_env()`` yields exactly the
``LEADERBOARD_*`` variables that the handlers read; a test keeps the two in sync.
No secret value ever goes into it, only Secrets Manager ARNs.
"""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum
from typing import Any, Final, Literal

from aws_cdk import aws_logs as logs
from constructs import Node
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

ENV_PREFIX: Final = "LEADERBOARD_"
"""Must equal ``core.settings.ENV_PREFIX``; a test checks it."""

METRICS_NAMESPACE: Final = "Leaderboard"
BROADCAST_LAG_METRIC: Final = "BroadcastLagMs"
"""Emitted by the broadcaster (CloudWatch embedded metric format), dimension ``Stage``."""
WAKEUP_FAILURES_METRIC: Final = "WakeupFailures"
"""Aurora wake-ups that failed since the last report (the broadcaster emits it, same way)."""

DATABASE_NAME: Final = "leaderboard"
DATABASE_USER: Final = "leaderboard"
"""The master user: owns the schema; only the migration function connects as it."""
APP_DATABASE_USER: Final = "leaderboard_app"
"""The service's database role: IAM authentication through RDS Proxy, DML and EXECUTE only
(created and granted by the migrations, see ``db/roles.py``)."""

ACCOUNT_CONCURRENCY_QUOTA: Final = 1000
"""Lambda's default concurrent-executions quota per account and region."""
UNRESERVED_CONCURRENCY_MIN: Final = 100
"""Lambda refuses a reservation that leaves fewer unreserved executions than this."""
CONCURRENCY_BUDGET: Final[dict[str, int]] = {"dev": 100, "prod": 600}
"""Reserved concurrency each stage may hold. Both stages in one account reserve at most
700 of the default 1,000, leaving 300 unreserved: the 100 Lambda requires, plus 200 for
the account's other functions (the CDK custom resources, the rotation function)."""


class DbMode(StrEnum):
    """How the Aurora instances are sized."""

    SERVERLESS = "serverless"
    PROVISIONED = "provisioned"


class Fn(StrEnum):
    """Every Lambda function of the service; the value is its construct id suffix."""

    AUTHORIZER = "authorizer"
    WS_CONNECT = "ws-connect"
    WS_DISCONNECT = "ws-disconnect"
    WS_SUBMIT = "ws-submit"
    WS_SUBSCRIBE = "ws-subscribe"
    WS_UNSUBSCRIBE = "ws-unsubscribe"
    WS_DEFAULT = "ws-default"
    WS_MODERATE = "ws-moderate"
    BROADCASTER = "broadcaster"
    REST = "rest"
    EXPIRE_CONNECTIONS = "expire-connections"
    ROLL_SEASONS = "roll-seasons"
    MIGRATE = "migrate"


HANDLERS: Final[dict[Fn, str]] = {
    Fn.AUTHORIZER: "authorizer.handler.handler",
    Fn.WS_CONNECT: "connect.handler.on_connect",
    Fn.WS_DISCONNECT: "connect.handler.on_disconnect",
    Fn.WS_SUBMIT: "connect.handler.on_submit",
    Fn.WS_SUBSCRIBE: "connect.handler.on_subscribe",
    Fn.WS_UNSUBSCRIBE: "connect.handler.on_unsubscribe",
    Fn.WS_DEFAULT: "connect.handler.on_default",
    Fn.WS_MODERATE: "connect.handler.on_moderate",
    Fn.BROADCASTER: "broadcast.handler.handler",
    Fn.REST: "rest.handler.handler",
    Fn.EXPIRE_CONNECTIONS: "connect.handler.expire_connections",
    Fn.ROLL_SEASONS: "db.handler.roll_seasons",
    Fn.MIGRATE: "db.handler.on_migrate_event",
}
"""Lambda handler string (``module.function``) of each function."""

WS_ROUTES: Final[dict[str, Fn]] = {
    "submit": Fn.WS_SUBMIT,
    "subscribe": Fn.WS_SUBSCRIBE,
    "unsubscribe": Fn.WS_UNSUBSCRIBE,
    # an admin's moderation (docs/moderation.md): rare, so one small function for all
    "remove_entry": Fn.WS_MODERATE,
    "ban": Fn.WS_MODERATE,
    "unban": Fn.WS_MODERATE,
    "erase_player": Fn.WS_MODERATE,
    "audit": Fn.WS_MODERATE,
}
"""Custom WebSocket routes, keyed by the ``action`` field of the client message."""

_DEV_CONCURRENCY: Final[dict[str, int | None]] = {
    Fn.AUTHORIZER: 10,
    Fn.WS_CONNECT: 5,
    Fn.WS_DISCONNECT: 5,
    Fn.WS_SUBMIT: 10,
    Fn.WS_SUBSCRIBE: 5,
    Fn.WS_UNSUBSCRIBE: 2,
    Fn.WS_DEFAULT: 2,
    Fn.WS_MODERATE: 1,
    Fn.BROADCASTER: 5,
    Fn.REST: 10,
    Fn.EXPIRE_CONNECTIONS: 1,
    Fn.ROLL_SEASONS: 1,
    Fn.MIGRATE: 1,
}
"""58 of dev's budget of 100."""
_PROD_CONCURRENCY: Final[dict[str, int | None]] = {
    Fn.AUTHORIZER: 60,
    Fn.WS_CONNECT: 60,
    Fn.WS_DISCONNECT: 40,
    Fn.WS_SUBMIT: 150,
    Fn.WS_SUBSCRIBE: 60,
    Fn.WS_UNSUBSCRIBE: 10,
    Fn.WS_DEFAULT: 5,
    Fn.WS_MODERATE: 2,
    Fn.BROADCASTER: 20,
    Fn.REST: 150,
    Fn.EXPIRE_CONNECTIONS: 1,
    Fn.ROLL_SEASONS: 1,
    Fn.MIGRATE: 1,
}
"""560 of prod's budget of 600."""

STAGE_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "dev": {
        "dbMode": "serverless",
        "dbReaders": 1,
        "dbMinAcu": 0.5,
        "dbMaxAcu": 4,
        "dbInstanceClass": "t4g.medium",
        "dbBackupRetentionDays": 1,
        "deletionProtection": False,
        "natGateways": 1,
        "reservedConcurrency": _DEV_CONCURRENCY,
        "logRetentionDays": 14,
        "wsThrottleRate": 100,
        "wsThrottleBurst": 200,
        "wsConnectThrottleRate": 50,
        "wsConnectThrottleBurst": 100,
        "wsSubmitThrottleRate": 100,
        "wsSubmitThrottleBurst": 200,
        "restThrottleRate": 100,
        "restThrottleBurst": 200,
    },
    "prod": {
        "dbMode": "provisioned",
        "dbReaders": 1,
        "dbMinAcu": 1,
        "dbMaxAcu": 32,
        "dbInstanceClass": "r7g.large",
        "dbBackupRetentionDays": 14,
        "deletionProtection": True,
        "natGateways": 3,
        "reservedConcurrency": _PROD_CONCURRENCY,
        "logRetentionDays": 90,
        "wsThrottleRate": 2000,
        "wsThrottleBurst": 5000,
        "wsConnectThrottleRate": 500,
        "wsConnectThrottleBurst": 1000,
        "wsSubmitThrottleRate": 1000,
        "wsSubmitThrottleBurst": 2000,
        "restThrottleRate": 2000,
        "restThrottleBurst": 5000,
    },
}


_RETENTION: Final[dict[int, logs.RetentionDays]] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
}


class StageConfig(BaseModel):
    """Everything that differs between deployments. Frozen; built once per app."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    stage: Literal["dev", "prod"]
    region: str = "us-east-1"
    account: str | None = None
    availability_zones: tuple[str, ...] = ()
    """Explicit AZ names, so synthesis needs no account lookup; defaults to ``<region>a..c``."""

    db_mode: DbMode
    db_readers: int = Field(ge=1, le=15)
    db_min_acu: float = Field(ge=0.5)
    db_max_acu: float = Field(ge=1, le=256)
    db_instance_class: str
    db_backup_retention_days: int = Field(ge=1, le=35)
    deletion_protection: bool
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=4, ge=1)

    nat_gateways: int = Field(ge=1)
    reserved_concurrency: dict[Fn, int | None]
    concurrency_budget: int = Field(default=0, ge=0)
    """Most reserved concurrency the stage may hold; defaults to ``CONCURRENCY_BUDGET``."""
    memory_mb: int = Field(default=512, ge=128, le=10240)
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]

    ws_throttle_rate: float = Field(gt=0)
    ws_throttle_burst: int = Field(gt=0)
    ws_connect_throttle_rate: float = Field(gt=0)
    """``$connect`` per second: bounds connection churn (each one an authorizer run and a
    database write) below what would starve submits."""
    ws_connect_throttle_burst: int = Field(gt=0)
    ws_submit_throttle_rate: float = Field(gt=0)
    """``submit`` messages per second: what the database acks with room to spare; beyond
    it API Gateway refuses them before a function runs."""
    ws_submit_throttle_burst: int = Field(gt=0)
    rest_throttle_rate: float = Field(gt=0)
    rest_throttle_burst: int = Field(gt=0)
    conflation_ms: int = Field(default=100, ge=0)
    broadcast_sweep_minutes: int = Field(default=1, ge=1)
    expire_connections_minutes: int = Field(default=5, ge=1)
    roll_seasons_minutes: int = Field(default=5, ge=1)
    broadcast_lag_alarm_ms: int = Field(default=2000, gt=0)
    replica_lag_alarm_ms: int = Field(default=2000, gt=0)
    async_max_event_age_s: int = Field(default=300, ge=60, le=21600)
    """How long Lambda keeps retrying to start a queued asynchronous event before it goes
    to the dead-letter queue (wake-ups and fan-out shards are stale after that)."""
    db_connections_alarm: int = Field(default=400, gt=0)

    jwt_issuer: str = "leaderboard"
    jwt_audience: str = "leaderboard"
    jwks_url: str | None = None
    """With a JWKS URL the stack trusts an external issuer and creates no HS256 secret."""

    domain_name: str | None = None
    """Zone apex of the hosted zone; with ``hostedZoneId`` it turns on custom domains."""
    hosted_zone_id: str | None = None
    rest_hostname: str | None = None
    """Defaults to ``api.<domainName>`` (edge-optimized, certificate in us-east-1)."""
    ws_hostname: str | None = None
    """Defaults to ``ws.<domainName>`` (regional; cannot share a name with REST)."""
    rest_certificate_arn: str | None = None
    """Needed when ``region`` is not us-east-1: edge certificates live there."""

    alarm_email: str | None = None
    github_repository: str | None = None
    """``owner/name``: creates the OIDC deploy-role stack for GitHub Actions."""

    @field_validator("reserved_concurrency", "availability_zones", mode="before")
    @classmethod
    def _parse_json(cls, value: Any) -> Any:
        """``-c key=value`` arrives as a string; accept JSON there."""
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("reserved_concurrency")
    @classmethod
    def _complete_concurrency(cls, value: dict[Fn, int | None]) -> dict[Fn, int | None]:
        missing = [fn.value for fn in Fn if fn not in value]
        if missing:
            raise ValueError(f"reservedConcurrency: expected every function, missing {missing}")
        return value

    @model_validator(mode="after")
    def _check(self) -> StageConfig:
        if not self.availability_zones:
            azs = tuple(f"{self.region}{letter}" for letter in "abc")
            object.__setattr__(self, "availability_zones", azs)
        if len(self.availability_zones) < 2:
            raise ValueError(
                f"availabilityZones: expected at least 2, got {list(self.availability_zones)}"
            )
        if self.nat_gateways > len(self.availability_zones):
            raise ValueError(
                f"natGateways: expected at most {len(self.availability_zones)} "
                f"(one per AZ), got {self.nat_gateways}"
            )
        if not self.concurrency_budget:
            object.__setattr__(self, "concurrency_budget", CONCURRENCY_BUDGET[self.stage])
        reserved = self.reserved_concurrency_total
        if reserved > self.concurrency_budget:
            raise ValueError(
                f"reservedConcurrency: expected at most {self.concurrency_budget} in all "
                f"(the {self.stage} stage's concurrencyBudget), got {reserved}"
            )
        if self.db_min_acu > self.db_max_acu:
            raise ValueError(f"dbMinAcu {self.db_min_acu} exceeds dbMaxAcu {self.db_max_acu}")
        if (self.domain_name is None) != (self.hosted_zone_id is None):
            raise ValueError("domainName and hostedZoneId: expected both or neither")
        if self.domain_name and self.region != "us-east-1" and not self.rest_certificate_arn:
            raise ValueError(
                f"restCertificateArn: required in region {self.region}, since an "
                "edge-optimized API needs a certificate in us-east-1"
            )
        return self

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    @property
    def reserved_concurrency_total(self) -> int:
        return sum(v for v in self.reserved_concurrency.values() if v)

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION[self.log_retention_days]

    @property
    def custom_domains(self) -> tuple[str, str] | None:
        """``(rest_hostname, ws_hostname)`` when custom domains are on."""
        if self.domain_name is None:
            return None
        return (
            self.rest_hostname or f"api.{self.domain_name}",
            self.ws_hostname or f"ws.{self.domain_name}",
        )

    @classmethod
    def from_context(cls, node: Node) -> StageConfig:
        """Read ``stage`` and the layered settings from CDK context."""
        stage = node.try_get_context("stage") or "dev"
        if stage not in STAGE_DEFAULTS:
            raise ValueError(f"stage: expected one of {sorted(STAGE_DEFAULTS)}, got {stage!r}")
        values: dict[str, Any] = {**STAGE_DEFAULTS[stage], "stage": stage}
        values.update(node.try_get_context(f"leaderboard:{stage}") or {})
        for name, field in cls.model_fields.items():
            alias = field.alias or name
            given = node.try_get_context(alias)
            if given is not None and alias != "stage":
                values[alias] = given
        concurrency = values.get("reservedConcurrency")
        if isinstance(concurrency, str):
            concurrency = json.loads(concurrency)
        if isinstance(concurrency, dict):
            # Partial overrides keep the stage's defaults for the other functions.
            base = {str(k): v for k, v in STAGE_DEFAULTS[stage]["reservedConcurrency"].items()}
            values["reservedConcurrency"] = {**base, **concurrency}
        return cls.model_validate(values)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LambdaEnvironment:
    """The ``LEADERBOARD_*`` variables of a function; names mirror ``core.settings.Settings``."""

    stage: str
    aws_region: str
    database_url: str | None = None
    reader_url: str | None = None
    db_secret_arn: str | None = None
    db_iam_user: str | None = None
    db_proxy: bool | None = None
    db_pool_min: int | None = None
    db_pool_max: int | None = None
    jwt_secret_arn: str | None = None
    cursor_secret_arn: str | None = None
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    ws_api_id: str | None = None
    ws_stage: str | None = None
    conflation_ms: int | None = None
    broadcast_function_name: str | None = None

    def to_env(self) -> dict[str, str]:
        """The variables to set; unset fields are left out so the settings defaults apply."""
        return {
            f"{ENV_PREFIX}{field.name.upper()}": str(value).lower()
            if isinstance(value, bool)
            else str(value)
            for field in dataclasses.fields(self)
            if (value := getattr(self, field.name)) is not None
        }
