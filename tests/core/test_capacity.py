"""The capacity and cost model: hand-checked loads, monotonicity, limit flags, the command."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.capacity import ASSUMED, MEASURED, Load, estimate, instance_class, rounds_per_board
from core.capacity_prices import US_EAST_1

MONTH_S = 730 * 3600


def _line(result: object, item: str) -> float:
    costs = result.costs  # type: ignore[attr-defined]
    return next(line.monthly_usd for line in costs if line.item == item)


def test_idle_players_cost_what_the_price_sheet_gives_by_hand() -> None:
    """1,000 players online who submit nothing: connection time, their reconnects and the
    fixed infrastructure, each line as computed by hand from the December 2026 sheet."""
    result = estimate(Load(players=1000, submits_per_s=0, spectators=0))
    # 1,000 connections x 730 h x 60 min = 43.8M connection-minutes at $0.25 per million.
    assert _line(result, "API Gateway connection-minutes") == pytest.approx(10.95)
    assert _line(result, "API Gateway WebSocket messages") == 0
    # A 30-minute session: 1,000/1,800 s connects a second, each an authorizer, a $connect
    # and a $disconnect invocation, and the broadcaster's sweep once a minute:
    # (3 x 0.5556 + 1/60)/s x 2,628,000 s = 4,423,800 requests at $0.20 per million.
    assert _line(result, "Lambda requests") == pytest.approx(0.88476, rel=1e-4)
    # authorizer 0.5556/s x 5 ms x 0.25 GB + 2 x 0.5556/s x 10 ms x 0.5 GB = 0.00625 GB-s/s,
    # x 2,628,000 s = 16,425 GB-s at $0.0000133334.
    assert _line(result, "Lambda compute") == pytest.approx(0.21901, rel=1e-4)
    # The minimum: 0.5 ACU for the writer and for the one reader, 730 h at $0.12.
    assert result.database.writer_acus == result.database.reader_acus == 0.5
    assert _line(result, "Aurora Serverless v2 (writer + readers)") == pytest.approx(87.60)
    assert result.storage == "Standard"
    assert _line(result, "RDS Proxy") == pytest.approx(8 * 730 * 0.015)  # the 8-ACU minimum
    assert _line(result, "NAT gateways") == pytest.approx(3 * 730 * 0.045)
    assert _line(result, "Lambda interface endpoint") == pytest.approx(3 * 730 * 0.01)
    assert result.monthly_usd == pytest.approx(307.80377, rel=1e-5)
    assert result.flags == []


def test_ten_thousand_spectators_at_a_frame_a_second_match_the_sheets_arithmetic() -> None:
    """10,000 spectators sent one frame a second are ~26 billion messages a month, about
    $26,000 (the sheet: 25.9 billion for a 30-day month), and cross the 10,000 requests/s
    account throttle."""
    free_rounds = dataclasses.replace(MEASURED, post_ms=0.0, views_ms_per_watcher_round=0.0)
    window = dataclasses.replace(ASSUMED, conflation_ms=1000, session_s=7200, resync_s=1e15)
    result = estimate(
        Load(players=0, submits_per_s=50, spectators=10_000),
        measured=free_rounds,
        assumptions=window,
    )
    assert result.traffic.rounds_per_s == pytest.approx(1.0)
    # in: 50 submits and 10,000/7,200 s subscribes; out: 50 acks, as many snapshots as
    # subscribes, and 10,000 updates a second.
    units = 50 + 10_000 / 7200 + 50 + 10_000 / 7200 + 10_000
    assert result.traffic.message_units_per_s == pytest.approx(units, rel=1e-6)
    assert _line(result, "API Gateway WebSocket messages") == pytest.approx(
        units * MONTH_S / 1e6, rel=1e-6
    )
    flagged = {flag.limit: flag for flag in result.flags}
    throttle = flagged["API Gateway requests/s (account)"]
    assert throttle.needed == pytest.approx(result.traffic.api_requests_per_s)
    assert throttle.allowed == US_EAST_1.api_requests_per_s


def test_a_frame_over_32_kb_is_billed_as_two_messages() -> None:
    """Top-N frames above API Gateway's 32 KB metering unit count twice per delivery."""
    small = estimate(Load(players=0, submits_per_s=100, spectators=100))
    large = estimate(
        Load(players=0, submits_per_s=100, spectators=100),
        assumptions=dataclasses.replace(ASSUMED, frame_bytes_top=40_000),
    )
    extra = large.traffic.message_units_per_s - small.traffic.message_units_per_s
    top_frames = small.traffic.posts_per_s - 100  # all but the acks go to spectators
    assert extra == pytest.approx(top_frames, rel=1e-6)


