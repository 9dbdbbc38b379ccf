"""Rates, as sans-I/O decisions over a clock the caller passes in.

- :class:`TokenBucket`: may one more message go now, and if not, how long until it may
  (a connection's message rate limit);
- :class:`OncePer`: should a failure of this cause be reported now, or was it reported
  within the interval (then it is only counted, and the count goes with the next report);
- :class:`FailureLog`: :class:`OncePer` over a :class:`logging.Logger`, so a dependency
  that fails every request logs one line per cause per interval, not a traceback each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

REPORT_INTERVAL_S: Final = 10.0


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; one token per message."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float) -> float:
        """Take a token at ``now``: 0.0 if one was there, else the seconds until one is
        (nothing is taken then)."""
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else float("inf")


@dataclass(slots=True)
class OncePer:
    """Whether a cause is due for a report: at most once per ``interval_s`` per cause."""

    interval_s: float = REPORT_INTERVAL_S
    _last: dict[str, float] = field(default_factory=dict)
    _suppressed: dict[str, int] = field(default_factory=dict)

    def due(self, cause: str, now: float) -> int | None:
        """None when ``cause`` was reported less than ``interval_s`` ago (counted);
        otherwise how many reports of it were suppressed since the last one."""
        last = self._last.get(cause)
        if last is not None and now - last < self.interval_s:
            self._suppressed[cause] = self._suppressed.get(cause, 0) + 1
            return None
        self._last[cause] = now
        return self._suppressed.pop(cause, 0)


class FailureLog:
    """Logs failures once per cause (class and code) per interval, without tracebacks for
    the expected ones (a dependency down), with one for the unexpected."""

    def __init__(
        self,
        log: logging.Logger,
        *,
        interval_s: float = REPORT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.gate = OncePer(interval_s)
        self.clock = clock

    def failed(self, what: str, exc: BaseException, *, expected: bool = True) -> None:
        """Report ``exc`` (raised while doing ``what``) unless its cause was reported lately."""
        code = getattr(exc, "code", "")
        cause = f"{what}:{type(exc).__name__}:{code}"
        suppressed = self.gate.due(cause, self.clock())
        if suppressed is None:
            return
        more = f" (and {suppressed} more like it since)" if suppressed else ""
        if expected:
            self.log.warning("%s failed: %s%s", what, exc, more)
        else:
            self.log.error("%s crashed%s", what, more, exc_info=exc)


__all__ = ["REPORT_INTERVAL_S", "FailureLog", "OncePer", "TokenBucket"]
