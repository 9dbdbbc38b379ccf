"""The GitHub Actions deploy role: an OIDC provider and a role that only the
repository's ``main`` branch can assume, and that can only assume the CDK
bootstrap roles (which hold the real deploy permissions).

Deployed once per account, by hand, before the workflow can deploy:
``npx cdk deploy LeaderboardGitHubDeploy -c githubRepository=owner/name``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag import acknowledge

GITHUB_OIDC_ISSUER = "token.actions.githubusercontent.com"


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
            description=f"GitHub Actions deploys of {repository} (main only)",
            max_session_duration=Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(
                self.provider.oidc_provider_arn,
                conditions={
                    "StringEquals": {f"{GITHUB_OIDC_ISSUER}:aud": "sts.amazonaws.com"},
                    "StringLike": {
                        f"{GITHUB_OIDC_ISSUER}:sub": f"repo:{repository}:ref:refs/heads/main"
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
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-*]",
            reason="cdk deploy assumes the bootstrap roles (deploy, file-publishing, lookup), "
            "whose names carry the bootstrap qualifier and region; all start with cdk-.",
        )


class GitHubDeployStack(Stack):
    """The one-time stack holding ``GitHubDeployRole``."""

    def __init__(self, scope: Construct, construct_id: str, *, repository: str, **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        deploy = GitHubDeployRole(self, "GitHub", repository=repository)
        CfnOutput(self, "DeployRoleArn", value=deploy.role.role_arn)
