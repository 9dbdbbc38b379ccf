"""``leaderboard bench``: the benchmarks as a subcommand of the service's CLI.

The service's CLI (``runtime.cli``) knows nothing of this package: it loads every
``leaderboard.commands`` entry point of the installed distributions and lets each add
its subcommand. This distribution (``bench/pyproject.toml``) registers :func:`register`,
so ``leaderboard bench ...`` exists wherever the benchmarks are installed (development
and CI), and a production install of the service carries none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from typing import Final

BENCHES: Final = ("rank", "submit", "push", "rest")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark ``args.which`` and print its report."""
    if args.which == "rank":
        from bench import rank

        result = asyncio.run(rank.run(
            entries=args.entries, dsn=args.dsn, samples=args.samples, seconds=args.seconds
        ))  # fmt: skip
        print(rank.report(result, as_json=args.json))
        return 0
    module = importlib.import_module(f"bench.{args.which}")
    return int(module.main(args))


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``bench`` to the ``leaderboard`` command."""
    bench = commands.add_parser("bench", help="benchmarks against a baseline in the same run")
    bench.add_argument("which", choices=BENCHES)
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
    bench.set_defaults(func=run)
