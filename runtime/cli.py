"""The ``leaderboard`` command: everything a user runs.

leaderboard up [--demo]              the local service (embedded PostgreSQL + replica)
leaderboard token --player alice     mint a development token
leaderboard bench rank|submit|push|rest [--json]
leaderboard migrate --dsn DSN        apply migrations to any PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.settings import Settings

DEV_SECRET_FILE = "jwt-secret"


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
    print(mint_token(
        secret=secret, player_id=args.player, role=args.role, issuer=settings.jwt_issuer,
        audience=settings.jwt_audience, ttl_s=args.ttl,
    ))  # fmt: skip
    return 0


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


def cmd_bench(args: argparse.Namespace) -> int:
    if args.which == "rank":
        from bench import rank

        result = asyncio.run(rank.run(
            entries=args.entries, dsn=args.dsn, samples=args.samples, seconds=args.seconds
        ))  # fmt: skip
        print(rank.report(result, as_json=args.json))
        return 0
    module = __import__(f"bench.{args.which}", fromlist=["main"])
    return int(module.main(args))


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
    token.set_defaults(func=cmd_token)

    migrate = sub.add_parser("migrate", help="apply migrations to a PostgreSQL")
    migrate.add_argument("--dsn", required=True)
    migrate.set_defaults(func=cmd_migrate)

    bench = sub.add_parser("bench", help="benchmarks against a baseline in the same run")
    bench.add_argument("which", choices=["rank", "submit", "push", "rest"])
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--entries", type=int, default=1_000_000)
    bench.add_argument("--samples", type=int, default=5000)
    bench.add_argument("--seconds", type=float, default=10.0, help="per throughput phase")
    bench.add_argument("--dsn", default=None, help="benchmark this PostgreSQL instead")
    bench.add_argument(
        "--connections",
        type=int,
        default=10_000,
        help="push: connections for the fan-out and memory phases",
    )
    bench.add_argument("--spectators", type=int, default=1000, help="push: top-10 watchers")
    bench.add_argument("--tickers", type=int, default=1000, help="push: me tickers")
    bench.add_argument("--rate", type=float, default=1000.0, help="push: submits per second")
    bench.add_argument(
        "--conflation-ms", type=int, default=100, help="push: the server's conflation window"
    )
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "token" and args.player is None and args.role == "player":
        args.player = "dev-player"
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
