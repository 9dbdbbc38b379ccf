"""Assertions on the synthesized templates: counts, wiring and key properties."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.api import ROUTE_SELECTION, WS_IDENTITY_SOURCE
from infra.config import HANDLERS, STAGE_DEFAULTS, WS_ROUTES, Fn
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PYTHON_FUNCTION = {"Runtime": Match.string_like_regexp(r"^python3\.\d+$")}


def resources(synth: Synthesized, type_: str, props: dict[str, Any] | None = None) -> dict:
    found = synth.template.find_resources(type_, {"Properties": props} if props else None)
    assert isinstance(found, dict)
    return found


def function_by_handler(synth: Synthesized, fn: Fn) -> tuple[str, dict[str, Any]]:
    found = resources(synth, "AWS::Lambda::Function", {"Handler": HANDLERS[fn]})
    assert len(found) == 1, f"expected one function with handler {HANDLERS[fn]}, got {found}"
    return next(iter(found.items()))


def test_resource_counts(dev: Synthesized) -> None:
    """The dev stack has one of each component and one function per handler."""
    t = dev.template
    ours = [
        k for k in resources(dev, "AWS::Lambda::Function", PYTHON_FUNCTION)
        if not k.startswith("CustomCDKBucketDeployment")  # CDK's, copies the console's files
    ]  # fmt: skip
    assert len(ours) == len(Fn)
    t.resource_count_is("AWS::ApiGatewayV2::Api", 1)
    t.resource_count_is("AWS::ApiGatewayV2::Route", 3 + len(WS_ROUTES))
    t.resource_count_is("AWS::ApiGatewayV2::Authorizer", 1)
    t.resource_count_is("AWS::ApiGatewayV2::Stage", 1)
    t.resource_count_is("AWS::ApiGateway::RestApi", 1)
    t.resource_count_is("AWS::ApiGateway::Authorizer", 1)
    t.resource_count_is("AWS::RDS::DBCluster", 1)
    t.resource_count_is("AWS::RDS::DBInstance", 2)
    t.resource_count_is("AWS::RDS::DBProxy", 1)
    t.resource_count_is("AWS::RDS::DBProxyEndpoint", 1)
    t.resource_count_is("AWS::RDS::DBClusterParameterGroup", 1)
    t.resource_count_is("AWS::EC2::VPC", 1)
    t.resource_count_is("AWS::EC2::NatGateway", 1)
    t.resource_count_is("AWS::EC2::FlowLog", 1)
    t.resource_count_is("AWS::EC2::VPCEndpoint", 1)
    t.resource_count_is("AWS::SQS::Queue", 1)
    t.resource_count_is("AWS::ApiGateway::Account", 0)
    t.resource_count_is("AWS::Events::Rule", 3)
    t.resource_count_is("Custom::LeaderboardMigrations", 1)
    t.resource_count_is("AWS::SecretsManager::RotationSchedule", 1)
    t.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    t.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)


def test_vpc_spans_three_azs_with_isolated_data_subnets(dev: Synthesized) -> None:
    """Three AZs by default, each with a public, an app and an isolated data subnet."""
    subnets = resources(dev, "AWS::EC2::Subnet")
    assert len(subnets) == 9
    assert len({s["Properties"]["AvailabilityZone"] for s in subnets.values()}) == 3
    isolated = resources(
        dev,
        "AWS::EC2::Subnet",
        {"Tags": Match.array_with([{"Key": "aws-cdk:subnet-type", "Value": "Isolated"}])},
    )
    assert len(isolated) == 3


def test_websocket_route_selection_and_authorizer(dev: Synthesized) -> None:
    """Routes are selected on body.action; $connect alone carries the REQUEST authorizer."""
    t = dev.template
    t.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": ROUTE_SELECTION},
    )
    authorizers = resources(dev, "AWS::ApiGatewayV2::Authorizer")
    ((authorizer_id, authorizer),) = authorizers.items()
    assert authorizer["Properties"]["AuthorizerType"] == "REQUEST"
    assert authorizer["Properties"]["IdentitySource"] == [WS_IDENTITY_SOURCE]
    auth_fn_id, _ = function_by_handler(dev, Fn.AUTHORIZER)
    assert auth_fn_id in str(authorizer["Properties"]["AuthorizerUri"])
    t.has_resource_properties(
        "AWS::ApiGatewayV2::Route",
        {
            "RouteKey": "$connect",
            "AuthorizationType": "CUSTOM",
            "AuthorizerId": {"Ref": authorizer_id},
        },
    )
    unauthorized = resources(dev, "AWS::ApiGatewayV2::Route", {"AuthorizationType": "NONE"})
    keys = sorted(r["Properties"]["RouteKey"] for r in unauthorized.values())
    assert keys == sorted(["$disconnect", "$default", *WS_ROUTES])


@pytest.mark.parametrize(
    ("route_key", "fn"),
    [
        ("$connect", Fn.WS_CONNECT),
        ("$disconnect", Fn.WS_DISCONNECT),
        ("$default", Fn.WS_DEFAULT),
        *WS_ROUTES.items(),
    ],
)
def test_each_route_invokes_its_own_function(dev: Synthesized, route_key: str, fn: Fn) -> None:
    """A route's integration points at the function whose handler serves that route."""
    (route,) = resources(dev, "AWS::ApiGatewayV2::Route", {"RouteKey": route_key}).values()
    target = route["Properties"]["Target"]["Fn::Join"][1]
    integration_id = target[1]["Ref"]
    integration = dev.raw["Resources"][integration_id]
    fn_id, _ = function_by_handler(dev, fn)
    assert fn_id in str(integration["Properties"]["IntegrationUri"])


