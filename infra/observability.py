"""Alarms and the dashboard.

Alarms: errors and throttles of every function; database CPU and connections;
sessions pinned by RDS Proxy (asyncpg should pin none, see infra/README.md); and
the broadcaster's lag, a metric the broadcaster emits in CloudWatch embedded
metric format (namespace ``Leaderboard``, metric ``BroadcastLagMs``, dimension
``Stage``). All alarms notify one SNS topic, encrypted with a key that
CloudWatch may use.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import BROADCAST_LAG_METRIC, METRICS_NAMESPACE, Fn, StageConfig

_PERIOD = Duration.minutes(5)


class Observability(Construct):
    """Exposes ``topic``, ``alarms`` (by name) and ``dashboard``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: Mapping[Fn, lambda_.IFunction],
        cluster: rds.DatabaseCluster,
        proxy: rds.DatabaseProxy,
        max_db_connections: int,
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the leaderboard alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"leaderboard {config.stage} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        action = cw_actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(name: str, metric: cloudwatch.IMetric, threshold: float, what: str) -> None:
            created = cloudwatch.Alarm(
                self,
                name,
                alarm_description=f"leaderboard {config.stage}: {what}",
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(action)
            self.alarms[name] = created

        for fn, function in functions.items():
            alarm(
                f"{fn}-errors",
                function.metric_errors(period=_PERIOD, statistic="Sum"),
                1,
                f"{fn} raised errors",
            )
            alarm(
                f"{fn}-throttles",
                function.metric_throttles(period=_PERIOD, statistic="Sum"),
                1,
                f"{fn} was throttled (reserved concurrency exhausted)",
            )
        db_cpu = cluster.metric_cpu_utilization(period=_PERIOD, statistic="Average")
        alarm("db-cpu", db_cpu, 80, "database CPU at or above 80%")
        db_connections = cluster.metric_database_connections(period=_PERIOD, statistic="Maximum")
        alarm(
            "db-connections",
            db_connections,
            max_db_connections,
            f"database connections at or above {max_db_connections}",
        )
        pinned = cloudwatch.Metric(
            namespace="AWS/RDS",
            metric_name="DatabaseConnectionsCurrentlySessionPinned",
            dimensions_map={"ProxyName": proxy.db_proxy_name},
            period=_PERIOD,
            statistic="Maximum",
        )
        alarm("proxy-pinned-sessions", pinned, 1, "RDS Proxy pinned client sessions")
        lag = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=BROADCAST_LAG_METRIC,
            dimensions_map={"Stage": config.stage},
            period=Duration.minutes(1),
            statistic="p99",
        )
        alarm(
            "broadcast-lag",
            lag,
            config.broadcast_lag_alarm_ms,
            f"broadcaster p99 lag at or above {config.broadcast_lag_alarm_ms} ms",
        )

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"leaderboard-{config.stage}",
            default_interval=Duration.hours(3),
        )
        lambdas = list(functions.values())
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[f.metric_errors(period=_PERIOD, statistic="Sum") for f in lambdas],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda throttles",
                left=[f.metric_throttles(period=_PERIOD, statistic="Sum") for f in lambdas],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda p99 duration",
                left=[f.metric_duration(period=_PERIOD, statistic="p99") for f in lambdas],
                width=12,
            ),
            cloudwatch.GraphWidget(title="Broadcaster lag (p99 ms)", left=[lag], width=12),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Database CPU", left=[db_cpu], width=8),
            cloudwatch.GraphWidget(title="Database connections", left=[db_connections], width=8),
            cloudwatch.GraphWidget(title="Proxy pinned sessions", left=[pinned], width=8),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24
            )
        )
