"""The production path on AWS, read from the synthesized templates and the workflow.

Each test here checks one defect of the first deploy: the broadcaster reaching Lambda
inside the VPC, IAM authentication through RDS Proxy, two stages in one account, failure
destinations, alarms, tracing and log retention, and a pipeline whose OIDC trust matches
its jobs.
"""

from __future__ import annotations

import fnmatch
import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk
import pytest
import yaml
from aws_cdk.assertions import Match, Template

from infra.config import (
    ACCOUNT_CONCURRENCY_QUOTA,
    APP_DATABASE_USER,
    UNRESERVED_CONCURRENCY_MIN,
    Fn,
    StageConfig,
)
from tests.infra.conftest import CDK_CONTEXT, ROOT, Synthesized
from tests.infra.test_infra_stack import function_by_handler, resources

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def template_of(synth: Synthesized, stack: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((synth.outdir / f"{stack}.template.json").read_text())
    return data


def security_groups_of(function: dict[str, Any]) -> list[str]:
    return [g["Fn::GetAtt"][0] for g in function["Properties"]["VpcConfig"]["SecurityGroupIds"]]


# --- 1. the broadcaster reaches Lambda from inside the VPC --------------------------


def test_the_broadcaster_may_reach_the_lambda_endpoint(dev: Synthesized) -> None:
    """The Lambda interface endpoint (private DNS on) admits, on 443, a security group the
    broadcaster carries: its own invokes for sharded fan-outs go through."""
    (endpoint,) = resources(dev, "AWS::EC2::VPCEndpoint").values()
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True
    (endpoint_group,) = [g["Fn::GetAtt"][0] for g in endpoint["Properties"]["SecurityGroupIds"]]
    _, broadcaster = function_by_handler(dev, Fn.BROADCASTER)
    admitted = {
        rule["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for rule in resources(
            dev, "AWS::EC2::SecurityGroupIngress", {"GroupId": {"Fn::GetAtt": [endpoint_group,
                                                                             "GroupId"]}}
        ).values()
        if rule["Properties"]["FromPort"] == 443
    }  # fmt: skip
    assert admitted & set(security_groups_of(broadcaster)), (admitted, broadcaster)


# --- 4. IAM authentication through RDS Proxy -----------------------------------------


def test_the_proxy_authenticates_with_iam_end_to_end(dev: Synthesized) -> None:
    """Clients must use IAM, the proxy logs in to the cluster with IAM, and holds no secret."""
    (proxy,) = resources(dev, "AWS::RDS::DBProxy").values()
    props = proxy["Properties"]
    assert props["DefaultAuthScheme"] == "IAM_AUTH"
    assert "Auth" not in props or all(a.get("IAMAuth") == "REQUIRED" for a in props["Auth"])
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    dev.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": role_id}],
            "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
                "Action": "rds-db:connect",
                "Resource": {"Fn::Join": ["", Match.array_with([
                    Match.object_like({"Fn::GetAtt": Match.array_with(["DBClusterResourceId"])}),
                    f"/{APP_DATABASE_USER}",
                ])]},
            })])},
        },
    )  # fmt: skip


def test_the_migrations_create_the_app_role(dev: Synthesized) -> None:
    """The migration custom resource is told the app role to create and grant."""
    dev.template.has_resource_properties(
        "Custom::LeaderboardMigrations", {"AppDatabaseUser": APP_DATABASE_USER}
    )


