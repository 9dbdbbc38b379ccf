"""IAM authentication to RDS Proxy: a fresh token for every new database connection.

An IAM authentication token is a SigV4-presigned ``connect`` request for one host, port
and database user; it is computed locally from the function's credentials (no network
call) and is valid for 15 minutes. asyncpg accepts a callable as the password and calls
it for every connection it opens, so a pool that outlives a token, or the credentials it
was signed with, keeps connecting: nothing is read once per sandbox, and rotating the
master secret never reaches a Lambda. boto3 is imported when the first token is made.
"""

from __future__ import annotations

import threading
from typing import Any, Final
from urllib.parse import urlsplit

DEFAULT_PORT: Final = 5432


class RdsIamAuth:
    """Makes IAM authentication tokens for ``user`` on the hosts it is asked for."""

    def __init__(self, *, user: str, region: str, client: Any | None = None) -> None:
        self.user = user
        self.region = region
        self._client = client
        self._lock = threading.Lock()
        self.tokens_made = 0

    def _rds(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3

                    self._client = boto3.client("rds", region_name=self.region)
        return self._client

    def token(self, host: str, port: int = DEFAULT_PORT) -> str:
        """A token for ``host:port`` (signed now, valid for 15 minutes)."""
        token: str = self._rds().generate_db_auth_token(
            DBHostname=host, Port=port, DBUsername=self.user, Region=self.region
        )
        self.tokens_made += 1
        return token

    def password_for(self, dsn: str) -> PasswordCallable:
        """asyncpg's ``password`` for connections to ``dsn``'s host: a token per call."""
        parts = urlsplit(dsn)
        if not parts.hostname:
            raise ValueError(f"expected a DSN with a host, got {dsn!r}")
        return PasswordCallable(self, parts.hostname, parts.port or DEFAULT_PORT)


class PasswordCallable:
    """A token for one host, made afresh each time asyncpg opens a connection."""

    def __init__(self, auth: RdsIamAuth, host: str, port: int) -> None:
        self.auth, self.host, self.port = auth, host, port

    def __call__(self) -> str:
        return self.auth.token(self.host, self.port)


__all__ = ["PasswordCallable", "RdsIamAuth"]
