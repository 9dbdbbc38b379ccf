"""The service stack: wires the components together and grants between them.

Order matters only where one component needs another's attribute: the
WebSocket API is created before the functions (they read its id), and its
routes are added after them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.api import CustomDomains, RestFrontDoor, WebSocketFrontDoor
from infra.compute import Functions, Migration, ScheduledJobs
from infra.config import APP_DATABASE_USER, Fn, StageConfig
from infra.console import AdminConsole
from infra.database import Database
from infra.nag import acknowledge, finding_for
from infra.network import Network
from infra.observability import Observability
from infra.pipeline import SMOKE_SECRET_TAG

CONNECTION_MANAGERS: Final = (
    Fn.WS_CONNECT,
    Fn.WS_DISCONNECT,
    Fn.WS_SUBMIT,
    Fn.WS_SUBSCRIBE,
    Fn.WS_UNSUBSCRIBE,
    Fn.WS_DEFAULT,
    Fn.WS_MODERATE,
    Fn.BROADCASTER,
    Fn.EXPIRE_CONNECTIONS,
)
"""Functions that post to, or close, WebSocket connections through ``@connections``."""


class LeaderboardStack(Stack):
    """Everything the service runs on, for one stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        asset_dir: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # CloudFormation rejects Tags on proxy target groups.
        untaggable = ["AWS::RDS::DBProxyTargetGroup"]
        Tags.of(self).add("service", "leaderboard", exclude_resource_types=untaggable)
        Tags.of(self).add("stage", config.stage, exclude_resource_types=untaggable)
        retention = config.log_retention

        network = Network(
            self,
            "Network",
            availability_zones=config.availability_zones,
            nat_gateways=config.nat_gateways,
            log_retention=retention,
            log_retention_days=config.log_retention_days,
            removal_policy=self._log_removal(config),
        )
        database = Database(
            self,
            "Database",
            config=config,
            vpc=network.vpc,
            lambda_endpoint=network.lambda_endpoint,
        )
        jwt_secret = None if config.jwks_url else self._jwt_secret(config)
        cursor_secret = self._cursor_secret(config)
        websocket = WebSocketFrontDoor(self, "WebSocket", config=config)
        compute = Functions(
            self,
            "Functions",
            config=config,
            code=lambda_.Code.from_asset(str(asset_dir)),
            vpc=network.vpc,
            database=database,
            jwt_secret=jwt_secret,
            cursor_secret=cursor_secret,
            ws_api_id=websocket.api.api_id,
            ws_stage=websocket.stage.stage_name,
        )
        functions = compute.functions
        websocket.add_routes(
            functions=functions, authorizer=functions[Fn.AUTHORIZER], config=config
        )
        for fn in CONNECTION_MANAGERS:
            arns = websocket.grant_connections(functions[fn])
            acknowledge(
                functions[fn].role or functions[fn],
                *(finding_for(self, arn) for arn in arns),
                reason=f"execute-api:ManageConnections on this API's {config.stage} stage, "
                "for POST, GET and DELETE on @connections/* only: connection ids are minted "
                "at run time, so each resource must end in a wildcard.",
            )
        network.lambda_endpoint.connections.allow_default_port_from(
            compute.invoke_security_group, "The broadcaster invokes itself (fan-out shards)"
        )
        database.lambda_role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[functions[Fn.BROADCASTER].function_arn],
            )
        )

        rest = RestFrontDoor(
            self,
            "Rest",
            config=config,
            handler=functions[Fn.REST],
            authorizer=functions[Fn.AUTHORIZER],
        )
        admin_console = AdminConsole(self, "AdminConsole", config=config, api=rest.api)
        ScheduledJobs(self, "Schedules", config=config, functions=functions)
        egress = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        Migration(
            self,
            "Migration",
            handler=functions[Fn.MIGRATE],
            properties={
                "Stage": config.stage,
                "BroadcasterFunctionArn": functions[Fn.BROADCASTER].function_arn,
                "AppDatabaseUser": APP_DATABASE_USER,
            },
            after=[database.cluster, egress.internet_connectivity_established],
            log_retention=retention,
        )
        if config.custom_domains is not None:
            CustomDomains(self, "Domains", config=config, rest=rest, websocket=websocket)
        observability = Observability(
            self,
            "Observability",
            config=config,
            functions=functions,
            cluster=database.cluster,
            proxy=database.proxy,
            max_db_connections=config.db_connections_alarm,
            dead_letter_queue=compute.dead_letter_queue,
            rest_api=rest.api,
            websocket=websocket,
        )

        CfnOutput(self, "WebSocketUrl", value=websocket.stage.url)
        CfnOutput(self, "RestUrl", value=rest.api.url)
        CfnOutput(self, "AdminConsoleUrl", value=rest.api.url_for_path("/admin"))
        CfnOutput(self, "ProxyEndpoint", value=database.proxy.endpoint)
        CfnOutput(self, "ProxyReadOnlyEndpoint", value=database.read_only_endpoint.attr_endpoint)
        CfnOutput(self, "AlarmTopicArn", value=observability.topic.topic_arn)
        if jwt_secret is not None:
            CfnOutput(self, "JwtSecretArn", value=jwt_secret.secret_arn)
        self.network = network
        self.database = database
        self.functions = compute
        self.websocket = websocket
        self.rest = rest
        self.admin_console = admin_console
        self.observability = observability

    @staticmethod
    def _log_removal(config: StageConfig) -> RemovalPolicy:
        return RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY

    def _cursor_secret(self, config: StageConfig) -> secretsmanager.Secret:
        """Key material for the REST API's signed page cursors (read by that function only);
        generated here whether tokens are HS256 or come from a JWKS issuer."""
        return self._generated_secret(
            "CursorSecret",
            f"leaderboard {config.stage}: key material for REST page cursors",
            rotation="Signs short-lived page cursors only; rotating it just makes clients "
            "restart from the first page, so it is rotated by an operator when needed, not on "
            "a schedule.",
        )

    def _jwt_secret(self, config: StageConfig) -> secretsmanager.Secret:
        secret = self._generated_secret(
            "JwtSecret",
            f"leaderboard {config.stage}: HS256 key shared with the token issuer",
            rotation="An HS256 signing key shared with the token issuer: rotating it "
            "invalidates every live token, so rotation is coordinated with the issuer, not "
            "scheduled here.",
        )
        Tags.of(secret).add(*SMOKE_SECRET_TAG)  # the pipeline's smoke test mints with it
        return secret

    def _generated_secret(
        self, construct_id: str, description: str, *, rotation: str
    ) -> secretsmanager.Secret:
        """A 64-character generated secret; ``rotation`` says why it has no schedule."""
        secret = secretsmanager.Secret(
            self,
            construct_id,
            description=description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        acknowledge(secret, "AwsSolutions-SMG4", reason=rotation)
        return secret
