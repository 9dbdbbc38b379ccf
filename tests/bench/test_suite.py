"""``leaderboard bench all``'s table and JSON are pure functions of the results, and so is
every bench's ratio computation: both are tested here from canned figures, no service."""

from __future__ import annotations

import argparse
import copy
import json
from typing import Any

import pytest

from bench import imports, push, rank, rest, submit, suite
from bench.cli import BENCHES, DEFAULTS, QUICK, resolve

RANK: dict[str, Any] = {
    "entries": 1_000_000, "samples": 5000, "seconds": 10.0, "postgres_version": "18.6",
    "redis_version": "7.0.15", "load_rows_per_s": 40_000, "rank_p50_ms": 0.3,
    "rank_p99_ms": 0.6, "naive_p50_ms": 45.0, "naive_p99_ms": 90.0, "redis_p50_ms": 0.12,
    "redis_p99_ms": 0.3, "upserts_per_s": 1800, "upserts_noranks_per_s": 3000,
    "batch_rows_per_s": 17_000, "batch_rows_noranks_per_s": 30_000,
    "upserts_plain_per_s": 8000, "batch_rows_plain_per_s": 60_000,
}  # fmt: skip
SUBMIT: dict[str, Any] = {
    "clients": 32, "seconds": 10.0, "warm_up_s": 15.0, "submits_per_s": 1500,
    "ack_p50_ms": 20.0, "ack_p99_ms": 41.0, "redis_zadd_per_s": 18_000,
    "bare_submits_per_s": 3000, "bare_ack_p50_ms": 9.0, "bare_ack_p99_ms": 20.0,
    "batch_scores_per_s": 9000,
}  # fmt: skip
PUSH_LOAD: dict[str, Any] = {
    "rate": 400.0, "submits": 12_000, "submit_rate": 400.0, "acked": 12_000,
    "ack_p50_ms": 30.0, "ack_p99_ms": 80.0, "push_p50_ms": 200.0, "push_p99_ms": 600.0,
    "push_top_p50_ms": 150.0, "push_top_p99_ms": 350.0, "push_me_p50_ms": 210.0,
    "push_me_p99_ms": 610.0, "delivered_per_s": 9000,
}  # fmt: skip
PUSH_HALF: dict[str, Any] = {
    **PUSH_LOAD, "rate": 800.0, "submit_rate": 800.0, "push_p50_ms": 330.0, "push_p99_ms": 900.0,
}  # fmt: skip
PUSH_STEADY: dict[str, Any] = {
    **PUSH_LOAD, "rate": 20.0, "submits": 600, "submit_rate": 20.0, "acked": 600,
    "push_p50_ms": 60.0, "push_p99_ms": 120.0,
}  # fmt: skip
PUSH: dict[str, Any] = {
    "conflation_ms": 100, "spectators": 1000, "tickers": 1000, "load_seconds": 30.0,
    "capacity_submits_per_s": 1600,
    **{f"{k}_at_quarter": v for k, v in PUSH_LOAD.items()},
    **{f"{k}_at_half": v for k, v in PUSH_HALF.items()},
    **{f"{k}_at_20_per_s": v for k, v in PUSH_STEADY.items()},
    **PUSH_HALF,  # the unsuffixed load keys are the run at half the capacity
    "connections": 10_000, "fanout_rounds": 3, "fanout_inproc_msgs_per_s": 60_000,
    "fanout_inproc_frames": 30_000, "fanout_inproc_received_per_s": 8000,
    "fanout_inproc_received": 30_000, "fanout_bare_msgs_per_s": 120_000,
    "fanout_http_posts_per_s": 2000, "fanout_http_gone": 0,
    "fanout_http_bare_posts_per_s": 3000, "rss_kb_per_conn": 14.5,
}  # fmt: skip
REST: dict[str, Any] = {
    "entries": 1_000_000, "samples": 5000, "reads_from": "replica",
    "postgres_version": "18.6", "load_rows_per_s": 40_000,
    "top100_p50_ms": 3.0, "top100_p99_ms": 6.0, "rank_p50_ms": 1.2, "rank_p99_ms": 2.9,
    "around_p50_ms": 2.0, "around_p99_ms": 5.0, "redis_top100_p50_ms": 1.0,
    "redis_top100_p99_ms": 2.0, "redis_rank_p50_ms": 0.2, "redis_rank_p99_ms": 0.3,
    "redis_around_p50_ms": 0.4, "redis_around_p99_ms": 0.8, "rank_p99_target_ms": 5.0,
    "rank_p99_within_target": True,
}  # fmt: skip
IMPORTS: dict[str, Any] = {
    "runs": 7, "target_ms": 300.0, "startup_ms": 20.0,
    "modules": {m: {"median_ms": 100.0 + 20 * i} for i, m in enumerate(imports.LAMBDA_MODULES)},
}  # fmt: skip

