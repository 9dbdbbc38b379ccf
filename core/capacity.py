"""The capacity and cost model of a deployment on AWS: what a steady load needs and costs.

:func:`estimate` is pure: a :class:`Load` (players online, submits a second, spectators,
tickers, REST reads), the per-operation costs measured on the local service
(:class:`Measured`, each with where it came from), the assumptions the measurements cannot
give (:class:`Assumptions`) and a :class:`~core.capacity_prices.PriceSheet` go in; the
database size, Lambda invocations and GB-seconds, API Gateway messages and
connection-minutes, a month's cost line by line, and the account limits the load crosses
come out. ``leaderboard capacity`` prints it; docs/capacity.md explains the method.

A month is 730 hours of the given load around the clock: an upper bound for a load that
peaks for a few hours a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from core.capacity_prices import US_EAST_1, PriceSheet

HOURS_PER_MONTH: Final = 730.0
SECONDS_PER_MONTH: Final = HOURS_PER_MONTH * 3600


@dataclass(frozen=True, kw_only=True)
class Load:
    """A steady load. ``players`` are online at once, each on one WebSocket that submits;
    ``tickers`` of them also watch their own rank (a ``me`` view on that connection);
    ``spectators`` are connections of their own, each watching one top-N view. Boards
    share the submits and the watchers evenly."""

    players: int
    submits_per_s: float
    spectators: int
    tickers: int = 0
    rest_reads_per_s: float = 0.0
    boards: int = 1
    entries: int | None = None
    """Ranked players on the boards (default: ``players``)."""

    def __post_init__(self) -> None:
        for name in ("players", "submits_per_s", "spectators", "tickers", "rest_reads_per_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
        if self.boards < 1:
            raise ValueError(f"boards: expected at least 1, got {self.boards}")
        if self.tickers > self.players:
            raise ValueError(
                f"tickers: expected at most players ({self.players}), got {self.tickers}: "
                "a ticker is a player watching its own rank"
            )
        if self.entries is not None and self.entries < 0:
            raise ValueError(f"entries: expected >= 0, got {self.entries}")

    @property
    def ranked(self) -> int:
        return self.players if self.entries is None else self.entries


@dataclass(frozen=True, kw_only=True)
class Measured:
    """Per-operation costs measured on the local service (docs/performance.md, the README's
    figures), on a 2-core machine whose core this model takes as one vCPU."""

    db_ms_per_submit: float = 0.95 / 1408 * 1000
    """PostgreSQL CPU per acked single submit, compaction included: 0.95 core of backends
    at 1,408 acked/s ("Where a submit's time goes", 2026-11-27)."""
    db_ms_per_read: float = 0.22
    """PostgreSQL CPU per rank read: 178-220 us ("Where a rank read's time goes")."""
    db_ms_per_round: float = (150 + 123) / 150
    """Re-reading the top-N views in a broadcaster round: planning and execution, 273 ms
    over ~150 rounds in 15 s of the push load ("Rank reads", "Left")."""
    db_ms_per_watcher_round: float = 24 / 2000
    """Saving view states: 24 ms a round for 2,000 watchers ("Push latency at rates the
    machine sustains")."""
    db_ms_per_ticker_moved: float = 178 / 5000
    """Re-ranking one moved ticker in the merged pass: ten 500-key passes in 178 ms
    ("One ordered stream, no join")."""
    views_ms_per_watcher_round: float = 53 / 2000
    """The broadcaster computing views: 53 ms a round for 2,000 watchers (same note)."""
    post_ms: float = 1000 / 2292
    """One ``@connections`` post by the SigV4 adapter, concurrent: 2,292 posts/s from one
    process (README figures)."""


@dataclass(frozen=True, kw_only=True)
class Assumptions:
    """What the local measurements cannot give; each is an input to change."""

    vcpu_per_acu: float = 0.25
    """An ACU is about 2 GiB with matching CPU; memory-optimized instances have 8 GiB per
    vCPU, so 4 ACUs are taken as one vCPU."""
    db_utilization: float = 0.6
    """The share of the database's CPU the load may use (headroom for peaks, vacuum)."""
    bytes_per_entry: float = 400.0
    """An entry with its indexes, ladder share and recent change events."""
    cache_gib_per_acu: float = 1.0
    """Of an ACU's 2 GiB, what holds the working set (all entries stay cached)."""
    db_readers: int = 1
    """Aurora readers (infra: ``dbReaders``); in promotion tier 1 each scales with the
    writer, so each costs at least the writer's ACUs."""
    conflation_ms: float = 100.0
    """At most one broadcaster round per board per window (``conflation_ms``)."""
    top_change_share: float = 1.0
    """The share of rounds that change a top-N view (1: every round, an upper bound)."""
    ticker_change_share: float = 1.0
    """The share of rounds that move a ticker's rank (1: every round, an upper bound)."""
    session_s: float = 30 * 60
    """How long a connection stays open; API Gateway closes one at 2 hours."""
    resync_s: float = 240.0
    """Each view resubscribes this often (the TypeScript SDK's keepalive, under API
    Gateway's 10-minute idle timeout): one message in, one snapshot out."""
    frame_bytes_top: float = 120 + 80 * 10
    """A top-10 frame; a frame over 32 KB is billed as two messages."""
    frame_bytes_small: float = 250.0
    """An ack, a ticker update or a ``me`` snapshot."""
    post_overhead_bytes: float = 1500.0
    """HTTPS and SigV4 around each post, through the NAT gateway."""
    route_ms: float = 10.0
    """Billed duration of a WebSocket route or REST invocation: the handler's ~0.5 ms of
    CPU, its statement through RDS Proxy and the reply's post (not measured on AWS)."""
    authorizer_ms: float = 5.0
    round_fixed_ms: float = 10.0
    """A broadcaster round's own database round trips, besides its views and posts."""
    route_mb: int = 512
    authorizer_mb: int = 256
    broadcaster_mb: int = 1024
    shard_frames: int = 5000
    """Frames above which a round hands shards to other broadcaster runs."""
    io_per_submit: float = 1.0
    """Aurora Standard I/Os per submit (its log write); reads are cached."""
    nat_gateways: int = 3
    endpoint_azs: int = 3
    """Availability zones of the Lambda interface endpoint."""


MEASURED: Final = Measured()
ASSUMED: Final = Assumptions()


@dataclass(frozen=True)
class Flag:
    """A limit the load crosses: what, how much the load needs, and the limit."""

    limit: str
    needed: float
    allowed: float
    note: str


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: float
    unit: str
    monthly_usd: float


@dataclass(frozen=True)
class Database:
    writer_vcpu: float
    reader_vcpu: float
    working_set_gib: float
    writer_acus: float
    reader_acus: float
    instance_class: str
    """The smallest memory-optimized class with the vCPUs and memory (not priced: the
    price sheet has no instance prices)."""


@dataclass(frozen=True)
class Traffic:
    connections: int
    new_connections_per_s: float
    reconnect_all_s: float
    """How long every connection takes to come back at the new-connection limit."""
    rounds_per_s: float
    round_ms: float
    """A broadcaster round of one board: its own work, views and posts (up to a shard)."""
    inbound_messages_per_s: float
    posts_per_s: float
    """``@connections`` posts: acks, snapshots and view updates."""
    message_units_per_s: float
    api_requests_per_s: float
    """What counts against the account throttle: messages in, posts, REST requests and
    new connections."""
    connection_minutes_per_month: float
    rest_requests_per_month: float


@dataclass(frozen=True)
class Lambdas:
    invocations_per_s: dict[str, float]
    gb_seconds_per_s: dict[str, float]
    concurrency: dict[str, float]
    invocations_per_month: float
    gb_seconds_per_month: float


@dataclass(frozen=True)
class Estimate:
    load: Load
    database: Database
    traffic: Traffic
    lambdas: Lambdas
    costs: list[CostLine]
    storage: str
    """The cheaper Aurora storage configuration for this load."""
    monthly_usd: float
    flags: list[Flag] = field(default_factory=list)


INSTANCE_CLASSES: Final = (  # (class, vCPU, GiB): the r7g family
    ("db.r7g.large", 2, 16),
    ("db.r7g.xlarge", 4, 32),
    ("db.r7g.2xlarge", 8, 64),
    ("db.r7g.4xlarge", 16, 128),
    ("db.r7g.8xlarge", 32, 256),
    ("db.r7g.12xlarge", 48, 384),
    ("db.r7g.16xlarge", 64, 512),
)


def instance_class(vcpu: float, gib: float) -> str:
    """The smallest r7g class with ``vcpu`` vCPUs and ``gib`` GiB, or a note that one
    writer is not enough."""
    for name, cpus, memory in INSTANCE_CLASSES:
        if cpus >= vcpu and memory >= gib:
            return name
    return "more than one db.r7g.16xlarge: shard boards across clusters"


def _acus(needed: float, prices: PriceSheet) -> float:
    """Rounded up to half an ACU, at least the minimum."""
    return max(prices.aurora_min_acu, math.ceil(needed * 2) / 2)


def rounds_per_board(submits_per_s: float, conflation_ms: float) -> float:
    """Broadcaster rounds a second on one board: one per window that saw a submit, with
    submits arriving at random (Poisson)."""
    window_s = conflation_ms / 1000
    return (1 - math.exp(-submits_per_s * window_s)) / window_s


def _session_s(a: Assumptions, p: PriceSheet) -> float:
    """A connection's life: the assumed session, at most API Gateway's maximum."""
    return min(a.session_s, p.ws_connection_max_s)


def _database(
    load: Load, rounds: float, subscribes: float, m: Measured, a: Assumptions, p: PriceSheet
) -> Database:
    watchers_per_board = (load.spectators + load.tickers) / load.boards
    tickers_share = load.tickers / load.players if load.players else 0.0
    writer_ms = (
        load.submits_per_s * m.db_ms_per_submit
        + load.submits_per_s * tickers_share * m.db_ms_per_ticker_moved
        + rounds * (m.db_ms_per_round + m.db_ms_per_watcher_round * watchers_per_board)
        + subscribes * m.db_ms_per_read
    )
    writer_vcpu = writer_ms / 1000 / a.db_utilization
    reader_vcpu = load.rest_reads_per_s * m.db_ms_per_read / 1000 / a.db_utilization
    gib = load.ranked * a.bytes_per_entry / 2**30
    floor = gib / a.cache_gib_per_acu
    writer_acus = _acus(max(writer_vcpu / a.vcpu_per_acu, floor), p)
    reader_acus = _acus(max(reader_vcpu / a.vcpu_per_acu, floor, writer_acus), p)
    return Database(
        writer_vcpu=writer_vcpu,
        reader_vcpu=reader_vcpu,
        working_set_gib=gib,
        writer_acus=writer_acus,
        reader_acus=reader_acus,
        instance_class=instance_class(writer_vcpu, gib),
    )


def estimate(
    load: Load,
    *,
    measured: Measured = MEASURED,
    assumptions: Assumptions = ASSUMED,
    prices: PriceSheet = US_EAST_1,
) -> Estimate:
    """What ``load`` needs on AWS and what a month of it costs."""
    m, a, p = measured, assumptions, prices
    boards = load.boards
    session_s = _session_s(a, p)
    connections = load.players + load.spectators
    new_connections = connections / session_s
    views = load.spectators + load.tickers
    subscribes = views * (1 / session_s + 1 / a.resync_s)
    # A board's rounds run one at a time: a round posts its changed views (up to a shard;
    # more go to other runs), so a round longer than the window spaces the rounds out.
    changed_per_round = (
        load.spectators * a.top_change_share + load.tickers * a.ticker_change_share
    ) / boards
    round_ms = (
        a.round_fixed_ms
        + m.views_ms_per_watcher_round * views / boards
        + min(changed_per_round, a.shard_frames) * m.post_ms
    )
    poisson_rounds = rounds_per_board(load.submits_per_s / boards, a.conflation_ms)
    per_board = min(poisson_rounds, 1000 / round_ms)
    rounds = boards * per_board
    top_updates = load.spectators * per_board * a.top_change_share
    ticker_updates = load.tickers * per_board * a.ticker_change_share
    posts = load.submits_per_s + subscribes + top_updates + ticker_updates
    top_units = math.ceil(a.frame_bytes_top / p.ws_message_unit_bytes)
    inbound = load.submits_per_s + subscribes
    units = (
        inbound
        + load.submits_per_s  # acks
        + (load.spectators * (1 / session_s + 1 / a.resync_s) + top_updates) * top_units
        + load.tickers * (1 / session_s + 1 / a.resync_s)
        + ticker_updates
    )
    traffic = Traffic(
        connections=connections,
        new_connections_per_s=new_connections,
        reconnect_all_s=connections / p.new_connections_per_s,
        rounds_per_s=rounds,
        round_ms=round_ms,
        inbound_messages_per_s=inbound,
        posts_per_s=posts,
        message_units_per_s=units,
        api_requests_per_s=inbound + posts + load.rest_reads_per_s + new_connections,
        connection_minutes_per_month=connections * HOURS_PER_MONTH * 60,
        rest_requests_per_month=load.rest_reads_per_s * SECONDS_PER_MONTH,
    )

    # Frames past the first shard are posted by other runs, each with its own overhead.
    shards = max(0, math.ceil(changed_per_round / a.shard_frames) - 1)
    handed_ms = max(0.0, changed_per_round - a.shard_frames) * m.post_ms
    invocations = {
        "authorizer": new_connections + load.rest_reads_per_s,
        "ws-connect": new_connections,
        "ws-disconnect": new_connections,
        "ws-submit": load.submits_per_s,
        "ws-subscribe": subscribes,
        "broadcaster": rounds * (1 + shards) + 1 / 60,  # and the sweep, once a minute
        "rest": load.rest_reads_per_s,
    }
    busy_s = {name: a.route_ms / 1000 * n for name, n in invocations.items()}
    busy_s["authorizer"] = a.authorizer_ms / 1000 * invocations["authorizer"]
    busy_s["broadcaster"] = rounds * (round_ms + handed_ms + shards * a.round_fixed_ms) / 1000
    memory = {name: a.route_mb / 1024 for name in invocations}
    memory["authorizer"] = a.authorizer_mb / 1024
    memory["broadcaster"] = a.broadcaster_mb / 1024
    gb_s = {n: busy_s[n] * memory[n] for n in invocations}
    lambdas = Lambdas(
        invocations_per_s=invocations,
        gb_seconds_per_s=gb_s,
        concurrency=busy_s,
        invocations_per_month=sum(invocations.values()) * SECONDS_PER_MONTH,
        gb_seconds_per_month=sum(gb_s.values()) * SECONDS_PER_MONTH,
    )

    db = _database(load, rounds, subscribes, m, a, p)
    acus = db.writer_acus + a.db_readers * db.reader_acus
    storage_gib = max(db.working_set_gib, 1.0)
    ios = load.submits_per_s * a.io_per_submit * SECONDS_PER_MONTH
    standard = acus * HOURS_PER_MONTH * p.aurora_acu_hour + storage_gib * (
        p.aurora_storage_gib_month
    ) + ios / 1e6 * p.aurora_io_per_million  # fmt: skip
    optimized = (
        acus * HOURS_PER_MONTH * p.aurora_acu_hour_io_optimized
        + storage_gib * p.aurora_storage_gib_month_io_optimized
    )
    io_optimized = optimized < standard
    nat_gb = posts * (a.frame_bytes_small + a.post_overhead_bytes) * SECONDS_PER_MONTH / 1e9
    messages = units * SECONDS_PER_MONTH
    lines = [
        CostLine("API Gateway WebSocket messages", messages, "32 KB units",
                 messages / 1e6 * p.ws_message_per_million),
        CostLine("API Gateway connection-minutes", traffic.connection_minutes_per_month,
                 "minutes", traffic.connection_minutes_per_month / 1e6
                 * p.ws_connection_minute_per_million),
        CostLine("Lambda requests", lambdas.invocations_per_month, "requests",
                 lambdas.invocations_per_month / 1e6 * p.lambda_request_per_million),
        CostLine("Lambda compute", lambdas.gb_seconds_per_month, "GB-s",
                 lambdas.gb_seconds_per_month * p.lambda_gb_second),
        CostLine("Aurora Serverless v2 (writer + readers)", acus * HOURS_PER_MONTH,
                 "ACU-hours", acus * HOURS_PER_MONTH * (
                     p.aurora_acu_hour_io_optimized if io_optimized else p.aurora_acu_hour)),
        CostLine("Aurora storage", storage_gib, "GiB-month", storage_gib * (
            p.aurora_storage_gib_month_io_optimized if io_optimized
            else p.aurora_storage_gib_month)),
        CostLine("Aurora I/O", 0.0 if io_optimized else ios, "I/Os",
                 0.0 if io_optimized else ios / 1e6 * p.aurora_io_per_million),
        CostLine("RDS Proxy", max(acus, p.rds_proxy_min_acus) * HOURS_PER_MONTH, "ACU-hours",
                 max(acus, p.rds_proxy_min_acus) * HOURS_PER_MONTH * p.rds_proxy_acu_hour),
        CostLine("NAT gateways", a.nat_gateways * HOURS_PER_MONTH, "hours",
                 a.nat_gateways * HOURS_PER_MONTH * p.nat_gateway_hour + nat_gb
                 * p.nat_gateway_gb),
        CostLine("Lambda interface endpoint", a.endpoint_azs * HOURS_PER_MONTH, "AZ-hours",
                 a.endpoint_azs * HOURS_PER_MONTH * p.interface_endpoint_az_hour),
    ]  # fmt: skip
    return Estimate(
        load=load,
        database=db,
        traffic=traffic,
        lambdas=lambdas,
        costs=lines,
        storage="I/O-Optimized" if io_optimized else "Standard",
        monthly_usd=sum(line.monthly_usd for line in lines),
        flags=_flags(
            traffic,
            lambdas,
            db,
            messages,
            p,
            saturated=per_board < poisson_rounds,
            window_ms=a.conflation_ms,
        ),
    )


def _flags(
    traffic: Traffic,
    lambdas: Lambdas,
    db: Database,
    messages: float,
    p: PriceSheet,
    *,
    saturated: bool,
    window_ms: float,
) -> list[Flag]:
    checks = [
        ("broadcaster round per board (ms)", traffic.round_ms if saturated else 0.0, window_ms,
         "a board's rounds follow each other slower than its submits start them: its "
         "watchers get fewer, later frames; spread them over more boards or widen the "
         "window"),
        ("API Gateway requests/s (account)", traffic.api_requests_per_s, p.api_requests_per_s,
         "messages in, @connections posts, REST requests and connects share it; raisable "
         "on request"),
        ("new WebSocket connections/s (account)", traffic.new_connections_per_s,
         p.new_connections_per_s, "raisable on request"),
        ("Lambda concurrent executions (account)", sum(lambdas.concurrency.values()),
         p.lambda_concurrency, "the default quota, raisable (AWS documentation)"),
        ("Aurora ACUs per instance", db.writer_acus, p.aurora_max_acu,
         "one writer cannot scale further: shard boards across clusters"),
        ("WebSocket messages/month at the first-tier price", messages,
         p.ws_messages_first_tier, "later tiers are cheaper: the cost above is an upper bound"),
    ]  # fmt: skip
    return [Flag(name, needed, allowed, note) for name, needed, allowed, note in checks
            if needed > allowed]  # fmt: skip


__all__ = [
    "ASSUMED",
    "MEASURED",
    "Assumptions",
    "CostLine",
    "Estimate",
    "Flag",
    "Load",
    "Measured",
    "estimate",
    "instance_class",
    "rounds_per_board",
]
