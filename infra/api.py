"""The two front doors: the WebSocket API and the REST API, and their custom domains.

WebSocket: route selection on ``$request.body.action``; a REQUEST authorizer on
``$connect`` whose identity source is the ``token`` query-string parameter
(browsers cannot set headers on a WebSocket handshake); one Lambda per route; a
stage with JSON access logs and throttling: a default for every route, and tighter
limits of their own for ``$connect`` (connection churn) and ``submit`` (writes), so
abuse and overload are refused by API Gateway before a function or the database does
any work. The API exists before the functions (they need its id), so routes are added
by ``add_routes``, which also sets the per-route limits (a route setting needs its route).

REST: edge-optimized, a Lambda proxy over every path, the same authorizer reading
the ``Authorization`` header, request validation, JSON access logs, throttling,
and a WAF web ACL.

Custom domains need two host names, since a WebSocket domain is regional and an
edge-optimized REST domain is a CloudFront distribution: they cannot share one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import WS_ROUTES, Fn, StageConfig
from infra.nag import acknowledge

ROUTE_SELECTION: Final = "$request.body.action"
WS_IDENTITY_SOURCE: Final = "route.request.querystring.token"

_WS_ACCESS_LOG: Final = {
    "requestId": "$context.requestId",
    "connectionId": "$context.connectionId",
    "routeKey": "$context.routeKey",
    "eventType": "$context.eventType",
    "status": "$context.status",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "principalId": "$context.authorizer.principalId",
    "authorizerError": "$context.authorizer.error",
    "integrationError": "$context.integrationErrorMessage",
    "integrationLatency": "$context.integrationLatency",
}


CONNECTION_METHODS: Final = ("POST", "GET", "DELETE")
"""What the service does on ``@connections``: PostToConnection, GetConnection and
DeleteConnection."""


def execution_log_group(
    scope: Construct, construct_id: str, *, api_id: str, stage: str, config: StageConfig
) -> logs.LogGroup:
    """The group API Gateway writes a stage's execution logs to, created beforehand so it
    has a retention (API Gateway would create it without one)."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=f"API-Gateway-Execution-Logs_{api_id}/{stage}",
        retention=config.log_retention,
        removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
    )


