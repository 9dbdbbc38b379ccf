"""The one Secrets Manager reader: a secret's string value, read once per container.

Used for the database credentials (the RDS-generated JSON secret), the HS256 key of the
authorizer and the REST cursor key. A value is fetched on its first use (cold start),
never at import, and cached for the life of the process; a failed read raises
:class:`~core.errors.Unavailable` and is retried on the next call. boto3 is imported on
first use, so importing this module costs nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from core.errors import Unavailable


class SecretsManagerReader:
    """:class:`~core.ports.SecretReader` over Secrets Manager, caching each secret's value."""

    def __init__(self, *, region: str, client: Any | None = None) -> None:
        self.region = region
        self._client = client
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def read(self, secret_id: str) -> str:
        """The secret's ``SecretString`` (fetched on the first call for that id only)."""
        value = self._values.get(secret_id)
        if value is None:
            with self._lock:
                value = self._values.get(secret_id)
                if value is None:
                    value = self._values[secret_id] = self._fetch(secret_id)
        return value

    def _fetch(self, secret_id: str) -> str:
        if self._client is None:
            import boto3  # lazy: ~250 ms, and only AWS needs it

            self._client = boto3.client("secretsmanager", region_name=self.region)
        try:
            answer = self._client.get_secret_value(SecretId=secret_id)
        except Exception as exc:  # botocore's ClientError, endpoint and credential errors
            raise Unavailable(
                f"cannot read the secret {secret_id!r} from Secrets Manager: {exc}",
                code="secret_unavailable",
            ) from exc
        value = answer.get("SecretString")
        if not isinstance(value, str) or not value:
            raise Unavailable(
                f"the secret {secret_id!r} has no SecretString: expected a string",
                code="secret_unavailable",
            )
        return value


__all__ = ["SecretsManagerReader"]
