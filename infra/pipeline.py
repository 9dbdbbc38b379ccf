"""The GitHub Actions deploy role: an OIDC provider and a role that only the
repository's deploy jobs can assume, and that can only assume the CDK bootstrap
roles (which hold the real deploy permissions) and read the dev stage's token
signing key, for the smoke test.

The deploy jobs run in the GitHub environments ``dev`` and ``prod``
(``DEPLOY_ENVIRONMENTS``), so their OIDC token's subject is
``repo:<owner/name>:environment:<env>``, and that is what the role trusts. Which
branches may deploy, and who approves prod, are the environments' settings on
GitHub (deployment branches: ``main``; prod: required reviewers).

Deployed once per account, by hand, before the workflow can deploy:
``npx cdk deploy LeaderboardGitHubDeploy -c githubRepository=owner/name``.
"""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag import acknowledge, finding_for

GITHUB_OIDC_ISSUER = "token.actions.githubusercontent.com"
DEPLOY_ENVIRONMENTS: Final = ("dev", "prod")
"""The GitHub environments of the deploy jobs (.github/workflows/ci.yml)."""
SMOKE_SECRET_TAG: Final = ("secret", "jwt-signing")
"""The tag of a stage's HS256 key (``infra.stack``): the smoke test mints its token with it."""


def trusted_subjects(repository: str) -> list[str]:
    """The OIDC ``sub`` values the role trusts: the deploy jobs' environments."""
    return [f"repo:{repository}:environment:{env}" for env in DEPLOY_ENVIRONMENTS]


class GitHubDeployRole(Construct):
    """Exposes ``provider`` and ``role``."""

    def __init__(self, scope: Construct, construct_id: str, *, repository: str) -> None:
        super().__init__(scope, construct_id)
        self.provider = iam.OidcProviderNative(
            self,
            "Provider",
            url=f"https://{GITHUB_OIDC_ISSUER}",
            client_ids=["sts.amazonaws.com"],
        )
        self.role = iam.Role(
            self,
            "Role",
            description=f"GitHub Actions deploys of {repository} (environments "
            f"{', '.join(DEPLOY_ENVIRONMENTS)})",
            max_session_duration=Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(
                self.provider.oidc_provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_ISSUER}:aud": "sts.amazonaws.com",
                        f"{GITHUB_OIDC_ISSUER}:sub": trusted_subjects(repository),
                    },
                },
            ),
        )
        stack = Stack.of(self)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[f"arn:{stack.partition}:iam::{stack.account}:role/cdk-*"],
            )
        )
        secrets = stack.format_arn(service="secretsmanager", resource="secret", resource_name="*",
                                   arn_format=ArnFormat.COLON_RESOURCE_NAME)  # fmt: skip
        tag, value = SMOKE_SECRET_TAG
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[secrets],
                conditions={
                    "StringEquals": {
                        f"aws:ResourceTag/{tag}": value,
                        "aws:ResourceTag/stage": "dev",
                        "aws:ResourceTag/service": "leaderboard",
                    }
                },
            )
        )
        acknowledge(
            self.role,
            finding_for(self, f"arn:{stack.partition}:iam::{stack.account}:role/cdk-*"),
            reason="cdk deploy assumes the bootstrap roles (deploy, file-publishing, lookup), "
            "whose names carry the bootstrap qualifier and region; all start with cdk-.",
        )
        acknowledge(
            self.role,
            finding_for(self, secrets),
            reason="The smoke test reads the dev stage's token signing key, whose ARN ends in "
            "a random suffix and is made after this stack: the statement is limited by "
            "condition to secrets tagged service=leaderboard, stage=dev, secret=jwt-signing.",
        )


class GitHubDeployStack(Stack):
    """The one-time stack holding ``GitHubDeployRole``."""

    def __init__(self, scope: Construct, construct_id: str, *, repository: str, **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        deploy = GitHubDeployRole(self, "GitHub", repository=repository)
        CfnOutput(self, "DeployRoleArn", value=deploy.role.role_arn)
