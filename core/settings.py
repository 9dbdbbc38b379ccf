"""The one settings object, read from ``LEADERBOARD_*`` environment variables.

Build it once at cold start (``Settings()``) and inject it; tests pass values as
keyword arguments instead of patching ``os.environ``. A missing required key fails
at construction with pydantic's message naming it.

On AWS no secret is read from a plain environment variable: ``db_secret_arn``,
``jwt_secret_arn`` and ``cursor_secret_arn`` name Secrets Manager secrets that the AWS
adapters resolve.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "LEADERBOARD_"


class Settings(BaseSettings):
    """Every knob of the service, with production defaults."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # --- database -------------------------------------------------------------
    database_url: str | None = Field(
        default=None, description="Primary (writer) DSN. Unset locally: the embedded PostgreSQL."
    )
    reader_url: str | None = Field(
        default=None, description="Read-replica DSN for snapshots; falls back to the primary."
    )
    db_secret_arn: str | None = Field(
        default=None, description="AWS: Secrets Manager secret holding the database credentials."
    )
    db_iam_user: str | None = Field(
        default=None,
        description="AWS: connect as this database role with an IAM token (RDS Proxy), "
        "generated per new connection; no password is read.",
    )
    db_proxy: bool = Field(
        default=False,
        description="Connections go through RDS Proxy: no named prepared statements "
        "(asyncpg's statement cache off), so no session is pinned.",
    )
    db_pool_min: int = 1
    db_pool_max: int = 10
    data_dir: str = Field(
        default="var", description="Local runtime: where the embedded cluster lives."
    )

    # --- auth -----------------------------------------------------------------
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 shared secret (self-hosting)."
    )
    jwt_secret_arn: str | None = Field(
        default=None, description="AWS: secret holding the HS256 key."
    )
    jwks_url: str | None = Field(default=None, description="OIDC JWKS URL for RS256/ES256 tokens.")
    cursor_secret: SecretStr | None = Field(
        default=None, description="Key material for REST page cursors (else the JWT secret)."
    )
    cursor_secret_arn: str | None = Field(
        default=None, description="AWS: secret holding the REST page-cursor key material."
    )
    jwt_algorithms: tuple[Literal["HS256", "RS256", "ES256"], ...] = ("HS256",)
    jwt_issuer: str = "leaderboard-local"
    jwt_audience: str = "leaderboard"
    jwt_leeway_s: int = 30
    jwks_cache_s: int = 300

    # --- ranking and feed ---------------------------------------------------
    metadata_max_bytes: int = Field(
        default=1024, description="An entry's metadata: at most this many bytes of JSON."
    )
    batch_max: int = Field(default=1000, description="At most this many scores in one submit.")
    batch_max_bytes: int = Field(
        default=32 * 1024,
        description="A WebSocket batch submit: at most this many bytes of message, so it fits "
        "one API Gateway frame (32 KB); the SDK splits larger batches.",
    )
    page_max: int = 1000
    outbox_retention_s: int = 24 * 3600
    submission_retention_s: int = 24 * 3600

    # --- WebSocket front door (API Gateway's limits) --------------------------
    max_frame_bytes: int = 32 * 1024
    max_message_bytes: int = 128 * 1024
    idle_timeout_s: float = 600.0
    max_connection_s: float = 7200.0
    connection_ttl_s: int = 7200
    max_inflight: int = Field(
        default=32,
        ge=1,
        description="Local runtime: messages admitted and not yet answered, per process; a "
        "message beyond it is refused at once with `overloaded` (503, retry_after_ms).",
    )
    message_rate: float = Field(
        default=100.0,
        gt=0,
        description="Messages per second one WebSocket connection may send (local runtime); "
        "beyond it a message is refused with `rate_limited` (429, retry_after_ms).",
    )
    message_burst: int = Field(
        default=200, ge=1, description="Messages a connection may send at once above its rate."
    )
    handshake_concurrency: int = Field(
        default=4,
        ge=1,
        description="Local runtime: connections whose authorizer and $connect/$disconnect "
        "bookkeeping run at once; the rest wait, so connection churn never takes the "
        "database connections that submits need.",
    )

    # --- broadcaster ----------------------------------------------------------
    conflation_ms: int = Field(
        default=100, description="Per connection and view: at most one frame per this window."
    )
    broadcast_round_ms: int = Field(
        default=10, description="A board's broadcaster rounds start at least this far apart."
    )
    view_top_max: int = 100

    # --- AWS ------------------------------------------------------------------
    aws_region: str = "us-east-1"
    broadcast_function_name: str | None = Field(
        default=None,
        description="AWS: the broadcaster's own function name, to hand large fan-outs to shards.",
    )
    ws_api_id: str | None = None
    ws_stage: str = "prod"
    management_endpoint: str | None = Field(
        default=None,
        description="The @connections endpoint, when not the stage's default "
        "https://{ws_api_id}.execute-api.{aws_region}.amazonaws.com/{ws_stage}.",
    )
    lambda_endpoint: str | None = Field(
        default=None, description="The Lambda API endpoint, when not the region's default."
    )
    stage: Literal["local", "dev", "prod"] = "local"

    # --- local runtime --------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8080
