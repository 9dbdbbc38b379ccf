"""The VPC: public subnets for the NAT gateways, private subnets for the Lambdas
and the RDS Proxy, isolated subnets for the database, flow logs, and the one
interface endpoint that the database itself needs (Lambda, for
``aws_lambda.invoke``). See infra/README.md for why NAT rather than endpoints.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import CfnResource, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

APP_SUBNETS: Final = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
DATA_SUBNETS: Final = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


class Network(Construct):
    """Exposes ``vpc``, ``flow_log_group`` and ``lambda_endpoint``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: tuple[str, ...],
        nat_gateways: int,
        log_retention: logs.RetentionDays,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            availability_zones=list(availability_zones),
            nat_gateways=nat_gateways,
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
                ec2.SubnetConfiguration(
                    name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        )
        self._retain_restrict_logs(log_retention_days, removal_policy)
        self.flow_log_group = logs.LogGroup(
            self, "FlowLogs", retention=log_retention, removal_policy=removal_policy
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        # The isolated database subnets have no route to the NAT: Aurora reaches
        # Lambda (aws_lambda.invoke) through this endpoint instead.
        self.lambda_endpoint = self.vpc.add_interface_endpoint(
            "LambdaEndpoint",
            service=ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
            subnets=APP_SUBNETS,
            private_dns_enabled=True,
            open=False,
        )

    def _retain_restrict_logs(self, retention_days: int, removal_policy: RemovalPolicy) -> None:
        """Give the log group of CDK's default-security-group custom resource a retention:
        created before the resource runs its function (which would create it without)."""
        provider = Stack.of(self).node.try_find_child(
            "Custom::VpcRestrictDefaultSGCustomResourceProvider"
        )
        resource = self.vpc.node.try_find_child("RestrictDefaultSecurityGroupCustomResource")
        if provider is None or resource is None:
            return
        handler = provider.node.find_child("Handler")
        assert isinstance(handler, CfnResource)
        group = logs.CfnLogGroup(
            self,
            "RestrictDefaultSecurityGroupLogs",
            log_group_name=Fn.join("", ["/aws/lambda/", handler.ref]),
            retention_in_days=retention_days,
        )
        group.apply_removal_policy(removal_policy)
        resource.node.add_dependency(group)