# The keys each bench's JSON must carry (figures, and the ratios beside them): a contract.
KEYS: dict[str, set[str]] = {
    "rank": {
        "entries", "load_rows_per_s", "rank_p50_ms", "rank_p99_ms", "naive_p50_ms",
        "naive_p99_ms", "redis_p50_ms", "redis_p99_ms", "speedup_vs_naive_p50",
        "redis_over_ours_p50", "upserts_per_s", "upserts_noranks_per_s", "upserts_plain_per_s",
        "batch_rows_per_s", "batch_rows_noranks_per_s", "batch_rows_plain_per_s",
        "rank_p50_vs_redis", "upserts_vs_plain", "batch_vs_plain",
    },
    "submit": {
        "submits_per_s", "ack_p50_ms", "ack_p99_ms", "redis_zadd_per_s", "bare_submits_per_s",
        "bare_ack_p50_ms", "bare_ack_p99_ms", "batch_scores_per_s", "ratio_vs_redis_zadd",
        "ratio_vs_bare", "acked_vs_bare", "acked_vs_redis_zadd",
    },
    "push": {
        "conflation_ms", "submits", "submit_rate", "acked", "ack_p50_ms", "ack_p99_ms",
        "push_p50_ms", "push_p99_ms", "push_top_p50_ms", "push_top_p99_ms", "push_me_p50_ms",
        "push_me_p99_ms", "delivered_per_s", "connections", "fanout_inproc_msgs_per_s",
        "fanout_inproc_frames", "fanout_inproc_received_per_s", "fanout_inproc_received",
        "fanout_http_posts_per_s", "fanout_http_gone", "fanout_http_bare_posts_per_s",
        "rss_kb_per_conn", "capacity_submits_per_s", "push_p99_ms_at_quarter",
        "push_p99_ms_at_half", "push_p50_ms_at_half", "fanout_bare_msgs_per_s",
        "fanout_vs_bare_send", "http_fanout_vs_bare_endpoint", "push_p99_ms_at_20_per_s",
        "push_p99_vs_target_at_quarter", "push_p99_vs_target_at_half",
        "push_p99_vs_target_at_20_per_s", "load_vs_capacity_at_half",
    },
    "rest": {
        "entries", "reads_from", "top100_p50_ms", "top100_p99_ms", "rank_p50_ms", "rank_p99_ms",
        "around_p50_ms", "around_p99_ms", "redis_top100_p50_ms", "redis_top100_p99_ms",
        "redis_rank_p50_ms", "redis_rank_p99_ms", "redis_around_p50_ms", "redis_around_p99_ms",
        "rank_p99_target_ms", "rank_p99_within_target", "redis_over_ours_rank_p50",
        "rank_p50_vs_redis",
    },
    "imports": {"startup_ms", "modules", "slowest_module", "slowest_import_ms",
                "slowest_import_vs_startup", "all_within_target", "target_ms"},
}  # fmt: skip

RATIOS = {"rank": rank.ratios, "submit": submit.ratios, "push": push.ratios,
          "rest": rest.ratios, "imports": imports.ratios}  # fmt: skip