def test_a_reconnect_storm_crosses_the_new_connection_limit() -> None:
    """Two million players with 30-minute sessions open 1,111 connections a second, over the
    500/s account limit; a million with 2-hour sessions stay under it."""
    busy = estimate(Load(players=2_000_000, submits_per_s=0, spectators=0))
    assert [flag.limit for flag in busy.flags] == ["new WebSocket connections/s (account)"]
    assert busy.flags[0].needed == pytest.approx(2_000_000 / 1800)
    assert busy.traffic.reconnect_all_s == pytest.approx(4000)
    calm = estimate(
        Load(players=1_000_000, submits_per_s=0, spectators=0),
        assumptions=dataclasses.replace(ASSUMED, session_s=7200),
    )
    assert calm.flags == []


def test_a_writer_beyond_one_instance_is_flagged() -> None:
    """A submit rate whose database CPU needs more than 256 ACUs is marked, and no
    provisioned class is big enough."""
    result = estimate(Load(players=10_000, submits_per_s=100_000, spectators=0, boards=100))
    assert result.database.writer_acus > 256
    assert "Aurora ACUs per instance" in {flag.limit for flag in result.flags}
    assert result.database.instance_class.startswith("more than one")


def test_the_instance_class_is_the_smallest_with_the_cpu_and_memory() -> None:
    """Provisioned sizing picks by vCPU and by working set, whichever needs more."""
    assert instance_class(0.1, 1) == "db.r7g.large"
    assert instance_class(3, 1) == "db.r7g.xlarge"
    assert instance_class(1, 100) == "db.r7g.4xlarge"


def test_rounds_follow_the_submits_up_to_one_per_window() -> None:
    """With random arrivals a board gets about one round per submit at low rates and at
    most one per conflation window at high ones."""
    # One submit a second: a window of 0.1 s sees one with probability 1 - e^-0.1.
    assert rounds_per_board(1, 100) == pytest.approx(0.9516, rel=1e-4)
    assert rounds_per_board(10_000, 100) == pytest.approx(10.0)
    assert rounds_per_board(0, 100) == 0


def test_a_slow_round_spaces_a_boards_rounds_out() -> None:
    """A round that posts to many watchers takes longer than the window, so the board gets
    fewer rounds (and fewer frames) than its submits would start."""
    result = estimate(Load(players=0, submits_per_s=1000, spectators=2000))
    assert result.traffic.round_ms > 100
    assert result.traffic.rounds_per_s == pytest.approx(1000 / result.traffic.round_ms)
    flag = next(flag for flag in result.flags if flag.limit.startswith("broadcaster round"))
    assert (flag.needed, flag.allowed) == (result.traffic.round_ms, 100)


def test_a_load_that_is_not_a_load_is_refused() -> None:
    """Negative rates, no boards, or more tickers than players are errors that say why."""
    with pytest.raises(ValueError, match="submits_per_s"):
        Load(players=1, submits_per_s=-1, spectators=0)
    with pytest.raises(ValueError, match="tickers"):
        Load(players=1, submits_per_s=0, spectators=0, tickers=2)
    with pytest.raises(ValueError, match="boards"):
        Load(players=1, submits_per_s=0, spectators=0, boards=0)


