"""Aurora PostgreSQL behind RDS Proxy.

A writer and ``db_readers`` readers, each reader pinned to a different
availability zone from the writer; Serverless v2 or provisioned by context;
storage encrypted; IAM authentication on; credentials generated into Secrets
Manager and rotated; a cluster parameter group; PostgreSQL logs exported.

RDS Proxy fronts the cluster for the Lambdas, with a second, ``READ_ONLY``
endpoint for the REST reads. Authentication through the proxy is IAM end to end:
a Lambda connects as the application role (``APP_DATABASE_USER``) with an IAM
token, and the proxy reaches the database with IAM too, so no function but the
migration one holds a password, and rotating the master secret touches no warm
Lambda. The migration function connects to the cluster directly as the master
user: migrations take a session-level advisory lock, which would pin a proxy
session (see infra/README.md), and they create the application role.

The cluster carries an IAM role for the ``Lambda`` feature, so that
``aws_lambda.invoke`` can wake the broadcaster; the caller grants the invoke.
"""

from __future__ import annotations

from aws_cdk import Duration, Names, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from infra.config import APP_DATABASE_USER, DATABASE_NAME, DATABASE_USER, DbMode, StageConfig
from infra.nag import acknowledge
from infra.network import APP_SUBNETS, DATA_SUBNETS

ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_5
PORT = 5432