def test_websocket_stage_logs_and_throttles(dev: Synthesized) -> None:
    """The stage writes JSON access logs and throttles every route."""
    defaults = STAGE_DEFAULTS["dev"]
    dev.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "dev",
            "AutoDeploy": True,
            "AccessLogSettings": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp(r"\$context\.connectionId"),
            },
            "DefaultRouteSettings": Match.object_like(
                {
                    "ThrottlingRateLimit": defaults["wsThrottleRate"],
                    "ThrottlingBurstLimit": defaults["wsThrottleBurst"],
                }
            ),
        },
    )


@pytest.mark.parametrize(
    ("route_key", "rate", "burst"),
    [("$connect", "wsConnectThrottleRate", "wsConnectThrottleBurst"),
     ("submit", "wsSubmitThrottleRate", "wsSubmitThrottleBurst")],
)  # fmt: skip
def test_connect_and_submit_routes_have_throttles_of_their_own(
    dev: Synthesized, prod: Synthesized, route_key: str, rate: str, burst: str
) -> None:
    """Connection churn and submits are throttled per route on the stage, below the
    default, and the stage is deployed after the routes those settings name."""
    for synthesized, stage in ((dev, "dev"), (prod, "prod")):
        defaults = STAGE_DEFAULTS[stage]
        assert defaults[rate] <= defaults["wsThrottleRate"]
        stages = resources(synthesized, "AWS::ApiGatewayV2::Stage")
        (stage_id, props), *_ = stages.items()
        settings = props["Properties"]["RouteSettings"][route_key]
        assert settings["ThrottlingRateLimit"] == defaults[rate]
        assert settings["ThrottlingBurstLimit"] == defaults[burst]
        routes = resources(synthesized, "AWS::ApiGatewayV2::Route")
        route_id = next(i for i, r in routes.items() if r["Properties"]["RouteKey"] == route_key)
        assert route_id in props.get("DependsOn", []), stage_id


def test_connection_managers_may_post_to_connections(dev: Synthesized) -> None:
    """Route functions, the broadcaster and the sweep hold execute-api:ManageConnections."""
    policies = resources(
        dev,
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "execute-api:ManageConnections"})]
                )
            }
        },
    )
    assert len(policies) == 9


def test_rest_api_is_edge_optimized_and_authorized(dev: Synthesized) -> None:
    """REST is edge-optimized; every data method uses the Lambda REQUEST authorizer and only
    GET /openapi.json and the admin console's files (GET /admin, GET /web/{file}) are
    public; gateway refusals answer problem+json."""
    t = dev.template
    t.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["EDGE"]}}
    )
    t.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {"Type": "REQUEST", "IdentitySource": "method.request.header.Authorization"},
    )
    methods = [m["Properties"] for m in resources(dev, "AWS::ApiGateway::Method").values()]
    public = [m for m in methods if m["AuthorizationType"] != "CUSTOM"]
    assert len(methods) == 5
    assert [(m["HttpMethod"], m["AuthorizationType"]) for m in public] == [("GET", "NONE")] * 3
    data = [m for m in methods if m["AuthorizationType"] == "CUSTOM"]
    assert {m["HttpMethod"] for m in data} == {"ANY"}
    for status in ("401", "403", "500"):
        t.has_resource_properties(
            "AWS::ApiGateway::GatewayResponse",
            {
                "StatusCode": status,
                "ResponseParameters": {
                    "gatewayresponse.header.Content-Type": "'application/problem+json'"
                },
            },
        )


