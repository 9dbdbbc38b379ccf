"""REST while the database is down: a typed 503 problem with Retry-After, never a 500."""

from __future__ import annotations

import aiohttp

from runtime.app import LocalRuntime
from runtime.rest_gateway import mount_rest
from tests.outages import database_outage
from tests.rest.support import rest_settings, token


async def test_a_database_outage_is_a_503_problem_with_retry_after(database_dsn: str) -> None:
    """Reads and admin writes during an outage answer 503 application/problem+json with a
    retryable code and Retry-After; once the database is back they answer 200/201."""
    settings = rest_settings()
    async with LocalRuntime(settings, dsn=database_dsn, mounts=[mount_rest]) as rt, \
            aiohttp.ClientSession() as http:  # fmt: skip
        headers = {"Authorization": f"Bearer {token(settings, 'admin', None)}"}
        async with database_outage(database_dsn):
            for method, path, body in (("GET", "/v1/boards", None),
                                       ("POST", "/v1/boards", {"id": "outage"})):  # fmt: skip
                async with http.request(
                    method, f"{rt.http_url}{path}", json=body, headers=headers
                ) as resp:
                    problem = await resp.json(content_type=None)
                    assert resp.status == 503, problem
                    assert resp.headers["Content-Type"] == "application/problem+json"
                    assert int(resp.headers["Retry-After"]) >= 1
                    assert problem["code"] in ("database_unreachable", "database_error")
        async with http.post(f"{rt.http_url}/v1/boards", json={"id": "outage"},
                             headers=headers) as resp:  # fmt: skip
            assert resp.status == 201
