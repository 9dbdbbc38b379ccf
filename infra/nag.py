"""Acknowledging cdk-nag findings, each with its reason.

cdk-nag 3 reads CDK's own ``Validations.of(construct).acknowledge`` records; an
acknowledgment covers one finding (``RuleId`` or ``RuleId[FindingId]``) on the
construct it is attached to. Every call here must say why the finding does not
apply or is accepted; infra/README.md lists them all.
"""

from __future__ import annotations

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


def finding_resource(
    target: IConstruct, attribute: str, *, suffix: str = "", rule: str = "AwsSolutions-IAM5"
) -> str:
    """The finding id cdk-nag gives a policy resource ``<LogicalId.Attribute>suffix``."""
    return f"{rule}[Resource::<{logical_id(target)}.{attribute}>{suffix}]"
