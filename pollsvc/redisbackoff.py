"""After a Redis failure, keep to this process's memory for a while, then try Redis again.

Shared by the rate limits, the proof-of-work load ledger and the views buffer: each falls back
to memory while Redis is down, and a Redis call is never retried on every request meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("pollsvc")

REDIS_RETRY_SECONDS = 2.0
"""After a Redis failure, this process's memory is used this long before Redis is tried again."""


class RedisBackoff:
    """Whether to try Redis now; the first failure of an outage is logged (``what``: whose data,
    ``meanwhile``: what it does instead)."""

    def __init__(self, what: str, meanwhile: str) -> None:
        self.what, self.meanwhile = what, meanwhile
        self._down_until = 0.0
        self._lock = threading.Lock()

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, exc: Exception) -> None:
        with self._lock:
            first = time.monotonic() >= self._down_until
            self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
        if first:
            log.warning("%s: Redis unavailable (%s); %s for %.0f s", self.what, type(exc).__name__,
                        self.meanwhile, REDIS_RETRY_SECONDS)