@pytest.mark.parametrize("fn", [fn for fn in Fn if fn not in (Fn.AUTHORIZER, Fn.MIGRATE)])
def test_database_functions_hold_no_password(dev: Synthesized, fn: Fn) -> None:
    """A function behind the proxy connects as the app role with IAM (rds-db:connect on the
    proxy) and may read no database secret; only the migration function reads the master
    secret and connects as the master user."""
    _, function = function_by_handler(dev, fn)
    env = function["Properties"]["Environment"]["Variables"]
    assert env["LEADERBOARD_DB_IAM_USER"] == APP_DATABASE_USER
    assert env["LEADERBOARD_DB_PROXY"] == "true"
    assert "LEADERBOARD_DB_SECRET_ARN" not in env
    assert f"postgresql://{APP_DATABASE_USER}@" in json.dumps(env["LEADERBOARD_DATABASE_URL"])
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        st
        for policy in resources(dev, "AWS::IAM::Policy", {"Roles": [{"Ref": role_id}]}).values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = json.dumps([st["Action"] for st in statements])
    assert "rds-db:connect" in actions
    secret_reads = [st for st in statements if "secretsmanager:GetSecretValue" in json.dumps(st)]
    assert all("DatabaseCluster" not in json.dumps(st["Resource"]) for st in secret_reads)
    _, migrate = function_by_handler(dev, Fn.MIGRATE)
    migrate_env = migrate["Properties"]["Environment"]["Variables"]
    assert "LEADERBOARD_DB_SECRET_ARN" in migrate_env
    assert "LEADERBOARD_DB_IAM_USER" not in migrate_env


# --- 6. two stages in one account -----------------------------------------------------


