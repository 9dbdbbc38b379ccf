"""The HS256 secret on AWS: read from Secrets Manager once per container, then cached.

The secret is the secret's ``SecretString``, used as is (generate it as a plain random
string of at least 32 bytes, not a JSON object). boto3 is imported on first use, so
importing this module costs nothing, and the read happens on the first HS256 token
(cold start), never at import. A failed read raises :class:`~core.errors.Unavailable`
and is retried on the next call.
"""

from __future__ import annotations

import threading
from typing import Any

from core.errors import Unavailable


class SecretsManagerSecret:
    """One secret string from Secrets Manager, fetched lazily and cached for the process."""

    def __init__(self, *, secret_arn: str, region: str, client: Any | None = None) -> None:
        self.secret_arn = secret_arn
        self.region = region
        self._client = client
        self._value: str | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        """The secret string (read from Secrets Manager on the first call only)."""
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._fetch()
        return self._value

    def _fetch(self) -> str:
        if self._client is None:
            import boto3  # lazy: ~250 ms, and only AWS needs it

            self._client = boto3.client("secretsmanager", region_name=self.region)
        try:
            answer = self._client.get_secret_value(SecretId=self.secret_arn)
        except Exception as exc:  # botocore's ClientError, endpoint and credential errors
            raise Unavailable(
                f"cannot read the JWT secret {self.secret_arn!r} from Secrets Manager: {exc}",
                code="secret_unavailable",
            ) from exc
        value = answer.get("SecretString")
        if not isinstance(value, str) or not value:
            raise Unavailable(
                f"the JWT secret {self.secret_arn!r} has no SecretString: expected a plain string",
                code="secret_unavailable",
            )
        return value
