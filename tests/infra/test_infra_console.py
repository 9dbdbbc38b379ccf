"""The admin console deployed beside the REST API: a private bucket, two S3 routes."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.console import CONTENT_SECURITY_POLICY, PAGE_HEADERS
from runtime.pages import CONTENT_SECURITY_POLICY as LOCAL_POLICY
from runtime.pages import PAGE_HEADERS as LOCAL_HEADERS
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _one(synth: Synthesized, type_: str, props: dict[str, Any]) -> dict[str, Any]:
    found = synth.template.find_resources(type_, {"Properties": props})
    assert len(found) == 1, f"expected one {type_} like {props}, got {found}"
    resource: dict[str, Any] = next(iter(found.values()))
    return resource


def test_the_files_bucket_is_private_and_tls_only(dev: Synthesized, prod: Synthesized) -> None:
    """The console's bucket blocks public access, is encrypted and refuses plain HTTP;
    prod keeps it when the stack goes, dev empties and deletes it."""
    for synth in (dev, prod):
        synth.template.resource_count_is("AWS::S3::Bucket", 1)
        synth.template.has_resource_properties(
            "AWS::S3::Bucket",
            {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
                },
                "BucketEncryption": Match.any_value(),
            },
        )  # fmt: skip
        synth.template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "PolicyDocument": {
                    "Statement": Match.array_with([
                        Match.object_like({
                            "Effect": "Deny", "Action": "s3:*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        })
                    ])
                }
            },
        )  # fmt: skip
        synth.template.resource_count_is("Custom::CDKBucketDeployment", 1)
    prod.template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})
    dev.template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Delete"})


def test_the_console_and_its_modules_are_served_by_the_rest_api(dev: Synthesized) -> None:
    """GET /admin reads web/admin.html and GET /web/{file} reads web/{file} from the
    bucket, both without a token, answering the pages' security headers."""
    t = dev.template
    _one(dev, "AWS::ApiGateway::Resource", {"PathPart": "admin"})
    _one(dev, "AWS::ApiGateway::Resource", {"PathPart": "web"})
    _one(dev, "AWS::ApiGateway::Resource", {"PathPart": "{file}"})
    methods = t.find_resources(
        "AWS::ApiGateway::Method",
        {"Properties": {"Integration": {"Type": "AWS", "IntegrationHttpMethod": "GET"}}},
    )
    assert len(methods) == 2
    keys = set()
    for method in methods.values():
        props = method["Properties"]
        assert props["HttpMethod"] == "GET" and props["AuthorizationType"] == "NONE"
        uri = str(props["Integration"]["Uri"])
        assert ":s3:path/" in uri
        keys.add("/web/admin.html" if "/web/admin.html" in uri else "/web/{file}")
        ok = next(
            r for r in props["Integration"]["IntegrationResponses"] if r["StatusCode"] == "200"
        )
        headers = ok["ResponseParameters"]
        for name, value in PAGE_HEADERS.items():
            assert headers[f"method.response.header.{name}"] == f"'{value}'"
        assert (
            headers["method.response.header.Content-Type"]
            == "integration.response.header.Content-Type"
        )
    assert keys == {"/web/admin.html", "/web/{file}"}


def test_api_gateway_may_only_read_the_console_files(dev: Synthesized) -> None:
    """The role API Gateway reads with allows s3:GetObject under web/ of that bucket, nothing else."""
    role = _one(
        dev,
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({
                    "Principal": {"Service": "apigateway.amazonaws.com"}
                })]
            },
            "Description": Match.string_like_regexp("admin console"),
        },
    )  # fmt: skip
    assert "ManagedPolicyArns" not in role["Properties"]
    role_id = next(k for k, v in dev.template.find_resources("AWS::IAM::Role").items() if v == role)
    policies = dev.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    (policy,) = policies.values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"]["Fn::Join"][1][-1] == "/web/*"


def test_the_console_url_is_a_stack_output(dev: Synthesized) -> None:
    """`AdminConsoleUrl` names the console on the REST API's stage."""
    outputs = dev.template.find_outputs("AdminConsoleUrl")
    assert len(outputs) == 1
    assert "/admin" in str(outputs["AdminConsoleUrl"]["Value"])


def test_the_deployed_pages_carry_the_local_pages_headers() -> None:
    """The headers API Gateway adds are the ones the local runtime sends."""
    assert CONTENT_SECURITY_POLICY == LOCAL_POLICY
    assert PAGE_HEADERS == LOCAL_HEADERS
