"""The HTTP server's log: a malformed request is the client's error, not ours.

aiohttp logs every request its parser refuses (an over-long request line or header, a
bad method, broken framing) as ERROR "Error handling request" with a traceback, then
answers 400 itself. :class:`ServerLog` is the logger the runtime hands its server: such
refusals become one WARNING line naming the client and what was wrong, and everything
else (a real server fault) stays an ERROR with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOG = logging.getLogger("aiohttp.server")


def client_fault(exc: object) -> HttpProcessingError | None:
    """The parser's refusal of a malformed request (4xx), if ``exc`` is one."""
    if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
        return exc
    return None


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """``aiohttp.server``'s logger, with malformed requests logged as client errors."""

    def __init__(self, logger: logging.Logger = SERVER_LOG) -> None:
        super().__init__(logger, {})

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        fault = client_fault(exc)
        if fault is None:
            self.logger.exception(msg, *args, exc_info=exc_info, **kwargs)
            return
        text = str(msg) % args if args else str(msg)
        detail = str(fault.message).splitlines()[0][:160] if fault.message else ""
        self.logger.warning("%s: client error %d %s", text, fault.code, detail, **kwargs)


__all__ = ["ServerLog", "client_fault"]
