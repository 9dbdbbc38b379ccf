"""The Lambda functions, their schedules and the migration custom resource.

One function per handler, all from the same asset (``bundling.py``), Python on
arm64, JSON logs, X-Ray active tracing, reserved concurrency from the stage
config. Each function has its own role holding only what it uses: writing its
own log group, connecting to RDS Proxy as the application role (IAM) or, for the
migration function alone, reading the master secret, and, inside the VPC,
managing its network interfaces. Grants that involve other components
(``@connections``, the database's invoke role) are made by the stack.

The functions invoked asynchronously (the broadcaster, the two sweeps) send an
event that fails, or that waits longer than ``asyncMaxEventAgeS`` to start, to a
dead-letter queue (an on-failure destination), watched by an alarm.

The authorizer runs outside the VPC: it needs no database, and an OIDC JWKS URL
must be reachable on the internet. Every other function runs in the private
subnets and talks to RDS Proxy; only the migration function reaches the cluster
directly.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from aws_cdk import ArnFormat, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct, IDependable

from infra.bundling import REPO_ROOT
from infra.config import APP_DATABASE_USER, HANDLERS, Fn, LambdaEnvironment, StageConfig
from infra.database import Database
from infra.nag import acknowledge, finding_resource
from infra.network import APP_SUBNETS

RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
PYTHON_VERSION: Final = RUNTIME.name.removeprefix("python")
"""The Python version the asset's wheels are built for."""

_TIMEOUTS: Final[dict[Fn, Duration]] = {
    Fn.AUTHORIZER: Duration.seconds(5),
    Fn.BROADCASTER: Duration.seconds(60),
    Fn.REST: Duration.seconds(15),
    Fn.EXPIRE_CONNECTIONS: Duration.seconds(120),
    Fn.ROLL_SEASONS: Duration.seconds(300),
    Fn.MIGRATE: Duration.minutes(10),
}
_MEMORY: Final[dict[Fn, int]] = {Fn.BROADCASTER: 1024, Fn.AUTHORIZER: 256}
ASYNC_ONLY: Final = frozenset({Fn.BROADCASTER, Fn.EXPIRE_CONNECTIONS, Fn.ROLL_SEASONS})
"""Invoked asynchronously; a lost wake-up is caught by the next scheduled run, so no retries:
a failed or expired event goes to the dead-letter queue instead."""