class Database(Construct):
    """Exposes ``cluster``, ``secret``, ``proxy``, ``read_only_endpoint``,
    ``lambda_role``, ``parameter_group`` and the DSNs (no password in any)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        vpc: ec2.IVpc,
        lambda_endpoint: ec2.InterfaceVpcEndpoint,
    ) -> None:
        super().__init__(scope, construct_id)
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION)
        removal = RemovalPolicy.SNAPSHOT if config.is_prod else RemovalPolicy.DESTROY
        cluster_id = f"leaderboard-{config.stage}"

        self.parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description=f"leaderboard {config.stage} cluster parameters",
            parameters={
                "rds.force_ssl": "1",
                "log_min_duration_statement": "1000",
                "idle_in_transaction_session_timeout": "60000",
                "shared_preload_libraries": "pg_stat_statements",
            },
        )
        self.lambda_role = iam.Role(
            self,
            "InvokeLambdaRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description="Lets Aurora call aws_lambda.invoke to wake the broadcaster",
        )
        # Created before the cluster so that RDS writes into a log group with retention.
        self.log_group = logs.LogGroup(
            self,
            "PostgresLog",
            log_group_name=f"/aws/rds/cluster/{cluster_id}/postgresql",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        azs = config.availability_zones
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=engine,
            cluster_identifier=cluster_id,
            credentials=rds.Credentials.from_generated_secret(DATABASE_USER),
            default_database_name=DATABASE_NAME,
            writer=self._instance(config, "writer", azs[0], promotion_tier=0),
            readers=[
                self._instance(config, f"reader{i + 1}", azs[(i + 1) % len(azs)], promotion_tier=1)
                for i in range(config.db_readers)
            ],
            serverless_v2_min_capacity=config.db_min_acu,
            serverless_v2_max_capacity=config.db_max_acu,
            vpc=vpc,
            vpc_subnets=DATA_SUBNETS,
            port=PORT,
            parameter_group=self.parameter_group,
            storage_encrypted=True,
            iam_authentication=True,
            deletion_protection=config.deletion_protection,
            backup=rds.BackupProps(
                retention=Duration.days(config.db_backup_retention_days),
                preferred_window="03:00-04:00",
            ),
            preferred_maintenance_window="sun:04:30-sun:05:30",
            cloudwatch_logs_exports=["postgresql"],
            copy_tags_to_snapshot=True,
            removal_policy=removal,
        )
        self.cluster.node.add_dependency(self.log_group)
        cfn_cluster = self.cluster.node.default_child
        assert isinstance(cfn_cluster, rds.CfnDBCluster)
        cfn_cluster.associated_roles = [
            rds.CfnDBCluster.DBClusterRoleProperty(
                role_arn=self.lambda_role.role_arn, feature_name="Lambda"
            )
        ]
        assert self.cluster.secret is not None
        self.secret = self.cluster.secret
        self.rotation = self.cluster.add_rotation_single_user(
            automatically_after=Duration.days(30), vpc_subnets=APP_SUBNETS
        )
        # The rotation function (a Serverless application) is named after its construct;
        # its log group is created first, so that it has a retention.
        rotation_logs = logs.LogGroup(
            self,
            "RotationLog",
            log_group_name=f"/aws/lambda/{Names.unique_id(self.rotation)}",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.rotation.node.add_dependency(rotation_logs)
        lambda_endpoint.connections.allow_default_port_from(
            self.cluster, "Aurora calls Lambda (aws_lambda.invoke)"
        )

        self.proxy_security_group = ec2.SecurityGroup(
            self,
            "ProxySecurityGroup",
            vpc=vpc,
            description="RDS Proxy: reached by the Lambdas, reaches the cluster",
            allow_all_outbound=False,
        )
        self.cluster.connections.allow_default_port_from(
            self.proxy_security_group, "RDS Proxy to Aurora"
        )
        self.proxy_security_group.add_egress_rule(
            ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(PORT), "RDS Proxy to Aurora"
        )
        proxy_name = f"leaderboard-{config.stage}"
        # RDS Proxy writes its log to this group; created first, so it has a retention.
        self.proxy_log_group = logs.LogGroup(
            self,
            "ProxyLog",
            log_group_name=f"/aws/rds/proxy/{proxy_name}",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        # End-to-end IAM: the proxy itself logs in to the cluster with IAM as the app role.
        self.proxy_role = iam.Role(
            self,
            "ProxyRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description="RDS Proxy connects to the cluster as the application role (IAM)",
        )
        self.cluster.grant_connect(self.proxy_role, APP_DATABASE_USER)
        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            db_proxy_name=proxy_name,
            role=self.proxy_role,
            proxy_target=rds.ProxyTarget.from_cluster(self.cluster),
            default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
            vpc=vpc,
            vpc_subnets=APP_SUBNETS,
            security_groups=[self.proxy_security_group],
            require_tls=True,
            iam_auth=True,
            debug_logging=False,
            idle_client_timeout=Duration.minutes(30),
            borrow_timeout=Duration.seconds(30),
            max_connections_percent=90,
            max_idle_connections_percent=50,
        )
        self.proxy.node.add_dependency(self.proxy_log_group)
        self.read_only_endpoint = rds.CfnDBProxyEndpoint(
            self,
            "ReadOnlyEndpoint",
            db_proxy_endpoint_name=f"leaderboard-{config.stage}-read",
            db_proxy_name=self.proxy.db_proxy_name,
            vpc_subnet_ids=vpc.select_subnets(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            ).subnet_ids,
            vpc_security_group_ids=[self.proxy_security_group.security_group_id],
            target_role="READ_ONLY",
        )

        self.writer_dsn = _dsn(self.proxy.endpoint, APP_DATABASE_USER)
        self.reader_dsn = _dsn(self.read_only_endpoint.attr_endpoint, APP_DATABASE_USER)
        self.direct_dsn = _dsn(self.cluster.cluster_endpoint.hostname, DATABASE_USER)

        if not config.deletion_protection:
            acknowledge(
                self.cluster,
                "AwsSolutions-RDS10",
                reason=f"The {config.stage} stage is disposable; prod turns deletion "
                "protection on.",
            )
        acknowledge(
            self.cluster,
            "AwsSolutions-RDS11",
            reason="A non-default port adds no protection here: the cluster sits in isolated "
            "subnets and admits only the proxy's, the rotation's and the migration's groups.",
        )

    @staticmethod
    def _instance(
        config: StageConfig, name: str, availability_zone: str, *, promotion_tier: int
    ) -> rds.IClusterInstance:
        if config.db_mode is DbMode.SERVERLESS:
            return rds.ClusterInstance.serverless_v2(
                name,
                availability_zone=availability_zone,
                scale_with_writer=promotion_tier <= 1,
                publicly_accessible=False,
                enable_performance_insights=True,
                auto_minor_version_upgrade=True,
            )
        return rds.ClusterInstance.provisioned(
            name,
            instance_type=ec2.InstanceType(config.db_instance_class),
            availability_zone=availability_zone,
            promotion_tier=promotion_tier,
            publicly_accessible=False,
            enable_performance_insights=True,
            auto_minor_version_upgrade=True,
        )

    def grant_app_connect(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` connect through the proxy as the application role (IAM)."""
        self.proxy.grant_connect(grantee, APP_DATABASE_USER)

    def allow_clients(self, peer: ec2.IConnectable, description: str) -> None:
        """Let ``peer`` reach both proxy endpoints."""
        self.proxy_security_group.connections.allow_from(peer, ec2.Port.tcp(PORT), description)

    def allow_direct(self, peer: ec2.IConnectable, description: str) -> None:
        """Let ``peer`` reach the cluster itself, bypassing the proxy (migrations)."""
        self.cluster.connections.allow_default_port_from(peer, description)


def _dsn(host: str, user: str) -> str:
    """A DSN without password (an IAM token or the secret supplies it at connect time);
    TLS is required: an IAM token must never travel in the clear."""
    return f"postgresql://{user}@{host}:{PORT}/{DATABASE_NAME}?sslmode=require"
