"""Acknowledging cdk-nag findings, each with its reason.

cdk-nag 3 reads CDK's own ``Validations.of(construct).acknowledge`` records; an
acknowledgment covers one finding (``RuleId`` or ``RuleId[FindingId]``) on the
construct it is attached to. Every call here must say why the finding does not
apply or is accepted; infra/README.md lists them all.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, *finding_ids: str, reason: str) -> None:
    """Acknowledge each of ``finding_ids`` on ``construct`` for ``reason``."""
    if not reason.strip():
        raise ValueError(f"acknowledge {finding_ids}: expected a reason, got an empty one")
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=finding_id, reason=reason) for finding_id in finding_ids)
    )


def logical_id(target: IConstruct) -> str:
    """The logical id of ``target`` (or of its default child), resolved to a string.

    Findings name resources by logical id; computing it keeps hashed ids out of
    the source.
    """
    resource = target.node.default_child or target
    assert isinstance(resource, CfnElement), f"expected a CloudFormation element, got {resource}"
    stack = Stack.of(resource)
    resolved = stack.resolve(stack.get_logical_id(resource))
    assert isinstance(resolved, str)
    return resolved


def render(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag writes it in a finding id:
    ``{"Ref": X}`` as ``<X>``, ``{"Fn::GetAtt": [X, A]}`` as ``<X.A>``, joins joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"<{arg}>"
        if key == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if key == "Fn::Join":
            separator, parts = arg
            return str(separator).join(render(part) for part in parts)
    raise ValueError(f"cannot render {value!r} as a finding: expected Ref, GetAtt or Join")


def finding_for(
    scope: IConstruct, value: str, *, rule: str = "AwsSolutions-IAM5", kind: str = "Resource"
) -> str:
    """The finding id cdk-nag gives ``value`` (a token string): a statement's resource, or
    with ``kind="Policy"`` and IAM4 a managed policy's ARN."""
    stack = Stack.of(scope)
    return f"{rule}[{kind}::{render(stack.resolve(value))}]"


def finding_resource(
    target: IConstruct, attribute: str, *, suffix: str = "", rule: str = "AwsSolutions-IAM5"
) -> str:
    """The finding id cdk-nag gives a policy resource ``<LogicalId.Attribute>suffix``."""
    return f"{rule}[Resource::<{logical_id(target)}.{attribute}>{suffix}]"