def test_reader_in_a_second_az(dev: Synthesized, prod: Synthesized) -> None:
    """The writer and each reader sit in different availability zones."""
    for synth in (dev, prod):
        instances = [i["Properties"] for i in resources(synth, "AWS::RDS::DBInstance").values()]
        (writer,) = [i for i in instances if i["PromotionTier"] == 0]
        readers = [i for i in instances if i["PromotionTier"] != 0]
        assert readers
        assert all(r["AvailabilityZone"] != writer["AvailabilityZone"] for r in readers)


def test_no_public_database(dev: Synthesized) -> None:
    """No instance is public and the subnet group holds only isolated subnets."""
    instances = resources(dev, "AWS::RDS::DBInstance")
    assert all(i["Properties"]["PubliclyAccessible"] is False for i in instances.values())
    (group,) = resources(dev, "AWS::RDS::DBSubnetGroup").values()
    for ref in group["Properties"]["SubnetIds"]:
        subnet = dev.raw["Resources"][ref["Ref"]]["Properties"]
        assert {"Key": "aws-cdk:subnet-type", "Value": "Isolated"} in subnet["Tags"]


def test_cluster_is_encrypted_with_iam_auth_and_parameter_group(dev: Synthesized) -> None:
    """Storage encryption, IAM auth, log export and the parameter group are on."""
    dev.template.has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "Engine": "aurora-postgresql",
            "StorageEncrypted": True,
            "EnableIAMDatabaseAuthentication": True,
            "EnableCloudwatchLogsExports": ["postgresql"],
            "DBClusterParameterGroupName": {"Ref": Match.any_value()},
            "ServerlessV2ScalingConfiguration": Match.any_value(),
        },
    )
    dev.template.has_resource_properties(
        "AWS::RDS::DBClusterParameterGroup",
        {"Parameters": Match.object_like({"rds.force_ssl": "1"})},
    )


def test_prod_cluster_protected_and_provisioned(prod: Synthesized) -> None:
    """Prod: deletion protection, 14-day backups, provisioned instances, a NAT per AZ."""
    prod.template.has_resource_properties(
        "AWS::RDS::DBCluster",
        {"DeletionProtection": True, "BackupRetentionPeriod": 14, "StorageEncrypted": True},
    )
    prod.template.all_resources_properties(
        "AWS::RDS::DBInstance", {"DBInstanceClass": "db.r7g.large"}
    )
    prod.template.resource_count_is("AWS::EC2::NatGateway", 3)


def test_proxy_endpoints(dev: Synthesized) -> None:
    """The proxy requires TLS and has a READ_ONLY endpoint that REST reads through."""
    t = dev.template
    (proxy_id,) = resources(
        dev, "AWS::RDS::DBProxy", {"RequireTLS": True, "EngineFamily": "POSTGRESQL"}
    )
    (endpoint_id,) = resources(
        dev,
        "AWS::RDS::DBProxyEndpoint",
        {"TargetRole": "READ_ONLY", "DBProxyName": {"Ref": proxy_id}},
    )
    _, rest = function_by_handler(dev, Fn.REST)
    env = rest["Properties"]["Environment"]["Variables"]
    assert endpoint_id in str(env["LEADERBOARD_READER_URL"])
    assert proxy_id in str(env["LEADERBOARD_DATABASE_URL"])
    t.has_resource_properties("AWS::RDS::DBProxyTargetGroup", {"DBProxyName": {"Ref": proxy_id}})


def test_migrations_bypass_the_proxy(dev: Synthesized) -> None:
    """The migration function connects to the cluster endpoint, not the proxy."""
    _, migrate = function_by_handler(dev, Fn.MIGRATE)
    url = str(migrate["Properties"]["Environment"]["Variables"]["LEADERBOARD_DATABASE_URL"])
    assert "Endpoint.Address" in url
    assert "DBProxy" not in url


