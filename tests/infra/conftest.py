"""Session fixtures: each app is synthesized once, with cdk-nag, into a temp dir.

The Lambda asset is built once for arm64 (cached under build/lambda-deps) and
shared by every synthesis.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.app import create_stacks
from infra.bundling import LambdaPlatform, build_lambda_asset
from infra.compute import PYTHON_VERSION

DOMAIN_CONTEXT: dict[str, Any] = {
    "domainName": "example.com",
    "hostedZoneId": "Z0123456789EXAMPLE",
}


@dataclasses.dataclass(frozen=True)
class Synthesized:
    """One synthesized app: where it went, its main template, and nag's verdict."""

    outdir: Path
    template_path: Path
    template: Template
    raw: dict[str, Any]
    validation_error: str | None


@pytest.fixture(scope="session")
def lambda_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = LambdaPlatform.lambda_arm64(python_version=PYTHON_VERSION)
    return build_lambda_asset(out_dir=tmp_path_factory.mktemp("asset") / "arm64", platform_=target)


ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
"""What ``npx cdk synth`` gets from cdk.json: the feature flags among it."""


def _synthesize(outdir: Path, asset: Path, context: dict[str, Any]) -> Synthesized:
    app = cdk.App(
        outdir=str(outdir),
        context={
            **CDK_CONTEXT,
            **context,
            "@aws-cdk/core:validationReportJson": True,
            "aws:cdk:enable-asset-metadata": True,  # as the CLI does
        },
    )
    stacks = create_stacks(app, asset_dir=asset)
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag or CloudFormation validation failed
        error = str(exc)
        report = outdir / "validation-report.json"
        if report.exists():
            error += "\n" + report.read_text()
    path = outdir / f"{stacks[0].artifact_id}.template.json"
    raw = json.loads(path.read_text())
    return Synthesized(outdir, path, Template.from_json(raw), raw, error)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory, lambda_asset: Path) -> Synthesized:
    """The dev stage with the defaults: serverless, one NAT, no custom domain."""
    return _synthesize(tmp_path_factory.mktemp("dev"), lambda_asset, {"stage": "dev"})


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory, lambda_asset: Path) -> Synthesized:
    """The prod stage with custom domains and the GitHub deploy role."""
    context = {"stage": "prod", "githubRepository": "example/leaderboard", **DOMAIN_CONTEXT}
    return _synthesize(tmp_path_factory.mktemp("prod"), lambda_asset, context)


@pytest.fixture(scope="session")
def cognito(tmp_path_factory: pytest.TempPathFactory, lambda_asset: Path) -> Synthesized:
    """The dev stage with tokens from a JWKS issuer (Cognito): no shared HS256 secret."""
    context = {
        "stage": "dev",
        "leaderboard:dev": {
            "jwks_url": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example/.well-known/jwks.json",
            "jwt_issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
        },
    }
    return _synthesize(tmp_path_factory.mktemp("cognito"), lambda_asset, context)