loads = st.builds(
    lambda players, share, submits, spectators, rest, boards: Load(
        players=players,
        tickers=int(players * share),
        submits_per_s=submits,
        spectators=spectators,
        rest_reads_per_s=rest,
        boards=boards,
    ),
    st.integers(0, 2_000_000),
    st.floats(0, 1),
    st.floats(0, 50_000),
    st.integers(0, 500_000),
    st.floats(0, 20_000),
    st.integers(1, 200),
)
GROWTHS = {
    "players": st.integers(1, 100_000),
    "submits_per_s": st.floats(0.001, 10_000),
    "spectators": st.integers(1, 100_000),
    "rest_reads_per_s": st.floats(0.001, 10_000),
}


@settings(max_examples=300, deadline=None)
@given(load=loads, grow=st.sampled_from(sorted(GROWTHS)), data=st.data())
def test_more_load_never_costs_less(load: Load, grow: str, data: st.DataObject) -> None:
    """More players (each watching its rank), submits, spectators or REST reads never lower
    the month's cost, the API Gateway requests or the Lambda GB-seconds, nor the database
    while no board is saturated (a saturated board's rounds space out, flagged)."""
    added = data.draw(GROWTHS[grow])
    more = dataclasses.replace(load, **{grow: getattr(load, grow) + added})
    if grow == "players":  # players who do not watch would dilute the tickers' submits
        more = dataclasses.replace(more, tickers=load.tickers + added)
    before, after = estimate(load), estimate(more)
    tolerance = 1e-9
    assert after.monthly_usd >= before.monthly_usd * (1 - tolerance)
    saturated = "broadcaster round per board (ms)"
    if all(saturated not in {flag.limit for flag in e.flags} for e in (before, after)):
        assert after.database.writer_acus >= before.database.writer_acus
        assert after.database.reader_acus >= before.database.reader_acus
    assert after.traffic.api_requests_per_s >= before.traffic.api_requests_per_s * (1 - tolerance)
    assert after.lambdas.gb_seconds_per_month >= before.lambdas.gb_seconds_per_month * (
        1 - tolerance
    )


CLI = [sys.executable, "-m", "runtime.cli", "capacity"]


def test_the_command_prints_the_estimate_and_the_limits_a_load_crosses() -> None:
    """``leaderboard capacity`` prints the database, the traffic, the month's cost lines and
    each account limit crossed; ``--json`` gives the same figures with every input."""
    args = ["--players", "50000", "--submits-per-s", "500", "--spectators", "5000",
            "--tickers", "20000", "--boards", "10"]  # fmt: skip
    text = subprocess.run([*CLI, *args], capture_output=True, text=True, check=True).stdout
    assert "database: writer" in text and "ACU" in text
    assert "Lambda interface endpoint" in text and "total" in text
    assert "OVER: API Gateway requests/s (account)" in text
    data = json.loads(
        subprocess.run([*CLI, *args, "--json"], capture_output=True, text=True, check=True).stdout
    )
    expected = estimate(
        Load(players=50000, submits_per_s=500, spectators=5000, tickers=20000, boards=10)
    )
    assert data["monthly_usd"] == pytest.approx(expected.monthly_usd)
    assert data["prices"]["region"] == "us-east-1" and data["prices"]["collected"] == "2026-12"
    assert data["measured"]["db_ms_per_read"] == MEASURED.db_ms_per_read
    assert f"{expected.monthly_usd:,.2f}" in text.split("total")[1]


def test_the_command_refuses_an_impossible_load_with_the_reason() -> None:
    """More tickers than players: exit status 2 and the reason on stderr, no estimate."""
    done = subprocess.run(
        [*CLI, "--players", "10", "--submits-per-s", "1", "--spectators", "0", "--tickers", "20"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "tickers" in done.stderr and done.stdout == ""
