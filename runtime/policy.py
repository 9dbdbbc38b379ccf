"""How API Gateway reads a Lambda authorizer's answer for a WebSocket ``$connect``.

:func:`connect_verdict` is a pure decision: ``ALLOW`` when some ``Allow`` statement
grants ``execute-api:Invoke`` on the ``methodArn`` and no ``Deny`` statement matches it
(an explicit Deny wins, as in IAM); ``DENY`` otherwise (API Gateway answers 403);
``INVALID`` when the answer is not a policy at all (API Gateway answers 500).
Resources and actions match with IAM wildcards (``*`` any run, ``?`` one character).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    INVALID = "invalid"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value, p) for p in _as_list(patterns))


def connect_verdict(response: Any, method_arn: str) -> Verdict:
    """Whether the authorizer's ``response`` lets the caller invoke ``method_arn``."""
    if not isinstance(response, Mapping) or not isinstance(response.get("principalId"), str):
        return Verdict.INVALID
    document = response.get("policyDocument")
    if not isinstance(document, Mapping):
        return Verdict.INVALID
    statements = _as_list(document.get("Statement"))
    if not statements or not all(isinstance(s, Mapping) for s in statements):
        return Verdict.INVALID
    allowed = False
    for statement in statements:
        if not (
            _matches(statement.get("Action"), "execute-api:Invoke")
            and _matches(statement.get("Resource"), method_arn)
        ):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            return Verdict.DENY
        allowed = allowed or effect == "Allow"
    return Verdict.ALLOW if allowed else Verdict.DENY