FIGURES = {"rank": RANK, "submit": SUBMIT, "push": PUSH, "rest": REST, "imports": IMPORTS}


def canned() -> dict[str, Any]:
    """A whole ``bench all`` result, as the benches build theirs: figures, then ratios."""
    results: dict[str, Any] = {
        "meta": {
            "date": "2026-12-06", "cores": 2, "postgres_version": "18.6",
            "postgres": "embedded, fsync on", "redis_version": "7.0.15",
            "parameters": {**DEFAULTS, "conflation_ms": 100, "quick": False},
            "durations_s": {"rank": 170.0, "submit": 120.0, "push": 300.0, "rest": 160.0,
                            "imports": 8.0},
            "total_s": 758.0,
            "load_average": [1.2, 2.5],
        },
    }  # fmt: skip
    for name, figures in FIGURES.items():
        results[name] = {**figures, **RATIOS[name](copy.deepcopy(figures))}
    return results


def test_every_ratio_is_ours_over_the_same_run_baseline() -> None:
    r = canned()
    assert r["rank"]["rank_p50_vs_redis"] == 2.5 and r["rank"]["speedup_vs_naive_p50"] == 150
    assert r["rank"]["upserts_vs_plain"] == 0.225 and r["rank"]["batch_vs_plain"] == 0.283
    assert r["submit"]["acked_vs_bare"] == 0.5 == r["submit"]["ratio_vs_bare"]
    assert r["submit"]["acked_vs_redis_zadd"] == 0.083 == r["submit"]["ratio_vs_redis_zadd"]
    assert r["push"]["fanout_vs_bare_send"] == 0.5
    assert r["push"]["http_fanout_vs_bare_endpoint"] == 0.667
    assert r["push"]["load_vs_capacity_at_quarter"] == 0.25
    assert r["push"]["load_vs_capacity_at_half"] == 0.5
    assert r["push"]["load_vs_capacity_at_20_per_s"] == 0.013
    # push p99 over its target, the conflation window plus a margin: ≤ 1 meets it
    assert r["push"]["push_p99_vs_target_at_quarter"] == 4.0  # 600 / (100 + 50)
    assert r["push"]["push_p99_vs_target_at_half"] == 6.0
    assert r["push"]["push_p99_vs_target_at_20_per_s"] == 0.96  # 120 / (100 + 25)
    assert r["rest"]["rank_p50_vs_redis"] == 6.0 and r["rest"]["redis_over_ours_rank_p50"] == 0.17
    assert r["rest"]["around_p99_vs_redis"] == 6.25
    assert r["imports"]["startup_ms"] == 20.0 and r["imports"]["slowest_module"] == "db.handler"
    assert r["imports"]["slowest_import_ms"] == 180.0
    assert r["imports"]["slowest_import_vs_startup"] == 9.0
    assert r["imports"]["all_within_target"] is True


def test_a_missing_baseline_gives_no_ratio_instead_of_a_wrong_one() -> None:
    no_redis = {**RANK, "redis_p50_ms": None, "redis_p99_ms": None}
    assert rank.ratios(no_redis)["rank_p50_vs_redis"] is None
    assert submit.ratios({**SUBMIT, "redis_zadd_per_s": None})["acked_vs_redis_zadd"] is None
    assert push.ratios({**PUSH, "fanout_inproc_msgs_per_s": None})["fanout_vs_bare_send"] is None


def test_ratios_do_not_change_the_figures_they_read() -> None:
    figures = copy.deepcopy(IMPORTS)
    imports.ratios(figures)
    assert figures == IMPORTS


def test_every_bench_carries_its_contract_keys() -> None:
    results = canned()
    for name in BENCHES:
        assert KEYS[name] <= set(results[name]), name


def test_json_is_one_object_keyed_by_bench() -> None:
    results = canned()
    decoded = json.loads(suite.render_json(results))
    assert set(decoded) == {"meta", *BENCHES} and decoded == results


