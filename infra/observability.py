"""Alarms and the dashboard.

Alarms (each one's meaning is in infra/README.md): errors and throttles of every
function; events the asynchronous functions dropped (Lambda's
``AsyncEventsDropped``, and any message in the dead-letter queue); API Gateway 5xx
of the REST API and integration errors of the WebSocket API; database CPU,
connections and replica lag; sessions pinned by RDS Proxy (the service pins none,
see infra/README.md); the broadcaster's lag, a metric the broadcaster emits in
CloudWatch embedded metric format (namespace ``Leaderboard``, metric
``BroadcastLagMs``, dimension ``Stage``) on every run, the minute sweep included,
so no data means no broadcaster and counts as breaching; and failed Aurora
wake-ups (``WakeupFailures``, emitted by the broadcaster from the database's
count). All alarms notify one SNS topic, encrypted with a key that CloudWatch may
use.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.api import WebSocketFrontDoor
from infra.compute import ASYNC_ONLY
from infra.config import (
    BROADCAST_LAG_METRIC,
    METRICS_NAMESPACE,
    WAKEUP_FAILURES_METRIC,
    Fn,
    StageConfig,
)

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
        dead_letter_queue: sqs.IQueue,
        rest_api: apigw.RestApi,
        websocket: WebSocketFrontDoor,
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

        def alarm(
            name: str,
            metric: cloudwatch.IMetric,
            threshold: float,
            what: str,
            *,
            missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
            periods: int = 1,
        ) -> None:
            created = cloudwatch.Alarm(
                self,
                name,
                alarm_description=f"leaderboard {config.stage}: {what}",
                metric=metric,
                threshold=threshold,
                evaluation_periods=periods,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=missing,
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
        for fn in sorted(ASYNC_ONLY):
            alarm(
                f"{fn}-dropped-events",
                functions[fn].metric("AsyncEventsDropped", period=_PERIOD, statistic="Sum"),
                1,
                f"{fn} dropped asynchronous events (too old, or failed with no retry left)",
            )
        dead_letters = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=_PERIOD, statistic="Maximum"
        )
        alarm(
            "dead-letters",
            dead_letters,
            1,
            "an asynchronous event failed or expired and is in the dead-letter queue",
        )
        rest_5xx = rest_api.metric_server_error(period=_PERIOD, statistic="Sum")
        alarm("rest-5xx", rest_5xx, 1, "the REST API answered 5xx")
        ws_errors = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="IntegrationError",
            dimensions_map={"ApiId": websocket.api.api_id, "Stage": websocket.stage.stage_name},
            period=_PERIOD,
            statistic="Sum",
        )
        alarm(
            "websocket-integration-errors",
            ws_errors,
            1,
            "WebSocket routes whose function failed (clients got an internal server error)",
        )
        replica_lag = cloudwatch.Metric(
            namespace="AWS/RDS",
            metric_name="AuroraReplicaLagMaximum",
            dimensions_map={"DBClusterIdentifier": cluster.cluster_identifier},
            period=Duration.minutes(1),
            statistic="Maximum",
        )
        alarm(
            "replica-lag",
            replica_lag,
            config.replica_lag_alarm_ms,
            f"a reader lags the writer by {config.replica_lag_alarm_ms} ms or more "
            "(REST reads are that stale)",
            periods=3,
        )
        wakeup_failures = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=WAKEUP_FAILURES_METRIC,
            dimensions_map={"Stage": config.stage},
            period=_PERIOD,
            statistic="Sum",
        )
        alarm(
            "wakeup-failures",
            wakeup_failures,
            1,
            "Aurora could not invoke the broadcaster (the minute sweep pushes those events)",
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
            f"broadcaster p99 lag at or above {config.broadcast_lag_alarm_ms} ms, or no "
            "broadcaster run reported for 3 minutes",
            missing=cloudwatch.TreatMissingData.BREACHING,
            periods=3,
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
            cloudwatch.GraphWidget(title="REST 5xx", left=[rest_5xx], width=6),
            cloudwatch.GraphWidget(title="WebSocket integration errors", left=[ws_errors], width=6),
            cloudwatch.GraphWidget(title="Replica lag (ms)", left=[replica_lag], width=6),
            cloudwatch.GraphWidget(
                title="Dead letters and wake-up failures",
                left=[dead_letters, wakeup_failures],
                width=6,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24
            )
        )
