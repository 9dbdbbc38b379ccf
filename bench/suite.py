"""``leaderboard bench all``: every benchmark in one run, and the one figures table.

:func:`run_all` runs rank, submit, push, rest and imports one after another, each with
its own same-run baselines, and keeps going past a benchmark that fails (its entry is
then ``{"error": ...}`` and the command exits 1). The results are one dict keyed by
bench, plus ``meta``: the date, the machine (cores, PostgreSQL and Redis versions), the
parameters and what each phase took.

:func:`render_markdown` and :func:`render_json` are pure functions of that dict, so the
README's table can be rendered again from a saved ``--json`` output, and is tested from a
canned one. The table has one row per figure: what was measured, our figure, the
baseline measured beside it in the same run, their ratio, and the target with ✓ or ✗.
Targets are ratios to the same-run baseline (a push p99 is held to the
conflation window plus a margin), so they hold on any machine; a row with no such
target shows "—".

At the defaults a run takes ~10 minutes on a 2-core machine (9.4 on 2026-12-06): rank
~2, submit ~1.5, push ~3.5, rest ~2.5, imports ~10 s; each starts its own embedded
cluster. ``--quick`` takes ~1.5 minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, Final

from bench import push
from bench.cli import BENCHES

PARAMETERS: Final = (
    "entries", "samples", "seconds", "warm_up_s", "spectators", "tickers", "load_seconds",
    "connections", "conflation_ms", "runs", "quick",
)  # fmt: skip

Results = dict[str, Any]
Row = tuple[str, str, str, str, str]
TIMES: Final = "\u00d7"  # the multiplication sign, as the README writes ratios
DASH: Final = "\u2013"  # the en dash of a range


def run_all(args: Any, measure: Callable[[str, Any], dict[str, Any]]) -> Results:
    """Every benchmark with ``args``, in one run; a failing one is recorded, not fatal."""
    results: Results = {}
    durations: dict[str, float] = {}
    load = os.getloadavg()[0]
    began = time.perf_counter()
    for which in BENCHES:
        print(f"bench all: {which} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            results[which] = measure(which, args)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            results[which] = {"error": f"{type(exc).__name__}: {exc}"}
        durations[which] = round(time.perf_counter() - t0, 1)
        print(f"bench all: {which} took {durations[which]:.0f} s", file=sys.stderr, flush=True)
    total = round(time.perf_counter() - began, 1)
    info = meta(args, results, durations=durations, total_s=total)
    info["load_average"] = [round(load, 1), round(os.getloadavg()[0], 1)]
    return {"meta": info, **results}


def meta(
    args: Any,
    results: Results,
    *,
    durations: dict[str, float] | None = None,
    total_s: float | None = None,
) -> dict[str, Any]:
    """When, where and with what sizes the results were measured."""
    versions = [r for r in (results.get("rank"), results.get("rest")) if r and "error" not in r]
    return {
        "date": dt.date.today().isoformat(),
        "cores": os.cpu_count(),
        "postgres_version": next((r["postgres_version"] for r in versions), None),
        "postgres": "given --dsn" if getattr(args, "dsn", None) else "embedded, fsync on",
        "redis_version": (results.get("rank") or {}).get("redis_version"),
        "parameters": {key: getattr(args, key, None) for key in PARAMETERS},
        "durations_s": durations or {},
        "total_s": total_s,
    }


def failures(results: Results) -> list[str]:
    """The benchmarks of ``results`` that failed."""
    return [name for name, result in results.items() if name != "meta" and "error" in result]


def render_json(results: Results) -> str:
    """One JSON object keyed by bench (and ``meta``)."""
    return json.dumps(results)


# --- the markdown table ------------------------------------------------------------------


def _n(value: float | None) -> str:
    """A count or rate: thousands separated, no decimals."""
    return "—" if value is None else f"{round(value):,}"


def _ms(value: float | None) -> str:
    """A latency in ms with two or three significant figures."""
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _x(value: float | None) -> str:
    """A ratio."""
    if value is None:
        return "—"
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def _check(ok: bool | None) -> str:
    return "" if ok is None else (" ✓" if ok else " ✗")


def _at_least(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


def _at_most(value: float | None, target: float) -> bool | None:
    return None if value is None else value <= target


def _rank_rows(r: dict[str, Any]) -> list[Row]:
    redis = r.get("redis_p50_ms") is not None
    return [
        (
            f"Exact rank, {r['entries']:,} entries, p50 / p99",
            f"{_ms(r['rank_p50_ms'])} / {_ms(r['rank_p99_ms'])} ms",
            f"Redis `ZREVRANK`, in turns: {_ms(r['redis_p50_ms'])} / {_ms(r['redis_p99_ms'])} ms"
            if redis
            else "no Redis on 127.0.0.1:6379",
            f"{_x(r['rank_p50_vs_redis'])}{TIMES} Redis (p50)" if redis else "—",
            f"≤ 1.5{TIMES} Redis p50{_check(_at_most(r['rank_p50_vs_redis'], 1.5))}; "
            f"≤ 2{TIMES} p99{_check(_at_most(r.get('rank_p99_vs_redis'), 2.0))}"
            if redis
            else "—",
        ),
        (
            "The same rank against a naive `COUNT(*)`, p50",
            f"{_ms(r['rank_p50_ms'])} ms",
            f"`COUNT(*)`: {_ms(r['naive_p50_ms'])} ms",
            f"{_x(r['speedup_vs_naive_p50'])}{TIMES} faster",
            f"≥ 50{TIMES} faster{_check(_at_least(r['speedup_vs_naive_p50'], 50))}",
        ),
        (
            "Single upserts with ranks, 16 connections",
            f"{_n(r['upserts_per_s'])}/s ({_n(r['upserts_noranks_per_s'])}/s without the rank)",
            f"the same upsert into a plain table: {_n(r['upserts_plain_per_s'])}/s",
            _x(r["upserts_vs_plain"]),
            f"≥ 0.5{_check(_at_least(r['upserts_vs_plain'], 0.5))}",
        ),
        (
            "Batched rows with ranks, 1,000 per batch, 2 writers",
            f"{_n(r['batch_rows_per_s'])} rows/s ({_n(r['batch_rows_noranks_per_s'])} "
            "without ranks)",
            "the same upsert into a plain table, 1 writer: "
            f"{_n(r['batch_rows_plain_per_s'])} rows/s",
            _x(r["batch_vs_plain"]),
            f"≥ 0.6{_check(_at_least(r['batch_vs_plain'], 0.6))}",
        ),
    ]


def _submit_rows(r: dict[str, Any]) -> list[Row]:
    zadd = r.get("redis_zadd_per_s")
    return [
        (
            f"Acked WebSocket submits, {r.get('clients', 32)} closed-loop SDK clients",
            f"{_n(r['submits_per_s'])}/s, ack p50 / p99 {_ms(r['ack_p50_ms'])} / "
            f"{_ms(r['ack_p99_ms'])} ms",
            "a bare aiohttp front door, a plain upsert per message: "
            f"{_n(r['bare_submits_per_s'])}/s",
            _x(r["acked_vs_bare"]),
            f"≥ 0.8{_check(_at_least(r['acked_vs_bare'], 0.8))}",
        ),
        (
            "The same acked submits against Redis `ZADD`",
            f"{_n(r['submits_per_s'])}/s",
            f"Redis `ZADD`, same generator: {_n(zadd)}/s" if zadd else "no Redis",
            _x(r["acked_vs_redis_zadd"]),
            f"≥ 0.5 of `ZADD`{_check(_at_least(r['acked_vs_redis_zadd'], 0.5))}",
        ),
        (
            "WebSocket batch submits, 500 scores per message",
            f"{_n(r['batch_scores_per_s'])} scores/s",
            "—",
            "—",
            "—",
        ),
    ]


def _rest_rows(r: dict[str, Any]) -> list[Row]:
    redis = r.get("redis_rank_p50_ms") is not None
    return [
        (
            f"REST rank from the {r['reads_from']}, {r['entries']:,} entries, p50 / p99",
            f"{_ms(r['rank_p50_ms'])} / {_ms(r['rank_p99_ms'])} ms",
            f"Redis `ZREVRANK`: {_ms(r['redis_rank_p50_ms'])} / {_ms(r['redis_rank_p99_ms'])} ms"
            if redis
            else "no Redis",
            f"{_x(r['rank_p50_vs_redis'])}{TIMES} Redis (p50)" if redis else "—",
            "—",
        ),
        (
            "REST top-100 / around ±5, p99",
            f"{_ms(r['top100_p99_ms'])} / {_ms(r['around_p99_ms'])} ms",
            f"Redis: {_ms(r['redis_top100_p99_ms'])} / {_ms(r['redis_around_p99_ms'])} ms"
            if redis
            else "no Redis",
            f"{_x(r['top100_p99_vs_redis'])}{TIMES} / {_x(r['around_p99_vs_redis'])}{TIMES}"
            if redis
            else "—",
            "—",
        ),
    ]


def _push_rows(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    window = r["conflation_ms"]
    loads = (("quarter", "25% of capacity"), ("half", "50% of capacity"), ("20_per_s", "steady"))
    for name, label in loads:
        if f"push_p99_ms_at_{name}" not in r:
            continue  # a result from before the steady load
        margin = push.PUSH_MARGIN_MS[name]
        rows.append((
            f"Submit → push to {r['spectators']:,} top-10 + {r['tickers']:,} tickers at "
            f"{_n(r[f'submit_rate_at_{name}'])}/s ({label}), p50 / p99",
            f"{_ms(r[f'push_p50_ms_at_{name}'])} / {_ms(r[f'push_p99_ms_at_{name}'])} ms "
            f"(acks p50 {_ms(r[f'ack_p50_ms_at_{name}'])} ms)",
            f"capacity: {_n(r['capacity_submits_per_s'])} acked/s, closed loop",
            _x(r[f"load_vs_capacity_at_{name}"]),
            f"p99 ≤ window + {margin:g} ms ({window + margin:g} ms)"
            f"{_check(_at_most(r[f'push_p99_ms_at_{name}'], push.push_target_ms(r, name)))}",
        ))  # fmt: skip
    rows += [
        (
            f"Fan-out of one change to {r['connections']:,} sockets, in process",
            f"{_n(r['fanout_inproc_msgs_per_s'])}/s",
            f"a bare `send_str` loop, as many sockets: {_n(r['fanout_bare_msgs_per_s'])}/s",
            _x(r["fanout_vs_bare_send"]),
            f"≥ 0.8{_check(_at_least(r['fanout_vs_bare_send'], 0.8))}",
        ),
        (
            "Fan-out through `@connections` (SigV4 adapter)",
            f"{_n(r['fanout_http_posts_per_s'])} posts/s",
            f"the adapter to an endpoint doing nothing: {_n(r['fanout_http_bare_posts_per_s'])}/s",
            _x(r["http_fanout_vs_bare_endpoint"]),
            f"≥ 0.9{_check(_at_least(r['http_fanout_vs_bare_endpoint'], 0.9))}",
        ),
        (
            f"Server memory per idle WebSocket, {r['connections']:,} open",
            f"{r['rss_kb_per_conn']} KB",
            "—",
            "—",
            f"≤ 20 KB{_check(_at_most(r['rss_kb_per_conn'], 20))}",
        ),
    ]
    return rows


def _imports_rows(r: dict[str, Any]) -> list[Row]:
    times = [m["median_ms"] for m in r["modules"].values()]
    return [
        (
            f"Cold import of each Lambda entry module ({len(times)}), median of {r['runs']}",
            f"{_ms(min(times))}{DASH}{_ms(max(times))} ms (slowest `{r['slowest_module']}`)",
            f"`python -c 'pass'`: {_ms(r['startup_ms'])} ms",
            f"{_x(r['slowest_import_vs_startup'])}{TIMES} (slowest)",
            f"≤ 300 ms each{_check(r['all_within_target'])}",
        )
    ]


ROWS: Final[dict[str, Callable[[dict[str, Any]], list[Row]]]] = {
    "rank": _rank_rows,
    "submit": _submit_rows,
    "rest": _rest_rows,
    "push": _push_rows,
    "imports": _imports_rows,
}


def figures(results: Results) -> list[Row]:
    """The table's rows, in the README's order; a failed benchmark is one row saying so."""
    rows: list[Row] = []
    for name, build in ROWS.items():
        result = results.get(name)
        if result is None:
            continue
        if "error" in result:
            rows.append((f"`bench {name}`", "failed: " + str(result["error"]), "—", "—", "—"))
            continue
        rows += build(result)
    return rows


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def heading(info: dict[str, Any]) -> str:
    """The line above the table: when, where, with what sizes, and how long it took."""
    p = info.get("parameters") or {}
    load = info.get("load_average")
    busy = (
        f" (1-minute load average {load[0]:g} at the start, {load[1]:g} at the end)" if load else ""
    )
    where = (
        f"{info.get('cores')} cores{busy}, PostgreSQL {info.get('postgres_version') or '?'} "
        f"({info.get('postgres', 'embedded, fsync on')}), "
        + (f"Redis {info['redis_version']}" if info.get("redis_version") else "no Redis")
        + " on loopback"
    )
    sizes = []
    if p.get("entries") is not None:
        sizes.append(f"{p['entries']:,} entries and {p['samples']:,} samples for rank and REST")
    if p.get("seconds") is not None:
        sizes.append(
            f"{p['seconds']:g} s throughput phases after {p.get('warm_up_s') or 0:g} s warm-ups"
        )
    if p.get("load_seconds") is not None:
        sizes.append(f"{p['load_seconds']:g} s per push load")
    if p.get("connections") is not None:
        sizes.append(f"{p['connections']:,} connections for fan-out")
    if p.get("quick"):
        sizes.append("--quick")
    took = ""
    if info.get("total_s"):
        phases = ", ".join(f"{k} {_minutes(v)}" for k, v in (info.get("durations_s") or {}).items())
        took = f" The run took {_minutes(info['total_s'])} ({phases})."
    return (
        f"Measured on {info.get('date')} by `leaderboard bench all --markdown` on one machine: "
        f"{where}; {'; '.join(sizes)}.{took}"
    )


def render_markdown(results: Results) -> str:
    """The heading line and one table, one row per figure."""
    lines = [heading(results.get("meta") or {}), ""]
    lines.append("| What | Ours | Same-run baseline | Ratio | Target |")
    lines.append("|---|---|---|---|---|")
    for row in figures(results):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)
