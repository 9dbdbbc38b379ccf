#!/usr/bin/env python3
"""Import every Python Lambda handler of a cloud assembly from its own built asset.

    python scripts/import_asset_handlers.py cdk.out/dev --runtime /path/to/boto3/site

For each ``AWS::Lambda::Function`` with a Python runtime in the assembly's templates,
the handler's module is imported in a fresh ``python -I -S`` (no site-packages, no user
paths) with only the function's asset directory (``aws:asset:path``) and ``--runtime``
(what the Lambda runtime provides: boto3) on ``sys.path``, and the handler must be a
callable. CDK's own bucket-deployment function (CDK's code on the runtime CDK picks, which
copies the admin console's files) is not the service's and is left out. The interpreter
must be the function's runtime version and, unless
``--any-platform``, its architecture: run it where the functions run (CI: an arm64
runner with Python 3.14). Exits 1 on any failure, or if no handler was found.

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MACHINES = {"arm64": {"aarch64", "arm64"}, "x86_64": {"x86_64", "amd64"}}
CDK_FUNCTIONS = ("CustomCDKBucketDeployment",)
"""Logical id prefixes of the functions CDK adds with code of its own."""


@dataclass(frozen=True)
class Handler:
    function: str
    handler: str
    runtime: str
    architecture: str
    asset: Path


def handlers_of(assembly: Path) -> list[Handler]:
    """Every Python function's handler in the assembly, with its asset directory."""
    found = []
    for template in sorted(assembly.glob("*.template.json")):
        resources = json.loads(template.read_text()).get("Resources", {})
        for logical_id, resource in sorted(resources.items()):
            props = resource.get("Properties", {})
            runtime = str(props.get("Runtime", ""))
            if resource.get("Type") != "AWS::Lambda::Function" or not runtime.startswith("python"):
                continue
            if logical_id.startswith(CDK_FUNCTIONS):
                continue
            asset = resource.get("Metadata", {}).get("aws:asset:path")
            if not asset:
                raise SystemExit(f"{logical_id}: expected aws:asset:path metadata, got none")
            found.append(
                Handler(
                    function=f"{template.stem.removesuffix('.template')}/{logical_id}",
                    handler=str(props["Handler"]),
                    runtime=runtime,
                    architecture=(props.get("Architectures") or ["x86_64"])[0],
                    asset=assembly / asset,
                )
            )
    return found


def import_script(handler: str, paths: list[str]) -> str:
    module, _, attribute = handler.rpartition(".")
    return (
        "import sys, importlib\n"
        f"sys.path[:0] = {paths!r}\n"
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "assert callable(handler), handler\n"
    )


def check(handler: Handler, runtime_paths: list[str], *, any_platform: bool) -> str | None:
    """None if the handler imports from its asset here; else what went wrong."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if not any_platform:
        if version != handler.runtime:
            return f"runtime {handler.runtime}, but this interpreter is {version}"
        machine = platform.machine().lower()
        if machine not in MACHINES.get(handler.architecture, {handler.architecture}):
            return f"architecture {handler.architecture}, but this machine is {machine}"
    if not handler.asset.is_dir():
        return f"asset {handler.asset} is not a directory"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c",
         import_script(handler.handler, [str(handler.asset), *runtime_paths])],
        capture_output=True, text=True, env=env, cwd=handler.asset, timeout=120, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assembly", type=Path, help="a cloud assembly directory (cdk.out/dev)")
    parser.add_argument(
        "--runtime", action="append", default=[], help="a directory the Lambda runtime provides"
    )
    parser.add_argument(
        "--any-platform", action="store_true", help="skip the runtime and architecture check"
    )
    args = parser.parse_args(argv)
    handlers = handlers_of(args.assembly)
    if not handlers:
        print(f"no Python Lambda function in {args.assembly}", file=sys.stderr)
        return 1
    failures = 0
    for handler in handlers:
        problem = check(handler, args.runtime, any_platform=args.any_platform)
        status = "ok" if problem is None else f"FAILED: {problem}"
        print(f"{handler.function}  {handler.handler}  {status}")
        failures += problem is not None
    print(f"{len(handlers) - failures} imported, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