def test_markdown_is_one_heading_line_and_one_table_row_per_figure() -> None:
    text = suite.render_markdown(canned())
    heading, blank, header, rule, *rows = text.splitlines()
    assert heading.startswith("Measured on 2026-12-06 by `leaderboard bench all --markdown`")
    assert "2 cores (1-minute load average 1.2 at the start, 2.5 at the end)" in heading
    assert "PostgreSQL 18.6 (embedded, fsync on), Redis 7.0.15" in heading
    assert "1,000,000 entries" in heading and "10,000 connections" in heading
    assert "The run took 12.6 min (rank 2.8 min" in heading
    assert blank == "" and header == "| What | Ours | Same-run baseline | Ratio | Target |"
    assert rule == "|---|---|---|---|---|"
    assert len(rows) == len(suite.figures(canned())) == 16
    assert all(row.startswith("| ") and row.count(" | ") == 4 for row in rows)
    first = rows[0]
    assert "0.300 / 0.600 ms" in first and "0.120 / 0.300 ms" in first
    times, dash = suite.TIMES, suite.DASH
    assert f"2.50{times} Redis (p50)" in first
    assert f"≤ 1.5{times} Redis p50 ✗; ≤ 2{times} p99 ✓" in first
    # every target is a ratio to the same-run baseline (or to the conflation window)
    assert any("1,800/s" in r and "8,000/s" in r and "| 0.23 | ≥ 0.5 ✗ |" in r for r in rows)
    assert any("17,000 rows/s" in r and "| 0.28 | ≥ 0.6 ✗ |" in r for r in rows)
    assert any("1,500/s" in r and "3,000/s" in r and "| 0.50 | ≥ 0.8 ✗ |" in r for r in rows)
    assert any("60,000/s" in r and "120,000/s" in r and "| 0.50 | ≥ 0.8 ✗ |" in r for r in rows)
    assert any("2,000 posts/s" in r and "| 0.67 | ≥ 0.9 ✗ |" in r for r in rows)
    assert any("14.5 KB" in r and "≤ 20 KB ✓" in r for r in rows)
    pushes = [r for r in rows if r.startswith("| Submit → push")]
    assert [p.rsplit(" | ", 1)[1] for p in pushes] == [
        "p99 ≤ window + 50 ms (150 ms) ✗ |",
        "p99 ≤ window + 50 ms (150 ms) ✗ |",
        "p99 ≤ window + 25 ms (125 ms) ✓ |",
    ]
    assert "at 20/s (steady)" in pushes[2] and "at 800/s (50% of capacity)" in pushes[1]
    slowest = f"100{dash}180 ms (slowest `db.handler`)"
    assert any(slowest in r and "≤ 300 ms each ✓" in r for r in rows)


def test_a_failed_bench_is_one_row_and_the_others_still_render() -> None:
    results = canned()
    results["push"] = {"error": "OSError: too many open files"}
    rows = suite.figures(results)
    assert ("`bench push`", "failed: OSError: too many open files", "—", "—", "—") in rows
    assert len(rows) == 16 - 6 + 1
    assert suite.failures(results) == ["push"]


def test_a_pipe_in_a_cell_does_not_break_the_table() -> None:
    results = canned()
    results["imports"] = {"error": "a | b"}
    assert "failed: a \\| b" in suite.render_markdown(results)


@pytest.mark.parametrize("quick", [False, True])
def test_sizes_come_from_quick_or_the_defaults_and_an_explicit_one_wins(quick: bool) -> None:
    args = argparse.Namespace(
        quick=quick, entries=5000, **{k: None for k in DEFAULTS if k != "entries"}
    )
    resolve(args)
    sizes = QUICK if quick else DEFAULTS
    assert args.entries == 5000
    assert all(getattr(args, k) == v for k, v in sizes.items() if k != "entries")


def test_the_import_bench_covers_every_lambda_handler_module() -> None:
    """``bench imports`` times each module the CDK app deploys a handler from."""
    from infra.config import HANDLERS

    deployed = {handler.rsplit(".", 1)[0] for handler in HANDLERS.values()}
    assert set(imports.LAMBDA_MODULES) == deployed