_ENI_ACTIONS: Final = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def migrations_fingerprint(db_dir: Path = REPO_ROOT / "db") -> str:
    """Hash of the schema's SQL (the numbered migrations and the function files), so that
    a new migration or a changed function updates the custom resource, which migrates."""
    digest = hashlib.sha256()
    for folder in ("migrations", "functions"):
        for path in sorted((db_dir / folder).glob("*.sql")):
            digest.update(f"{folder}/{path.name}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class Functions(Construct):
    """Exposes ``functions`` (by ``Fn``), ``log_groups``, ``security_group``,
    ``invoke_security_group`` (the functions that call the Lambda API) and
    ``dead_letter_queue``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        code: lambda_.Code,
        vpc: ec2.IVpc,
        database: Database,
        jwt_secret: secretsmanager.ISecret | None,
        cursor_secret: secretsmanager.ISecret,
        ws_api_id: str,
        ws_stage: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._code = code
        self._vpc = vpc
        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        self._retention = config.log_retention
        self._removal = removal

        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, description="Lambdas that use the database"
        )
        self.migrate_security_group = ec2.SecurityGroup(
            self, "MigrateSecurityGroup", vpc=vpc, description="The migration Lambda"
        )
        # Inside the VPC the Lambda API's name resolves to the interface endpoint, whose
        # security group admits this group: the broadcaster invokes itself (fan-out shards).
        self.invoke_security_group = ec2.SecurityGroup(
            self,
            "InvokeSecurityGroup",
            vpc=vpc,
            description="Lambdas that call the Lambda API (through its interface endpoint)",
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            reason="This queue is itself the dead-letter queue: the on-failure destination "
            "of the asynchronously invoked functions; nothing consumes it, and an alarm fires "
            "on its first message.",
        )
        database.allow_clients(self.security_group, "Lambdas to RDS Proxy")
        database.allow_direct(self.migrate_security_group, "Migrations to Aurora (advisory lock)")

        region = Stack.of(self).region
        shared = LambdaEnvironment(
            stage=config.stage,
            aws_region=region,
            jwt_issuer=config.jwt_issuer,
            jwt_audience=config.jwt_audience,
            jwks_url=config.jwks_url,
        )
        with_db = dataclasses.replace(
            shared,
            database_url=database.writer_dsn,
            reader_url=database.reader_dsn,
            db_iam_user=APP_DATABASE_USER,
            db_proxy=True,
            db_pool_min=config.db_pool_min,
            db_pool_max=config.db_pool_max,
            ws_api_id=ws_api_id,
            ws_stage=ws_stage,
            conflation_ms=config.conflation_ms,
        )
        environments: dict[Fn, LambdaEnvironment] = {
            fn: with_db for fn in Fn if fn not in (Fn.AUTHORIZER, Fn.MIGRATE)
        }
        environments[Fn.AUTHORIZER] = dataclasses.replace(
            shared, jwt_secret_arn=jwt_secret.secret_arn if jwt_secret else None
        )
        # The broadcaster hands parts of very large fan-outs to invocations of itself; its
        # name is fixed so that its own role and environment can name it without a cycle.
        self.broadcaster_name = f"leaderboard-{config.stage}-broadcaster"
        environments[Fn.BROADCASTER] = dataclasses.replace(
            with_db, broadcast_function_name=self.broadcaster_name
        )
        # REST posts to no connection: without the WebSocket API id it builds no
        # @connections client (nor resolves credentials for one) at cold start.
        environments[Fn.REST] = dataclasses.replace(
            with_db, cursor_secret_arn=cursor_secret.secret_arn, ws_api_id=None
        )
        environments[Fn.MIGRATE] = dataclasses.replace(
            with_db,
            database_url=database.direct_dsn,
            reader_url=None,
            db_iam_user=None,
            db_proxy=None,
            db_secret_arn=database.secret.secret_arn,
            db_pool_max=1,
        )

        self.functions: dict[Fn, lambda_.Function] = {}
        self.log_groups: dict[Fn, logs.LogGroup] = {}
        for fn in Fn:
            groups: list[ec2.ISecurityGroup] = []
            if fn is Fn.MIGRATE:
                groups = [self.migrate_security_group]
            elif fn is not Fn.AUTHORIZER:
                groups = [self.security_group]
            if fn is Fn.BROADCASTER:
                groups.append(self.invoke_security_group)
            self.functions[fn] = self._function(fn, environments[fn], security_groups=groups)
        for fn, function in self.functions.items():
            if fn is Fn.AUTHORIZER:
                if jwt_secret is not None:
                    jwt_secret.grant_read(function)
            elif fn is Fn.MIGRATE:
                database.secret.grant_read(function)
            else:
                database.grant_app_connect(function)
            if fn is Fn.REST:
                cursor_secret.grant_read(function)

    def _function(
        self,
        fn: Fn,
        environment: LambdaEnvironment,
        *,
        security_groups: list[ec2.ISecurityGroup],
    ) -> lambda_.Function:
        config = self._config
        log_group = logs.LogGroup(
            self, f"{fn}-logs", retention=self._retention, removal_policy=self._removal
        )
        role = iam.Role(
            self,
            f"{fn}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"leaderboard {config.stage} {fn} function",
        )
        log_group.grant_write(role)
        wildcard = (
            "X-Ray's xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) "
            "support no resource-level permissions"
        )
        if security_groups:
            role.add_to_policy(iam.PolicyStatement(actions=list(_ENI_ACTIONS), resources=["*"]))
            wildcard += (
                "; nor do Lambda's VPC network-interface actions (ec2:CreateNetworkInterface, "
                "Describe*, Delete*, Assign/UnassignPrivateIpAddresses), the "
                "AWSLambdaVPCAccessExecutionRole set"
            )
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", reason=wildcard + ".")
        function_name = None
        if fn is Fn.BROADCASTER:
            function_name = self.broadcaster_name
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[
                        Stack.of(self).format_arn(
                            service="lambda",
                            resource="function",
                            resource_name=function_name,
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                )
            )
        function = lambda_.Function(
            self,
            fn.value,
            function_name=function_name,
            description=f"leaderboard {config.stage}: {HANDLERS[fn]}",
            code=self._code,
            handler=HANDLERS[fn],
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=_MEMORY.get(fn, config.memory_mb),
            timeout=_TIMEOUTS.get(fn, Duration.seconds(10)),
            environment=environment.to_env(),
            reserved_concurrent_executions=config.reserved_concurrency[fn],
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            vpc=self._vpc if security_groups else None,
            vpc_subnets=APP_SUBNETS if security_groups else None,
            security_groups=security_groups or None,
            tracing=lambda_.Tracing.ACTIVE,
            retry_attempts=0 if fn in ASYNC_ONLY else None,
            max_event_age=Duration.seconds(config.async_max_event_age_s)
            if fn in ASYNC_ONLY
            else None,
            on_failure=destinations.SqsDestination(self.dead_letter_queue)
            if fn in ASYNC_ONLY
            else None,
            recursive_loop=lambda_.RecursiveLoop.TERMINATE,
        )
        self.log_groups[fn] = log_group
        return function


class ScheduledJobs(Construct):
    """EventBridge rules for the broadcaster sweep, the stale-connection sweep and the
    season roll. Exposes ``rules`` by ``Fn``. Each job is idempotent, so an overlap
    or a skipped run only delays work."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: Mapping[Fn, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        jobs = (
            (Fn.BROADCASTER, config.broadcast_sweep_minutes, {"source": "sweep"}),
            (Fn.EXPIRE_CONNECTIONS, config.expire_connections_minutes, {"source": "schedule"}),
            (Fn.ROLL_SEASONS, config.roll_seasons_minutes, {"source": "schedule"}),
        )
        self.rules: dict[Fn, events.Rule] = {}
        for fn, minutes, payload in jobs:
            self.rules[fn] = events.Rule(
                self,
                f"{fn}-schedule",
                description=f"leaderboard {config.stage}: {HANDLERS[fn]} every {minutes} min",
                schedule=events.Schedule.rate(Duration.minutes(minutes)),
                targets=[
                    targets.LambdaFunction(
                        functions[fn],
                        event=events.RuleTargetInput.from_object(payload),
                        retry_attempts=0,
                    )
                ],
            )


class Migration(Construct):
    """A custom resource (CDK Provider framework) that runs ``db.handler.on_migrate_event``
    on every deploy that changes the migrations. Exposes ``provider`` and ``resource``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.Function,
        properties: Mapping[str, str],
        after: Sequence[IDependable],
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(
            self, "ProviderLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        role = iam.Role(
            self,
            "ProviderRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CDK Provider framework: forwards the migration custom resource",
        )
        log_group.grant_write(role)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=handler,
            log_group=log_group,
            framework_on_event_role=role,
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type="Custom::LeaderboardMigrations",
            properties=dict(properties, MigrationsFingerprint=migrations_fingerprint()),
        )
        for dependency in after:
            self.resource.node.add_dependency(dependency)
        acknowledge(
            role,
            finding_resource(handler, "Arn", suffix=":*"),
            reason="The Provider framework grants lambda:InvokeFunction on the migration "
            "function's versions and aliases (ARN:*); it names that one function.",
        )