def test_cluster_role_for_lambda_feature(dev: Synthesized) -> None:
    """The cluster carries a role for the Lambda feature that may invoke the broadcaster."""
    (cluster,) = resources(dev, "AWS::RDS::DBCluster").values()
    (association,) = cluster["Properties"]["AssociatedRoles"]
    assert association["FeatureName"] == "Lambda"
    role_id = association["RoleArn"]["Fn::GetAtt"][0]
    dev.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": {"Service": "rds.amazonaws.com"}})]
            }
        },
    )
    broadcaster_id, _ = function_by_handler(dev, Fn.BROADCASTER)
    dev.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": role_id}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "lambda:InvokeFunction",
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [broadcaster_id, "Arn"]},
                    }
                ]
            },
        },
    )


@pytest.mark.parametrize("fn", list(Fn))
def test_reserved_concurrency(dev: Synthesized, fn: Fn) -> None:
    """Each function reserves the concurrency its stage config gives it."""
    _, function = function_by_handler(dev, fn)
    expected = STAGE_DEFAULTS["dev"]["reservedConcurrency"][fn]
    assert function["Properties"]["ReservedConcurrentExecutions"] == expected


def test_functions_are_arm64_json_logging_in_vpc(dev: Synthesized) -> None:
    """Every function runs on arm64 with JSON logs; all but the authorizer in the VPC."""
    for fn in Fn:
        _, function = function_by_handler(dev, fn)
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert ("VpcConfig" in props) is (fn is not Fn.AUTHORIZER)


def test_environment_holds_no_secret_values(dev: Synthesized) -> None:
    """Lambda environments name secrets by ARN and never embed their values."""
    for fn in Fn:
        _, function = function_by_handler(dev, fn)
        env = function["Properties"]["Environment"]["Variables"]
        assert all(key.startswith("LEADERBOARD_") for key in env)
        assert "resolve:secretsmanager" not in str(env)
        assert not any("PASSWORD" in key or key.endswith("_SECRET") for key in env)
    _, broadcaster = function_by_handler(dev, Fn.BROADCASTER)
    env = broadcaster["Properties"]["Environment"]["Variables"]
    assert {"LEADERBOARD_DB_IAM_USER", "LEADERBOARD_WS_API_ID", "LEADERBOARD_STAGE"} <= set(env)
    _, rest = function_by_handler(dev, Fn.REST)
    assert "LEADERBOARD_WS_API_ID" not in rest["Properties"]["Environment"]["Variables"]


def test_schedules_target_the_sweeps_and_the_roll(dev: Synthesized) -> None:
    """The broadcaster sweep passes source=sweep; connection expiry and season roll run too."""
    rules = resources(dev, "AWS::Events::Rule")
    targets = {
        str(target["Arn"]): target.get("Input")
        for rule in rules.values()
        for target in rule["Properties"]["Targets"]
    }
    for fn in (Fn.BROADCASTER, Fn.EXPIRE_CONNECTIONS, Fn.ROLL_SEASONS):
        fn_id, _ = function_by_handler(dev, fn)
        (key,) = [k for k in targets if fn_id in k]
        if fn is Fn.BROADCASTER:
            assert targets[key] == '{"source":"sweep"}'


def test_migration_runs_after_the_database(dev: Synthesized) -> None:
    """The migration custom resource waits for the cluster and its instances."""
    (migration,) = dev.template.find_resources("Custom::LeaderboardMigrations").values()
    depends = migration.get("DependsOn", [])
    instances = resources(dev, "AWS::RDS::DBInstance")
    assert set(instances) <= set(depends)
    assert migration["Properties"]["MigrationsFingerprint"]


def test_alarms_and_dashboard(dev: Synthesized) -> None:
    """Errors and throttles per function, DB CPU and connections, pinning and lag alarm."""
    alarms = resources(dev, "AWS::CloudWatch::Alarm")
    metrics = [a["Properties"].get("MetricName") for a in alarms.values()]
    assert metrics.count("Errors") == len(Fn)
    assert metrics.count("Throttles") == len(Fn)
    for name in (
        "CPUUtilization",
        "DatabaseConnections",
        "DatabaseConnectionsCurrentlySessionPinned",
        "BroadcastLagMs",
    ):
        assert name in metrics, f"expected an alarm on {name}, got {sorted(set(metrics))}"
    assert all(a["Properties"]["AlarmActions"] for a in alarms.values())


def test_no_custom_domains_without_context(dev: Synthesized) -> None:
    """Without domainName/hostedZoneId no domain, certificate or record is created."""
    for type_ in (
        "AWS::ApiGateway::DomainName",
        "AWS::ApiGatewayV2::DomainName",
        "AWS::Route53::RecordSet",
        "AWS::CertificateManager::Certificate",
    ):
        dev.template.resource_count_is(type_, 0)


