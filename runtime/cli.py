"""The ``leaderboard`` command: everything a user runs.

leaderboard up [--demo]              the local service (embedded PostgreSQL + replica)
leaderboard token --player alice     mint a development token
leaderboard migrate --dsn DSN        apply migrations to any PostgreSQL
leaderboard smoke --ws URL --rest URL --token JWT
                                     check a deployment end to end (exit 1 on a mismatch)

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
from typing import Final

from core.settings import Settings

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
