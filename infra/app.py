"""Entry point of ``cdk synth`` / ``cdk deploy`` (``python -m infra.app``, see cdk.json).

Reads the stage config from context, builds the Lambda asset for arm64, creates
the stacks and registers cdk-nag's AwsSolutions checks, which fail synthesis on
any finding that is not acknowledged with a reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.account import ACCOUNT_STACK, AccountStack
from infra.bundling import REPO_ROOT, LambdaPlatform, build_lambda_asset
from infra.compute import PYTHON_VERSION
from infra.config import StageConfig
from infra.pipeline import GitHubDeployStack
from infra.stack import LeaderboardStack


def create_stacks(app: cdk.App, *, asset_dir: Path | None = None) -> list[cdk.Stack]:
    """Create every stack of the app from its context; nag checks included."""
    config = StageConfig.from_context(app.node)
    if asset_dir is None:
        target = LambdaPlatform.lambda_arm64(python_version=PYTHON_VERSION)
        asset_dir = build_lambda_asset(
            out_dir=REPO_ROOT / "build" / "lambda-asset" / target.tag, platform_=target
        )
    env = cdk.Environment(account=config.account, region=config.region)
    service = LeaderboardStack(
        app,
        f"Leaderboard-{config.stage}",
        config=config,
        asset_dir=asset_dir,
        env=env,
        description=f"Real-time leaderboards ({config.stage})",
        termination_protection=config.is_prod,
    )
    account = AccountStack(
        app,
        ACCOUNT_STACK,
        env=env,
        description="Leaderboard: what exists once per account and region (API Gateway logging)",
    )
    service.add_stack_dependency(account, "API Gateway stage logging needs the account's role")
    stacks: list[cdk.Stack] = [service, account]
    if config.github_repository:
        stacks.append(
            GitHubDeployStack(
                app,
                "LeaderboardGitHubDeploy",
                repository=config.github_repository,
                env=env,
                description="GitHub Actions OIDC deploy role for the leaderboard service",
            )
        )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def main() -> None:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    app = cdk.App()
    create_stacks(app)
    app.synth()


if __name__ == "__main__":
    main()
