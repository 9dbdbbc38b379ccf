"""The Postman collection passes under newman against a fresh, seeded local runtime."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

from core.settings import Settings
from postman.build import COLLECTION, ENVIRONMENT, collection, environment, render
from runtime.postgres import EmbeddedCluster
from tests.rest.support import fresh_runtime, seed_fixed, token

ROOT = Path(__file__).resolve().parents[2]


def test_collection_is_up_to_date() -> None:
    """The committed collection and environment are what postman/build.py generates."""
    assert COLLECTION.read_text() == render(collection())
    assert ENVIRONMENT.read_text() == render(environment())


def test_collection_covers_every_operation() -> None:
    """Every operation of the OpenAPI document has a request in the collection."""
    from rest.api import ROUTES
    from rest.openapi import openapi_document

    doc = collection()
    covered = set()
    for folder in doc["item"]:
        for item in folder["item"]:
            spec = json.loads(
                item["event"][0]["script"]["exec"][0].removeprefix("const spec = ").rstrip(";")
            )
            covered.add((spec["method"], spec["path"]))
    ops = {(m, p) for p, methods in openapi_document(ROUTES)["paths"].items() for m in methods}
    assert ops <= covered


async def test_newman_passes(migrated: EmbeddedCluster, settings_rest: Settings) -> None:
    """newman runs the whole collection with no failed assertion."""
    newman = ROOT / "node_modules" / ".bin" / "newman"
    assert newman.exists(), "newman is missing: run `npm ci` (package.json devDependencies)"
    assert migrated.replica is not None and shutil.which("node")
    async with fresh_runtime(migrated.primary, migrated.replica, settings_rest) as runtime:
        await seed_fixed(runtime.store)
        tokens = {
            "adminToken": token(settings_rest, "admin"),
            "playerToken": token(settings_rest, "player", player="p001"),
            "spectatorToken": token(settings_rest, "spectator"),
            "serverToken": token(settings_rest, "server"),
        }
        env_vars = [f"--env-var=baseUrl={runtime.http_url}"]
        env_vars += [f"--env-var={k}={v}" for k, v in tokens.items()]
        proc = await asyncio.create_subprocess_exec(
            str(newman), "run", str(COLLECTION), "-e", str(ENVIRONMENT), *env_vars,
            "--reporters", "cli", "--color", "off", "--disable-unicode",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-6000:]
    counted = re.search(r"assertions \|\s+(\d+) \|\s+(\d+) \|", report)
    assert counted is not None, report[-3000:]
    assert int(counted.group(1)) >= 150 and counted.group(2) == "0"