def test_custom_domains_with_context(prod: Synthesized) -> None:
    """With a domain: an edge REST name and a regional WebSocket name, each aliased."""
    t = prod.template
    t.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {"DomainName": "api.example.com", "EndpointConfiguration": {"Types": ["EDGE"]}},
    )
    t.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": "ws.example.com",
            "DomainNameConfigurations": [Match.object_like({"EndpointType": "REGIONAL"})],
        },
    )
    t.resource_count_is("AWS::ApiGatewayV2::ApiMapping", 1)
    t.resource_count_is("AWS::ApiGateway::BasePathMapping", 1)
    for name in ("api.example.com.", "ws.example.com."):
        t.has_resource_properties(
            "AWS::Route53::RecordSet",
            {"Name": name, "Type": "A", "HostedZoneId": "Z0123456789EXAMPLE"},
        )


def _secret_readers(synth: Synthesized, secret_id: str) -> set[str]:
    """Logical ids of the roles whose policies allow reading the secret ``secret_id``."""
    readers: set[str] = set()
    for policy in resources(synth, "AWS::IAM::Policy").values():
        props = policy["Properties"]
        for statement in props["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            if "secretsmanager:GetSecretValue" in actions and {"Ref": secret_id} in (
                statement["Resource"] if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            ):  # fmt: skip
                readers.update(role["Ref"] for role in props["Roles"])
    return readers


def _role_of(synth: Synthesized, fn: Fn) -> str:
    _, function = function_by_handler(synth, fn)
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


@pytest.mark.parametrize("stage", ["dev", "cognito"])
def test_rest_alone_reads_the_page_cursor_secret(
    stage: str, dev: Synthesized, cognito: Synthesized
) -> None:
    """Page cursors are signed with a generated secret that only the REST function may read,
    whether tokens are HS256 or come from a JWKS issuer (which has no shared secret)."""
    synth = {"dev": dev, "cognito": cognito}[stage]
    found = resources(synth, "AWS::SecretsManager::Secret",
                      {"Description": Match.string_like_regexp("page cursors")})  # fmt: skip
    assert len(found) == 1
    secret_id = next(iter(found))
    _, rest = function_by_handler(synth, Fn.REST)
    env = rest["Properties"]["Environment"]["Variables"]
    assert env["LEADERBOARD_CURSOR_SECRET_ARN"] == {"Ref": secret_id}
    assert _secret_readers(synth, secret_id) == {_role_of(synth, Fn.REST)}
    jwt = resources(synth, "AWS::SecretsManager::Secret",
                    {"Description": Match.string_like_regexp("HS256")})  # fmt: skip
    assert len(jwt) == (0 if stage == "cognito" else 1)


def _actions_of(synth: Synthesized, role_id: str) -> set[str]:
    """Every IAM action the policies attached to the role ``role_id`` allow."""
    actions: set[str] = set()
    for policy in resources(synth, "AWS::IAM::Policy").values():
        props = policy["Properties"]
        if {"Ref": role_id} not in props.get("Roles", []):
            continue
        for statement in props["PolicyDocument"]["Statement"]:
            granted = statement["Action"]
            actions.update(granted if isinstance(granted, list) else [granted])
    return actions


def test_moderation_actions_route_to_one_least_privileged_function(dev: Synthesized) -> None:
    """remove_entry, ban, unban, erase_player and audit reach the moderation function, which
    may reach the database as the app user and reply on @connections, and nothing else: no
    secret, no invoke."""
    for action in ("remove_entry", "ban", "unban", "erase_player", "audit"):
        assert WS_ROUTES[action] is Fn.WS_MODERATE
        (route,) = resources(dev, "AWS::ApiGatewayV2::Route", {"RouteKey": action}).values()
        assert "AuthorizerId" not in route["Properties"]  # authorized once, on $connect
    actions = _actions_of(dev, _role_of(dev, Fn.WS_MODERATE))
    assert {"execute-api:ManageConnections", "rds-db:connect"} <= actions
    assert not any(a.startswith(("secretsmanager:", "lambda:", "kms:Decrypt")) for a in actions)
    _, function = function_by_handler(dev, Fn.WS_MODERATE)
    assert function["Properties"]["ReservedConcurrentExecutions"] == 1
