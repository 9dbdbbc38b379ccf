"""AWS list prices and account limits that the capacity model (:mod:`core.capacity`) uses.

Copied from a price sheet collected in December 2026 for us-east-1 from the AWS pricing and
quota pages; each figure is a named field, so a caller can price another region or a
negotiated rate by passing its own :class:`PriceSheet`. Check a figure against the AWS
page before relying on it. Limits marked "AWS documentation" were not on the sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, kw_only=True)
class PriceSheet:
    """Prices in US dollars, limits per account and region unless a field says otherwise."""

    collected: str
    region: str
    ws_message_per_million: float
    """API Gateway WebSocket messages, metered in ``ws_message_unit_bytes`` units; server
    to client posts count. The first billion a month; later tiers are lower."""
    ws_message_unit_bytes: int
    ws_messages_first_tier: float
    """Messages a month the ``ws_message_per_million`` price applies to."""
    ws_connection_minute_per_million: float
    lambda_gb_second: float
    """Lambda on arm64."""
    lambda_request_per_million: float
    aurora_acu_hour: float
    """Aurora Serverless v2, Aurora Standard storage."""
    aurora_acu_hour_io_optimized: float
    aurora_storage_gib_month: float
    aurora_io_per_million: float
    aurora_storage_gib_month_io_optimized: float
    rds_proxy_acu_hour: float
    """RDS Proxy on Serverless v2: per ACU of the instances behind it, at least
    ``rds_proxy_min_acus`` (a third party's reading of the AWS page)."""
    rds_proxy_min_acus: float
    nat_gateway_hour: float
    nat_gateway_gb: float
    interface_endpoint_az_hour: float
    api_requests_per_s: float
    """The account's API Gateway throttle, steady rate: shared by REST, HTTP, WebSocket
    messages and ``@connections`` posts."""
    api_burst: float
    new_connections_per_s: float
    ws_connection_max_s: float
    ws_idle_timeout_s: float
    aurora_min_acu: float
    aurora_max_acu: float
    """The most ACUs one Serverless v2 instance scales to (AWS documentation)."""
    lambda_concurrency: float
    """The account's default concurrent executions quota (AWS documentation)."""


US_EAST_1: Final = PriceSheet(
    collected="2026-12",
    region="us-east-1",
    ws_message_per_million=1.00,
    ws_message_unit_bytes=32 * 1024,
    ws_messages_first_tier=1e9,
    ws_connection_minute_per_million=0.25,
    lambda_gb_second=0.0000133334,
    lambda_request_per_million=0.20,
    aurora_acu_hour=0.12,
    aurora_acu_hour_io_optimized=0.156,
    aurora_storage_gib_month=0.10,
    aurora_io_per_million=0.20,
    aurora_storage_gib_month_io_optimized=0.225,
    rds_proxy_acu_hour=0.015,
    rds_proxy_min_acus=8,
    nat_gateway_hour=0.045,
    nat_gateway_gb=0.045,
    interface_endpoint_az_hour=0.01,
    api_requests_per_s=10_000,
    api_burst=5_000,
    new_connections_per_s=500,
    ws_connection_max_s=2 * 3600,
    ws_idle_timeout_s=10 * 60,
    aurora_min_acu=0.5,
    aurora_max_acu=256,
    lambda_concurrency=1_000,
)
"""The sheet of December 2026, us-east-1."""