def test_cdk_json_sets_the_feature_flags_a_new_app_gets() -> None:
    """cdk.json carries every flag aws-cdk-lib recommends for a new app, with its value."""
    bundle = next(Path(aws_cdk.__file__).parent.glob("_jsii/aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(bundle) as tar:
        member = tar.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        recommended = json.load(member)
    assert recommended
    differing = {k: v for k, v in recommended.items() if CDK_CONTEXT.get(k) != v}
    assert differing == {}, differing


ACCOUNT_UNIQUE = {
    "AWS::RDS::DBProxy": "DBProxyName",
    "AWS::RDS::DBProxyEndpoint": "DBProxyEndpointName",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::ApiGatewayV2::Api": "Name",
    "AWS::ApiGateway::RestApi": "Name",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Logs::LogGroup": "LogGroupName",
}


def _named(template: dict[str, Any]) -> set[str]:
    """Names given literally (a name built on a resource's own id differs per stack)."""
    names = {
        json.dumps(r["Properties"][prop], sort_keys=True)
        for r in template["Resources"].values()
        if (prop := ACCOUNT_UNIQUE.get(r["Type"])) and prop in r.get("Properties", {})
    }
    return {n for n in names if '"Ref"' not in n and "Fn::GetAtt" not in n}


def test_two_stages_share_an_account(dev: Synthesized, prod: Synthesized) -> None:
    """No name that must be unique in an account is the same in dev and prod; the
    account-wide API Gateway logging role lives in its own stack, which both stages depend
    on; and the two stages' reserved concurrency leaves Lambda's unreserved minimum free
    under the default quota."""
    clash = _named(template_of(dev, "Leaderboard-dev")) & _named(
        template_of(prod, "Leaderboard-prod")
    )
    assert clash == set()
    assert {"DBProxyName", "DBClusterIdentifier"} <= {
        prop for r in template_of(dev, "Leaderboard-dev")["Resources"].values()
        for prop in r.get("Properties", {}) if prop in ("DBProxyName", "DBClusterIdentifier")
    }  # fmt: skip
    for synth, stage in ((dev, "dev"), (prod, "prod")):
        Template.from_json(template_of(synth, "LeaderboardAccount")).resource_count_is(
            "AWS::ApiGateway::Account", 1
        )
        manifest = json.loads((synth.outdir / "manifest.json").read_text())
        assert "LeaderboardAccount" in manifest["artifacts"][f"Leaderboard-{stage}"]["dependencies"]
    reserved = sum(
        r["Properties"].get("ReservedConcurrentExecutions", 0)
        for synth, stage in ((dev, "dev"), (prod, "prod"))
        for r in template_of(synth, f"Leaderboard-{stage}")["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    )
    assert reserved <= ACCOUNT_CONCURRENCY_QUOTA - UNRESERVED_CONCURRENCY_MIN


def test_reserved_concurrency_over_the_budget_is_refused() -> None:
    """A stage whose reservations exceed its budget fails synthesis, naming the numbers."""
    app = aws_cdk.App(context={"stage": "dev", "reservedConcurrency": '{"rest": 90}'})
    with pytest.raises(ValueError, match=r"expected at most 100 .* got 138"):
        StageConfig.from_context(app.node)


# --- 7. failure destinations, alarms, tracing, retention ------------------------------


@pytest.mark.parametrize("fn", [Fn.BROADCASTER, Fn.EXPIRE_CONNECTIONS, Fn.ROLL_SEASONS])
def test_async_functions_have_a_dead_letter_queue(dev: Synthesized, fn: Fn) -> None:
    """An asynchronous function's failed or expired events go to the SQS dead-letter queue,
    after a bounded maximum event age and no retry."""
    function_id, _ = function_by_handler(dev, fn)
    (queue_id,) = resources(dev, "AWS::SQS::Queue")
    dev.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": function_id},
            "MaximumRetryAttempts": 0,
            "MaximumEventAgeInSeconds": Match.any_value(),
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )


def _alarms(synth: Synthesized) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources(synth, "AWS::CloudWatch::Alarm").values()]


def test_the_production_alarms(dev: Synthesized) -> None:
    """Broadcaster lag treats missing data as breaching; API Gateway 5xx, WebSocket
    integration errors, replica lag, dropped async events, dead letters and failed Aurora
    wake-ups each have an alarm, and every alarm notifies."""
    alarms = _alarms(dev)
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms:
        by_metric.setdefault(alarm.get("MetricName", ""), []).append(alarm)
    (lag,) = by_metric["BroadcastLagMs"]
    assert lag["TreatMissingData"] == "breaching"
    for metric in ("5XXError", "IntegrationError", "AuroraReplicaLagMaximum",
                   "ApproximateNumberOfMessagesVisible", "WakeupFailures"):  # fmt: skip
        assert metric in by_metric, f"expected an alarm on {metric}, got {sorted(by_metric)}"
    assert len(by_metric["AsyncEventsDropped"]) == 3
    assert all(a["AlarmActions"] for a in alarms)


def test_tracing_is_on(dev: Synthesized) -> None:
    """Every function traces actively with X-Ray, and so does the REST stage."""
    for fn in Fn:
        _, function = function_by_handler(dev, fn)
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    dev.template.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": True})


def _lambda_log_groups(template: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(functions with a log group of their own, functions whose /aws/lambda group exists)."""
    resources_ = template["Resources"]
    own = {
        k for k, r in resources_.items()
        if r["Type"] == "AWS::Lambda::Function" and "LogGroup" in r["Properties"].get(
            "LoggingConfig", {})
    }  # fmt: skip
    named = {
        json.dumps(r["Properties"]["LogGroupName"])
        for r in resources_.values()
        if r["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in r["Properties"]
    }
    pre_created = {
        k for k, r in resources_.items()
        if r["Type"] == "AWS::Lambda::Function"
        and json.dumps({"Fn::Join": ["", ["/aws/lambda/", {"Ref": k}]]}) in named
    }  # fmt: skip
    return own, pre_created


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_log_group_has_a_retention(stage: str, request: pytest.FixtureRequest) -> None:
    """Every log group the stacks create has a retention, and every log group the services
    would create by themselves exists beforehand with one: each function's, the rotation
    function's, the RDS Proxy's and both APIs' execution logs."""
    synth: Synthesized = request.getfixturevalue(stage)
    template = template_of(synth, f"Leaderboard-{stage}")
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert all("RetentionInDays" in g["Properties"] for g in groups)
    own, pre_created = _lambda_log_groups(template)
    functions = {
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"
    }
    assert functions == own | pre_created, functions - own - pre_created
    names = json.dumps([g["Properties"].get("LogGroupName") for g in groups])
    for expected in ("/aws/rds/proxy/", "API-Gateway-Execution-Logs_", "RotationSingleUser",
                     "/aws/rds/cluster/"):  # fmt: skip
        assert expected in names, expected
    (rotation,) = [r for r in template["Resources"].values()
                   if r["Type"] == "AWS::Serverless::Application"]  # fmt: skip
    function_name = rotation["Properties"]["Parameters"]["functionName"]
    assert f"/aws/lambda/{function_name}" in names


def test_connections_grant_is_scoped_to_the_stage_and_methods(dev: Synthesized) -> None:
    """execute-api:ManageConnections covers this API's dev stage and POST, GET and DELETE
    on @connections/* only."""
    for policy in resources(dev, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Action"] != "execute-api:ManageConnections":
                continue
            arns = [json.dumps(r) for r in statement["Resource"]]
            assert len(arns) == 3
            for method in ("POST", "GET", "DELETE"):
                assert any(f"/dev/{method}/@connections/*" in a for a in arns), arns


# --- 5. the pipeline --------------------------------------------------------------------


def _workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def test_the_deploy_role_trusts_exactly_the_deploy_jobs(prod: Synthesized) -> None:
    """Every job that asks for an OIDC token gets one whose ``sub`` the synthesized role
    trusts (a job in a GitHub environment: ``repo:R:environment:E``), and nothing else is
    trusted."""
    repository = "example/leaderboard"
    role = next(
        r for r in template_of(prod, "LeaderboardGitHubDeploy")["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
    )  # fmt: skip
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    conditions = statement["Condition"]
    patterns: list[str] = []
    for operator in ("StringEquals", "StringLike"):
        value = conditions.get(operator, {}).get("token.actions.githubusercontent.com:sub", [])
        patterns += [value] if isinstance(value, str) else value
    subjects = []
    for name, job in _workflow()["jobs"].items():
        if (job.get("permissions") or {}).get("id-token") != "write":
            continue
        environment = job.get("environment")
        subjects.append(
            f"repo:{repository}:environment:{environment}" if environment
            else f"repo:{repository}:ref:refs/heads/main"
        )  # fmt: skip
        assert environment, f"job {name} deploys outside a GitHub environment"
    assert sorted(subjects) == sorted(
        "repo:example/leaderboard:environment:" + e for e in ("dev", "prod")
    )
    for subject in subjects:
        assert any(fnmatch.fnmatchcase(subject, p) for p in patterns), (subject, patterns)
    assert all(p.startswith(f"repo:{repository}:environment:") for p in patterns), patterns


def _steps(job: str) -> str:
    return json.dumps(_workflow()["jobs"][job]["steps"])


def test_the_pipeline_lints_errors_deploys_the_tested_assembly_and_smokes_dev() -> None:
    """cfn-lint fails on errors only; each deploy job deploys the assembly artifact the synth
    job built (``--app cdk.out/<stage>``, no second synthesis); dev is smoke-tested before
    prod, which waits for its environment; the arm64 job imports the asset on Python 3.14."""
    jobs = _workflow()["jobs"]
    assert "--non-zero-exit-code error" in _steps("synth")
    for stage in ("dev", "prod"):
        steps = _steps(f"deploy-{stage}")
        assert f"cloud-assembly-{stage}" in steps
        assert f"cdk deploy --app cdk.out/{stage}" in steps
        assert "cdk synth" not in steps
    assert "leaderboard smoke --ws" in _steps("deploy-dev")
    assert "--admin-token" in _steps("deploy-dev")  # the smoke board may not exist yet
    assert jobs["deploy-prod"]["needs"] == "deploy-dev"
    assert jobs["deploy-prod"]["environment"] == "prod"
    arm = jobs["asset-arm64"]
    assert "arm" in arm["runs-on"]
    assert '"python-version": "3.14"' in _steps("asset-arm64")
    assert "scripts/import_asset_handlers.py cdk.out/dev" in _steps("asset-arm64")
    assert "asset-arm64" in jobs["deploy-dev"]["needs"]
