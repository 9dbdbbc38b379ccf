"""How API Gateway reads a Lambda authorizer's answer for a WebSocket ``$connect``.

:func:`connect_verdict` is a pure decision: ``ALLOW`` when some ``Allow`` statement
grants ``execute-api:Invoke`` on the ``methodArn`` and no ``Deny`` statement matches it
(an explicit Deny wins, as in IAM); ``DENY`` otherwise (API Gateway answers 403);
``INVALID`` when the answer is not a policy at all (API Gateway answers 500).
Resources and actions match with IAM wildcards (``*`` any run, ``?`` one character).
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

from core.auth import request_context_authorizer
from core.errors import Unauthorized

log = logging.getLogger("leaderboard.runtime.auth")


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


async def run_authorizer(
    invoke: Callable[[], Awaitable[Any]], method_arn: str, *, what: str
) -> int | dict[str, Any]:
    """Call an authorizer the way API Gateway does; the refusal status, or the
    ``requestContext.authorizer`` every later event of the request carries.

    ``Unauthorized`` → 401; a crash or an answer that is no policy → 500; a Deny → 403.
    """
    started = time.monotonic()
    try:
        response = await invoke()
    except Unauthorized as exc:
        log.info("%s refused (401): %s: %s", what, exc.code, exc.message)
        return 401
    except Exception:
        log.exception("%s: the authorizer failed, answering 500", what)
        return 500
    verdict = connect_verdict(response, method_arn)
    if verdict is Verdict.INVALID:
        log.error("%s: the authorizer returned no valid policy: %r", what, response)
        return 500
    if verdict is Verdict.DENY:
        return 403
    latency_ms = int((time.monotonic() - started) * 1000)
    return request_context_authorizer(response, integration_latency_ms=latency_ms)