class WebSocketFrontDoor(Construct):
    """Exposes ``api``, ``stage``, ``cfn_stage``, ``access_log_group``,
    ``execution_log_group`` and ``authorizer``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"leaderboard-{config.stage}-ws",
            description="Live leaderboard views over WebSocket",
            route_selection_expression=ROUTE_SELECTION,
        )
        self.access_log_group = logs.LogGroup(
            self,
            "AccessLogs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.WebSocketStage(
            self, "Stage", web_socket_api=self.api, stage_name=config.stage, auto_deploy=True
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_log_group.log_group_arn,
            format=json.dumps(_WS_ACCESS_LOG, separators=(",", ":")),
        )
        cfn_stage.default_route_settings = apigwv2.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=config.ws_throttle_rate,
            throttling_burst_limit=config.ws_throttle_burst,
            logging_level="ERROR",
            data_trace_enabled=False,
            detailed_metrics_enabled=True,
        )
        self.execution_log_group = execution_log_group(
            self, "ExecutionLogs", api_id=self.api.api_id, stage=config.stage, config=config
        )
        self.stage.node.add_dependency(self.execution_log_group)
        self.cfn_stage = cfn_stage

    def grant_connections(self, grantee: iam.IGrantable) -> list[str]:
        """Let ``grantee`` POST, GET and DELETE ``@connections/*`` on this stage only;
        returns the resource ARNs granted."""
        stack = Stack.of(self)
        arns = [
            stack.format_arn(
                service="execute-api",
                resource=self.api.api_id,
                resource_name=f"{self.stage.stage_name}/{method}/@connections/*",
            )
            for method in CONNECTION_METHODS
        ]
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["execute-api:ManageConnections"], resource_arns=arns
        )
        return arns

    def add_routes(
        self,
        *,
        functions: Mapping[Fn, lambda_.IFunction],
        authorizer: lambda_.IFunction,
        config: StageConfig,
    ) -> None:
        """Wire ``$connect`` (authorized), ``$disconnect``, ``$default`` and the custom routes."""
        self.authorizer = authorizers.WebSocketLambdaAuthorizer(
            "Authorizer",
            authorizer,
            authorizer_name="token",
            identity_source=[WS_IDENTITY_SOURCE],
        )

        def integration(fn: Fn) -> integrations.WebSocketLambdaIntegration:
            return integrations.WebSocketLambdaIntegration(f"{fn}-integration", functions[fn])

        self.api.add_route(
            "$connect", integration=integration(Fn.WS_CONNECT), authorizer=self.authorizer
        )
        self.api.add_route("$disconnect", integration=integration(Fn.WS_DISCONNECT))
        self.api.add_route("$default", integration=integration(Fn.WS_DEFAULT))
        for route_key, fn in WS_ROUTES.items():
            self.api.add_route(route_key, integration=integration(fn))
        throttled = {
            "$connect": (config.ws_connect_throttle_rate, config.ws_connect_throttle_burst),
            "submit": (config.ws_submit_throttle_rate, config.ws_submit_throttle_burst),
        }
        self.cfn_stage.route_settings = {
            route_key: {
                "ThrottlingRateLimit": rate,
                "ThrottlingBurstLimit": burst,
                "LoggingLevel": "ERROR",
                "DataTraceEnabled": False,
                "DetailedMetricsEnabled": True,
            }
            for route_key, (rate, burst) in throttled.items()
        }
        for route_key in throttled:
            self.cfn_stage.node.add_dependency(self.api.node.find_child(f"{route_key}-Route"))
        for route_key in ("$disconnect", "$default", *WS_ROUTES):
            route = self.api.node.find_child(f"{route_key}-Route")
            acknowledge(
                route,
                "AwsSolutions-APIG4",
                reason="API Gateway authorizes a WebSocket connection once, on $connect; "
                "later messages and $disconnect travel on that authorized connection.",
            )


class RestFrontDoor(Construct):
    """Exposes ``api``, ``authorizer``, ``access_log_group``, ``execution_log_group`` and
    ``web_acl``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: lambda_.IFunction,
        authorizer: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_log_group = logs.LogGroup(
            self,
            "AccessLogs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"leaderboard-{config.stage}-rest",
            description="Leaderboard reads and writes over REST",
            endpoint_types=[apigw.EndpointType.EDGE],
            # The account's CloudWatch role is one per account and region: the
            # LeaderboardAccount stack owns it (infra/account.py), not a stage.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                tracing_enabled=True,
                stage_name=config.stage,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                throttling_rate_limit=config.rest_throttle_rate,
                throttling_burst_limit=config.rest_throttle_burst,
            ),
        )
        self.execution_log_group = execution_log_group(
            self,
            "ExecutionLogs",
            api_id=self.api.rest_api_id,
            stage=config.stage,
            config=config,
        )
        self.api.deployment_stage.node.add_dependency(self.execution_log_group)
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            handler=authorizer,
            identity_sources=[apigw.IdentitySource.header("Authorization")],
            results_cache_ttl=Duration.minutes(5),
        )
        validator = apigw.RequestValidator(
            self,
            "Validator",
            rest_api=self.api,
            validate_request_parameters=True,
            validate_request_body=True,
        )
        integration = apigw.LambdaIntegration(handler, proxy=True)
        for resource in (self.api.root, self.api.root.add_resource("{proxy+}")):
            resource.add_method(
                "ANY",
                integration,
                authorizer=self.authorizer,
                authorization_type=apigw.AuthorizationType.CUSTOM,
                request_validator=validator,
            )
        # The OpenAPI document is public: clients and fuzzers fetch it before any token.
        openapi = self.api.root.add_resource("openapi.json").add_method(
            "GET", integration, authorization_type=apigw.AuthorizationType.NONE
        )
        acknowledge(
            openapi,
            "AwsSolutions-APIG4",
            reason="GET /openapi.json serves the public API description (no data); every "
            "data route keeps the Lambda REQUEST authorizer.",
        )
        acknowledge(
            openapi,
            "AwsSolutions-COG4",
            reason="GET /openapi.json is intentionally public; there is no Cognito user pool.",
        )
        # Refusals by API Gateway itself speak RFC 9457 like the handler does.
        for kind, status, code, detail in (
            (apigw.ResponseType.UNAUTHORIZED, "401", "unauthorized",
             "missing or invalid bearer token: expected 'Authorization: Bearer <JWT>'"),
            (apigw.ResponseType.ACCESS_DENIED, "403", "access_denied",
             "the authorizer denied this request"),
            (apigw.ResponseType.AUTHORIZER_FAILURE, "500", "authorizer_failure",
             "the authorizer failed"),
        ):  # fmt: skip
            self.api.add_gateway_response(
                f"Problem{status}",
                type=kind,
                status_code=status,
                response_headers={"Content-Type": "'application/problem+json'"},
                templates={
                    "application/json": json.dumps({
                        "type": f"https://leaderboard.dev/problems/{code}",
                        "title": code.replace("_", " "),
                        "status": int(status),
                        "detail": detail,
                    })
                },
            )  # fmt: skip

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"leaderboard-{config.stage}-rest"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="common",
                    priority=0,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesCommonRuleSet"
                        )
                    ),
                    visibility_config=_visibility("common"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-per-ip",
                    priority=1,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=2000
                        )
                    ),
                    visibility_config=_visibility("rate-per-ip"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )
        acknowledge(
            self.api,
            "AwsSolutions-COG4",
            reason="Callers present the service's own JWTs (HS256 or OIDC JWKS), checked by "
            "the Lambda REQUEST authorizer; there is no Cognito user pool.",
        )


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


class CustomDomains(Construct):
    """Certificates, domain names, mappings and Route 53 alias records for both APIs.

    Exposes ``rest_domain``, ``ws_domain`` and the two ``*_record`` attributes. The
    hosted zone is taken by id and name, so synthesis needs no lookup."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        rest: RestFrontDoor,
        websocket: WebSocketFrontDoor,
    ) -> None:
        super().__init__(scope, construct_id)
        hostnames = config.custom_domains
        assert hostnames is not None and config.domain_name and config.hosted_zone_id
        rest_host, ws_host = hostnames
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=config.hosted_zone_id, zone_name=config.domain_name
        )

        ws_certificate = acm.Certificate(
            self,
            "WsCertificate",
            domain_name=ws_host,
            validation=acm.CertificateValidation.from_dns(zone),
        )
        self.ws_domain = apigwv2.DomainName(
            self, "WsDomain", domain_name=ws_host, certificate=ws_certificate
        )
        apigwv2.ApiMapping(
            self,
            "WsMapping",
            api=websocket.api,
            domain_name=self.ws_domain,
            stage=websocket.stage,
        )
        self.ws_record = route53.ARecord(
            self,
            "WsAlias",
            zone=zone,
            record_name=ws_host,
            target=route53.RecordTarget.from_alias(
                route53_targets.ApiGatewayv2DomainProperties(
                    self.ws_domain.regional_domain_name, self.ws_domain.regional_hosted_zone_id
                )
            ),
        )

        rest_certificate: acm.ICertificate
        if config.rest_certificate_arn:
            rest_certificate = acm.Certificate.from_certificate_arn(
                self, "RestCertificate", config.rest_certificate_arn
            )
        else:  # the stack is in us-east-1 (checked by StageConfig)
            rest_certificate = acm.Certificate(
                self,
                "RestCertificate",
                domain_name=rest_host,
                validation=acm.CertificateValidation.from_dns(zone),
            )
        self.rest_domain = apigw.DomainName(
            self,
            "RestDomain",
            domain_name=rest_host,
            certificate=rest_certificate,
            endpoint_type=apigw.EndpointType.EDGE,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
            mapping=rest.api,
        )
        self.rest_record = route53.ARecord(
            self,
            "RestAlias",
            zone=zone,
            record_name=rest_host,
            target=route53.RecordTarget.from_alias(
                route53_targets.ApiGatewayDomain(self.rest_domain)
            ),
        )
