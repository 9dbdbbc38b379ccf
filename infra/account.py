"""What exists once per account and region, whatever the number of stages.

API Gateway logs to CloudWatch through one role per account and region
(``AWS::ApiGateway::Account``). A stage stack that set it would fight the other
stage over it, and deleting either would unset it, so this stack owns it; every
stage stack depends on it, so ``cdk deploy Leaderboard-dev`` deploys it first, and
deploying it again changes nothing.
"""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag import acknowledge, finding_for

ACCOUNT_STACK: Final = "LeaderboardAccount"


class ApiGatewayLogging(Construct):
    """The account's API Gateway CloudWatch role. Exposes ``role`` and ``account``."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        policy = iam.ManagedPolicy.from_aws_managed_policy_name(
            "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway writes execution and access logs to CloudWatch Logs",
            managed_policies=[policy],
        )
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        self.account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)
        self.account.apply_removal_policy(RemovalPolicy.RETAIN)
        acknowledge(
            self.role,
            finding_for(self, policy.managed_policy_arn, rule="AwsSolutions-IAM4", kind="Policy"),
            reason="API Gateway's account-wide logging role; this AWS managed policy is the "
            "documented one and grants only CloudWatch Logs writes.",
        )


class AccountStack(Stack):
    """The one-per-account-and-region stack (``LeaderboardAccount``)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.logging = ApiGatewayLogging(self, "ApiGatewayLogging")
