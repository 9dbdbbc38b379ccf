"""Lambda ``Invoke`` as the broadcaster's :class:`~core.ports.Waker`.

The broadcaster hands the shards of a large fan-out to other runs of itself: an
asynchronous invocation (``InvocationType=Event``) of its own function with the payload,
which Lambda queues and retries by itself. boto3 runs in a worker thread; the client is
built on first use, so importing this module costs nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Final

MAX_ASYNC_INVOKE_BYTES: Final = 256 * 1024
"""Lambda's limit on an asynchronous (``Event``) invocation payload."""


class LambdaWaker:
    """Starts ``function_name`` asynchronously with a payload (fire and forget)."""

    def __init__(
        self,
        function_name: str,
        *,
        region: str,
        endpoint_url: str | None = None,
        client: Any | None = None,
    ) -> None:
        self.function_name = function_name
        self.region = region
        self.endpoint_url = endpoint_url
        self._client = client

    def _lambda(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client(
                "lambda", region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._client

    async def wake(self, payload: Mapping[str, Any]) -> None:
        """Queue one asynchronous invocation with ``payload``; raises when Lambda refuses."""
        body = json.dumps(payload, separators=(",", ":"))
        await asyncio.to_thread(
            self._lambda().invoke,
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=body.encode(),
        )


__all__ = ["MAX_ASYNC_INVOKE_BYTES", "LambdaWaker"]
