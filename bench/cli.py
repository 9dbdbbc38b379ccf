"""``leaderboard bench``: the benchmarks as a subcommand of the service's CLI.

The service's CLI (``runtime.cli``) knows nothing of this package: it loads every
``leaderboard.commands`` entry point of the installed distributions and lets each add
its subcommand. This distribution (``bench/pyproject.toml``) registers :func:`register`,
so ``leaderboard bench ...`` exists wherever the benchmarks are installed (development
and CI), and a production install of the service carries none of them.

``leaderboard bench all`` runs every benchmark in one run (:mod:`bench.suite`);
``--markdown`` prints the README's figures table, ``--json`` one object keyed by bench.
``--quick`` shrinks every size for a smoke test; an option given explicitly wins over both
the defaults and ``--quick``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any, Final

BENCHES: Final = ("rank", "submit", "push", "rest", "imports")

# Sizes: the defaults keep ``bench all`` near 10 minutes on a 2-core machine; ``--quick``
# near 2 (most of it starting four embedded clusters). ``warm_up_s`` is load run before
# each closed-loop phase and not counted: a freshly started service is slower for its
# first seconds (cold pools, plan caches and table statistics); 32 players against a
# fresh server acked 661, 735 and 760 submits/s in its first three 5 s windows, then 967,
# 1,014, 956 and 987.
DEFAULTS: Final[dict[str, Any]] = {
    "entries": 1_000_000, "samples": 5000, "seconds": 10.0, "warm_up_s": 15.0,
    "connections": 10_000, "spectators": 1000, "tickers": 1000, "load_seconds": 30.0,
    "runs": 7,
}  # fmt: skip
QUICK: Final[dict[str, Any]] = {
    "entries": 20_000, "samples": 300, "seconds": 2.0, "warm_up_s": 2.0,
    "connections": 300, "spectators": 30, "tickers": 30, "load_seconds": 4.0,
    "runs": 3,
}  # fmt: skip


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill every size left unset from ``--quick``'s sizes or the defaults."""
    sizes = QUICK if args.quick else DEFAULTS
    for key, value in sizes.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def measure(which: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one benchmark with resolved ``args``; its result (figures and ratios)."""
    if which == "rank":
        from bench import rank

        return asyncio.run(rank.measure(args))
    if which == "submit":
        from bench import submit

        return submit.measure(args)
    if which == "push":
        from bench import push

        return push.measure(args)
    if which == "rest":
        from bench import rest

        return asyncio.run(rest.measure(args))
    if which == "imports":
        from bench import imports

        return imports.measure(args)
    raise ValueError(f"unknown benchmark {which!r}: expected one of {', '.join(BENCHES)}")


def _print_one(which: str, result: dict[str, Any], *, as_json: bool) -> None:
    if which == "rank":
        from bench import rank

        print(rank.report(result, as_json=as_json))
    elif which == "rest":
        from bench import rest

        print(rest.report(result, as_json=as_json))
    elif which == "imports":
        from bench import imports

        print(imports.report(result, as_json=as_json))
    elif as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:32s} {value}")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark ``args.which`` (or all of them) and print its report."""
    resolve(args)
    if args.which == "all":
        from bench import suite

        results = suite.run_all(args, measure)
        if args.json:
            print(suite.render_json(results))
        if args.markdown or not args.json:
            print(suite.render_markdown(results))
        return 1 if suite.failures(results) else 0
    result = measure(args.which, args)
    if args.markdown:
        from bench import suite

        print(suite.render_markdown({"meta": suite.meta(args, {args.which: result}),
                                     args.which: result}))  # fmt: skip
    else:
        _print_one(args.which, result, as_json=args.json)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench`` to the ``leaderboard`` command."""
    bench = commands.add_parser(
        "bench",
        help="benchmarks against a baseline in the same run",
        description="Each benchmark measures the service and a baseline in the same run; "
        "'all' runs every one (about 10 minutes at the defaults, 2 with --quick).",
    )
    bench.add_argument("which", choices=(*BENCHES, "all"))
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--markdown", action="store_true", help="print the README's figures table")
    bench.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    bench.add_argument("--entries", type=int, default=None, help="rank, rest: ladder size")
    bench.add_argument("--samples", type=int, default=None, help="rank, rest: reads sampled")
    bench.add_argument(
        "--seconds", type=float, default=None, help="per throughput phase (default 10)"
    )
    bench.add_argument(
        "--warm-up-s", type=float, default=None,
        help="submit, push: uncounted load before each closed-loop phase (default 15)",
    )  # fmt: skip
    bench.add_argument("--dsn", default=None, help="rank, rest: benchmark this PostgreSQL")
    bench.add_argument(
        "--connections", type=int, default=None,
        help="push: connections for the fan-out and memory phases (default 10000)",
    )  # fmt: skip
    bench.add_argument("--spectators", type=int, default=None, help="push: top-10 watchers")
    bench.add_argument("--tickers", type=int, default=None, help="push: me tickers")
    bench.add_argument(
        "--load-seconds", type=float, default=None,
        help="push: seconds of each load (at 25%% and 50%% of capacity; default 30)",
    )  # fmt: skip
    bench.add_argument(
        "--conflation-ms", type=int, default=100, help="push: the server's conflation window"
    )
    bench.add_argument("--runs", type=int, default=None, help="imports: runs per module")
    bench.set_defaults(func=run)
