"""The ``leaderboard`` command: everything a user runs.

leaderboard up [--demo]              the local service (embedded PostgreSQL + replica)
leaderboard token --player alice     mint a development token
leaderboard migrate --dsn DSN        apply migrations to any PostgreSQL
leaderboard smoke --ws URL --rest URL --token JWT
                                     check a deployment end to end (exit 1 on a mismatch)
leaderboard capacity --players N --submits-per-s X --spectators Y
                                     what a load needs on AWS and what a month costs

Installed distributions add subcommands through ``leaderboard.commands`` entry points
(each a function given the subparsers): the benchmarks add ``leaderboard bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Final

from core.settings import Settings

if TYPE_CHECKING:
    from core.capacity import Estimate

DEV_SECRET_FILE = "jwt-secret"
COMMANDS_GROUP: Final = "leaderboard.commands"


def dev_secret(data_dir: Path) -> str:
    """The local HS256 secret: LEADERBOARD_JWT_SECRET, else one generated once per data dir."""
    configured = os.environ.get("LEADERBOARD_JWT_SECRET")
    if configured:
        return configured
    path = data_dir / DEV_SECRET_FILE
    if not path.exists():
        import secrets

        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _settings(args: argparse.Namespace) -> Settings:

    data_dir = Path(args.data_dir)
    overrides: dict[str, object] = {"data_dir": str(data_dir)}
    if not os.environ.get("LEADERBOARD_JWT_SECRET") and not os.environ.get("LEADERBOARD_JWKS_URL"):
        overrides["jwt_secret"] = dev_secret(data_dir)
    if getattr(args, "port", None) is not None:
        overrides["port"] = args.port
    return Settings(**overrides)  # type: ignore[arg-type]


def cmd_token(args: argparse.Namespace) -> int:
    from authorizer.tokens import mint_token

    settings = _settings(args)
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    # A token needs a subject: a server, spectator or admin token without a player is
    # that role's own development subject (as `leaderboard up` mints them).
    subject = args.subject or (None if args.player else f"dev-{args.role}")
    print(mint_token(
        secret=secret, player_id=args.player, role=args.role, issuer=settings.jwt_issuer,
        audience=settings.jwt_audience, ttl_s=args.ttl, subject=subject,
    ))  # fmt: skip
    return 0


def more_tokens_hint(data_dir: str | Path) -> str:
    """The command that mints more tokens for a service started on ``data_dir`` (whose
    secret lives there unless LEADERBOARD_JWT_SECRET is set), absolute, so it works from
    any directory."""
    where = shlex.quote(str(Path(data_dir).resolve()))
    return (
        f"leaderboard --data-dir {where} token --player alice --role player"
        " (or --role server|spectator|admin)"
    )


def cmd_up(args: argparse.Namespace) -> int:
    from runtime.serve import serve

    return int(asyncio.run(serve(_settings(args), demo=args.demo)))


def cmd_migrate(args: argparse.Namespace) -> int:
    import asyncpg

    from db.migrate import migrate

    async def run() -> list[int]:
        conn = await asyncpg.connect(args.dsn)
        try:
            return await migrate(conn)
        finally:
            await conn.close()

    applied = asyncio.run(run())
    print(f"applied: {applied or 'nothing (up to date)'}")
    return 0


def cmd_smoke(args: argparse.Namespace) -> int:
    from runtime.smoke import SmokeTarget, smoke

    target = SmokeTarget(
        ws_url=args.ws, rest_url=args.rest, token=args.token, admin_token=args.admin_token,
        board=args.board, timeout_s=args.timeout,
    )  # fmt: skip
    report = asyncio.run(smoke(target))
    passed = sum(ok for _, ok, _ in report.checks)
    print(f"smoke: {passed} passed, {len(report.checks) - passed} failed")
    return 0 if report.ok else 1


def cmd_capacity(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from core.capacity import ASSUMED, MEASURED, Load, estimate
    from core.capacity_prices import US_EAST_1

    try:
        load = Load(
            players=args.players, submits_per_s=args.submits_per_s, spectators=args.spectators,
            tickers=args.tickers, rest_reads_per_s=args.rest_reads_per_s, boards=args.boards,
            entries=args.entries,
        )  # fmt: skip
    except ValueError as exc:
        print(f"leaderboard capacity: {exc}", file=sys.stderr)
        return 2
    assumptions = dataclasses.replace(
        ASSUMED, conflation_ms=args.conflation_ms, session_s=args.session_minutes * 60,
        top_change_share=args.top_change_share, ticker_change_share=args.ticker_change_share,
    )  # fmt: skip
    result = estimate(load, assumptions=assumptions)
    if args.json:
        print(json.dumps({
            **dataclasses.asdict(result), "prices": dataclasses.asdict(US_EAST_1),
            "measured": dataclasses.asdict(MEASURED), "assumptions": dataclasses.asdict(assumptions),
        }))  # fmt: skip
    else:
        print(capacity_report(result))
    return 0


def capacity_report(result: Estimate) -> str:
    """The estimate as the text ``leaderboard capacity`` prints."""
    from core.capacity_prices import US_EAST_1

    load, db, traffic, lambdas = result.load, result.database, result.traffic, result.lambdas
    lines = [
        f"load: {load.players:,} players online ({load.tickers:,} watching their rank), "
        f"{load.submits_per_s:,.1f} submits/s, {load.spectators:,} spectators, "
        f"{load.rest_reads_per_s:,.1f} REST reads/s, {load.boards} board(s), "
        f"{load.ranked:,} ranked",
        f"database: writer {db.writer_vcpu:.2f} vCPU -> {db.writer_acus:g} ACU "
        f"(provisioned: {db.instance_class}); {db.reader_acus:g} ACU per reader; "
        f"working set {db.working_set_gib:.2f} GiB; {result.storage} storage",
        f"WebSocket: {traffic.connections:,} connections, "
        f"{traffic.new_connections_per_s:,.1f} new/s (all back in "
        f"{traffic.reconnect_all_s:,.0f} s at the limit); {traffic.inbound_messages_per_s:,.0f} "
        f"messages in/s, {traffic.posts_per_s:,.0f} @connections posts/s; "
        f"{traffic.rounds_per_s:,.1f} broadcaster rounds/s of {traffic.round_ms:,.0f} ms",
        f"API Gateway: {traffic.api_requests_per_s:,.0f} requests/s against the account's "
        f"{US_EAST_1.api_requests_per_s:,.0f}/s",
        "Lambda: " + ", ".join(
            f"{name} {n:,.1f}/s" for name, n in lambdas.invocations_per_s.items()
        ) + f"; {sum(lambdas.concurrency.values()):,.1f} concurrent",
        f"monthly cost (us-east-1, prices of {US_EAST_1.collected}, 730 h of this load):",
    ]  # fmt: skip
    for line in result.costs:
        lines.append(
            f"  {line.item:<42} {line.quantity:>16,.0f} {line.unit:<12} ${line.monthly_usd:>12,.2f}"
        )
    lines.append(f"  {'total':<42} {'':>16} {'':<12} ${result.monthly_usd:>12,.2f}")
    for flag in result.flags:
        lines.append(
            f"OVER: {flag.limit}: {flag.needed:,.0f} needed, {flag.allowed:,.0f} allowed "
            f"({flag.note})"
        )
    if not result.flags:
        lines.append("within every account limit checked")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leaderboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("LEADERBOARD_DATA_DIR", "var"),
        help="where the local runtime keeps its database (default: ./var)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the local service")
    up.add_argument("--port", type=int, default=None, help="HTTP/WebSocket port (default 8080)")
    up.add_argument("--demo", action="store_true", help="simulated players submit scores")
    up.set_defaults(func=cmd_up)

    token = sub.add_parser("token", help="mint a development token (HS256)")
    token.add_argument("--player", default=None)
    token.add_argument(
        "--role", default="player", choices=["player", "server", "spectator", "admin"]
    )
    token.add_argument("--ttl", type=int, default=24 * 3600, help="lifetime in seconds")
    token.add_argument(
        "--subject", default=None, help="the token's sub (default: the player, else dev-<role>)"
    )
    token.set_defaults(func=cmd_token)

    migrate = sub.add_parser("migrate", help="apply migrations to a PostgreSQL")
    migrate.add_argument("--dsn", required=True)
    migrate.set_defaults(func=cmd_migrate)

    check = sub.add_parser(
        "smoke",
        help="subscribe, submit, and check the push and REST against any deployment",
        description="Exits 0 only if every check passes (runtime/smoke.py says which).",
    )
    check.add_argument("--ws", required=True, help="WebSocket URL (wss://.../dev, ws://.../local)")
    check.add_argument("--rest", required=True, help="REST base URL (the paths are /v1/...)")
    check.add_argument("--token", required=True, help="a JWT with role server")
    check.add_argument("--admin-token", default=None, help="a JWT with role admin, to create "
                       "the board if it does not exist")  # fmt: skip
    check.add_argument("--board", default="smoke", help="the board to use (default: smoke)")
    check.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole run")
    check.set_defaults(func=cmd_smoke)

    capacity = sub.add_parser(
        "capacity",
        help="what a load needs on AWS and what a month costs (docs/capacity.md)",
        description="A model built from costs measured on the local service and AWS list "
        "prices (us-east-1); every input it assumes is printed with --json.",
    )
    capacity.add_argument("--players", type=int, required=True, help="players online at once")
    capacity.add_argument("--submits-per-s", type=float, required=True)
    capacity.add_argument("--spectators", type=int, required=True,
                          help="connections watching a top-N view")  # fmt: skip
    capacity.add_argument("--tickers", type=int, default=0,
                          help="players also watching their own rank (default 0)")  # fmt: skip
    capacity.add_argument("--rest-reads-per-s", type=float, default=0.0)
    capacity.add_argument("--boards", type=int, default=1, help="boards sharing the load")
    capacity.add_argument("--entries", type=int, default=None,
                          help="ranked players (default: --players)")  # fmt: skip
    capacity.add_argument("--session-minutes", type=float, default=30.0,
                          help="how long a connection stays (at most 120)")  # fmt: skip
    capacity.add_argument("--conflation-ms", type=float, default=100.0)
    capacity.add_argument("--top-change-share", type=float, default=1.0,
                          help="share of rounds that change a top-N view (default 1)")  # fmt: skip
    capacity.add_argument("--ticker-change-share", type=float, default=1.0,
                          help="share of rounds that move a ticker (default 1)")  # fmt: skip
    capacity.add_argument("--json", action="store_true")
    capacity.set_defaults(func=cmd_capacity)

    for command in entry_points(group=COMMANDS_GROUP):
        command.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "token" and args.player is None and args.role == "player":
        args.player = "dev-player"
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
