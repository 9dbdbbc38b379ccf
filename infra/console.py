"""The admin console beside the REST API: its files in a private bucket, served by the
REST API itself on the same origin.

``GET /{stage}/admin`` answers ``admin.html`` and ``GET /{stage}/web/{file}`` the page's
modules and stylesheet (the local runtime serves the same files at the same paths, from
``runtime/web``). Both are API Gateway S3 integrations through a role that may only
``s3:GetObject`` under ``web/`` of this one bucket; the bucket blocks every public access
and takes TLS only. The console then calls the REST routes of its own origin, so its
Content-Security-Policy allows only ``'self'``, and the admin token it asks for guards
every call; the two file routes hold code, no data, and need no token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.config import StageConfig
from infra.nag import acknowledge, finding_resource

WEB_DIR: Final = Path(__file__).resolve().parents[1] / "runtime" / "web"
PREFIX: Final = "web/"
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The same policy the local runtime's pages carry (``runtime.pages``, a test compares)."""
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class AdminConsole(Construct):
    """Exposes ``bucket``, ``deployment`` and ``read_role`` (what API Gateway reads as)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        api: apigw.RestApi,
        web_dir: Path = WEB_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Files",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            reason="The bucket holds the console's static files, deployed by the stack; every "
            "read goes through the REST API, whose access log records it.",
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            sources=[s3deploy.Source.asset(str(web_dir))],
            destination_bucket=self.bucket,
            destination_key_prefix=PREFIX,
            prune=True,
            retain_on_delete=False,
            log_group=logs.LogGroup(
                self,
                "DeployLogs",
                retention=config.log_retention,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )
        self._acknowledge_cdk_deployment_function(config)
        self.read_role = iam.Role(
            self,
            "ReadRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway reads the admin console's files (GetObject under web/)",
        )
        self.read_role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects(f"{PREFIX}*")]
            )
        )
        acknowledge(
            self.read_role,
            finding_resource(self.bucket, "Arn", suffix=f"/{PREFIX}*"),
            reason="GetObject on the console's files only: the key prefix web/ of its own "
            "bucket, whose file names the route passes through.",
        )
        page = api.root.add_resource("admin").add_method(
            "GET",
            self._integration("admin.html", params={}),
            authorization_type=apigw.AuthorizationType.NONE,
            method_responses=_method_responses(),
        )
        asset = (
            api.root.add_resource("web")
            .add_resource("{file}")
            .add_method(
                "GET",
                self._integration(
                    "{file}", params={"integration.request.path.file": "method.request.path.file"}
                ),
                authorization_type=apigw.AuthorizationType.NONE,
                request_parameters={"method.request.path.file": True},
                method_responses=_method_responses(),
            )
        )
        for method in (page, asset):
            acknowledge(
                method,
                "AwsSolutions-APIG4",
                "AwsSolutions-COG4",
                reason="The admin console's page and modules are public code with no data; "
                "every REST route they call keeps the Lambda REQUEST authorizer and the "
                "admin role check.",
            )

    def _acknowledge_cdk_deployment_function(self, config: StageConfig) -> None:
        """The function CDK adds to copy the files (one per stack) runs CDK's code, with
        CDK's grants: read the asset from the bootstrap bucket, sync into this bucket."""
        stack = Stack.of(self)
        (function,) = [
            c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")
        ]
        acknowledge(
            function,
            "AwsSolutions-L1",
            reason="CDK's bucket-deployment function: CDK ships its code and picks its runtime.",
        )
        acknowledge(
            function,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            reason="CDK's bucket-deployment function writes its own logs only.",
        )
        acknowledge(
            function,
            *(f"AwsSolutions-IAM5[Action::s3:{action}]"
              for action in ("GetBucket*", "GetObject*", "List*", "Abort*", "DeleteObject*")),
            f"AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
            f"{config.region}/*]",
            finding_resource(self.bucket, "Arn", suffix="/*"),
            reason="CDK's bucket-deployment grants: read the console's asset from the CDK "
            "bootstrap bucket, and sync (put, delete, list) into the console's own bucket.",
        )  # fmt: skip

    def _integration(self, key: str, *, params: dict[str, str]) -> apigw.AwsIntegration:
        headers = {
            f"method.response.header.{name}": f"'{value}'" for name, value in PAGE_HEADERS.items()
        }
        headers["method.response.header.Content-Type"] = "integration.response.header.Content-Type"
        return apigw.AwsIntegration(
            service="s3",
            integration_http_method="GET",
            path=f"{self.bucket.bucket_name}/{PREFIX}{key}",
            options=apigw.IntegrationOptions(
                credentials_role=self.read_role,
                request_parameters=params or None,
                integration_responses=[
                    apigw.IntegrationResponse(status_code="200", response_parameters=headers),
                    apigw.IntegrationResponse(status_code="404", selection_pattern="4\\d{2}"),
                ],
            ),
        )


def _method_responses() -> list[apigw.MethodResponse]:
    names = [*PAGE_HEADERS, "Content-Type"]
    return [
        apigw.MethodResponse(
            status_code="200",
            response_parameters={f"method.response.header.{name}": True for name in names},
        ),
        apigw.MethodResponse(status_code="404"),
    ]


__all__ = ["CONTENT_SECURITY_POLICY", "PAGE_HEADERS", "AdminConsole"]
