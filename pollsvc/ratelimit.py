"""Per-client rate limits on fixed windows, with the ``limits`` library's rate items.

One ``RateLimiter`` per app. On Redis a hit is one command: a script counts the hit on every
window of the limit and returns each window's count and time to live, from which the decision
and the ``X-RateLimit-*`` headers are made. The keys of one client's limit share a Redis Cluster
hash slot. Without Redis, or when it fails, the windows live in the process's memory, and Redis
is tried again a few seconds later; a Redis call never waits longer than the client's socket
timeout. (``limits``' own in-memory storage starts a timer thread every few hits to expire
keys, which cost more than the rest of a cached read; ``MemoryWindows`` expires them lazily.)
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many

from pollsvc.redisbackoff import RedisBackoff

HIT_SCRIPT = """
local result = {}
for i, key in ipairs(KEYS) do
    local count = redis.call("INCRBY", key, ARGV[1])
    local ttl = redis.call("TTL", key)
    if ttl < 0 then
        ttl = tonumber(ARGV[i + 1])
        redis.call("EXPIRE", key, ttl)
    end
    result[#result + 1] = count
    result[#result + 1] = ttl
end
return result
"""

PEEK_SCRIPT = """
local result = {}
for _, key in ipairs(KEYS) do
    result[#result + 1] = tonumber(redis.call("GET", key) or "0")
    result[#result + 1] = redis.call("TTL", key)
end
return result
"""


def parse_limits(text: str) -> tuple[RateLimitItem, ...]:
    """``"5/second;100/minute"`` as ``limits`` items (validated at startup by the settings)."""
    return tuple(parse_many(text))


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a hit, for the window closest to its limit."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    """Epoch seconds when that window ends."""

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", str(math.ceil(self.reset_at))),
        ]


class MemoryWindows:
    """Fixed windows in this process's memory: key -> [window end, count]."""

    SWEEP_EVERY = 60.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._windows: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + self.SWEEP_EVERY

    def hit(self, keys: Sequence[str], expiries: Sequence[int], cost: int) -> list[int]:
        """Like ``HIT_SCRIPT``: [count, seconds left, count, seconds left, ...]."""
        now = self.clock()
        answer: list[int] = []
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            for key, expiry in zip(keys, expiries, strict=True):
                window = self._windows.get(key)
                if window is None or window[0] <= now:
                    window = self._windows[key] = [now + expiry, 0]
                window[1] += cost
                answer += [int(window[1]), max(1, math.ceil(window[0] - now))]
        return answer

    def peek(self, keys: Sequence[str]) -> list[int]:
        now = self.clock()
        answer: list[int] = []
        for key in keys:
            window = self._windows.get(key)
            live = window is not None and window[0] > now
            answer += [int(window[1]), math.ceil(window[0] - now)] if live and window else [0, -2]
        return answer

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def _sweep(self, now: float) -> None:
        self._windows = {key: window for key, window in self._windows.items() if window[0] > now}
        self._next_sweep = now + self.SWEEP_EVERY


class RateLimiter:
    """Fixed-window limits per (scope, client key), in Redis when given one, else in memory."""

    def __init__(self, redis: Any = None, prefix: str = "pollsvc", clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self._memory = MemoryWindows(clock)
        self._backoff = RedisBackoff("rate limits", "using process memory")
        self._hit: Any = redis.register_script(HIT_SCRIPT) if redis is not None else None
        self._peek: Any = redis.register_script(PEEK_SCRIPT) if redis is not None else None

    def hit(self, scope: str, items: Sequence[RateLimitItem], key: str, cost: int = 1) -> Decision:
        """Count a hit on every window of the limit; allowed when none is over."""
        keys = self._keys(scope, items, key)
        expiries = [item.get_expiry() for item in items]
        if self._use_redis():
            try:
                return self._decide(items, self._hit(keys=keys, args=[cost, *expiries]), counted=True)
            except Exception as exc:  # redis-py raises several families; any of them means "down"
                self._redis_failed(exc)
        return self._decide(items, self._memory.hit(keys, expiries, cost), counted=True)

    def peek(self, scope: str, items: Sequence[RateLimitItem], key: str) -> Decision:
        """The state of the windows without counting a hit (allowed: none is used up)."""
        keys = self._keys(scope, items, key)
        if self._use_redis():
            try:
                return self._decide(items, self._peek(keys=keys), counted=False)
            except Exception as exc:
                self._redis_failed(exc)
        return self._decide(items, self._memory.peek(keys), counted=False)

    def reset(self) -> None:
        """Forget every window (tests): process memory, and this prefix's keys in Redis."""
        self._memory.reset()
        if self.redis is not None:
            keys = list(self.redis.scan_iter(match=f"{self.prefix}:rl:*", count=1000))
            for start in range(0, len(keys), 500):
                self.redis.delete(*keys[start:start + 500])

    # ---- internals ----

    def _keys(self, scope: str, items: Sequence[RateLimitItem], key: str) -> list[str]:
        # The hash tag {scope:key} keeps one client's windows on one Redis Cluster node.
        return [f"{self.prefix}:rl:{{{scope}:{key}}}:{item.amount}/{item.multiples}{item.GRANULARITY.name}"
                for item in items]

    def _decide(self, items: Sequence[RateLimitItem], answer: list[Any], *, counted: bool) -> Decision:
        now = self.clock()
        tightest: Decision | None = None
        allowed = True
        for index, item in enumerate(items):
            count, ttl = int(answer[2 * index]), int(answer[2 * index + 1])
            over = count > item.amount if counted else count >= item.amount
            allowed = allowed and not over
            window = Decision(not over, item.amount, max(0, item.amount - count),
                              now + (ttl if ttl > 0 else item.get_expiry()))
            tightest = _tighter(tightest, window)
        assert tightest is not None
        return Decision(allowed, tightest.limit, tightest.remaining, tightest.reset_at)

    def _use_redis(self) -> bool:
        return self.redis is not None and self._backoff.available()

    def _redis_failed(self, exc: Exception) -> None:
        self._backoff.failed(exc)


def _tighter(current: Decision | None, candidate: Decision) -> Decision:
    """The window that refuses, or else the one with the fewest hits left."""
    if current is None:
        return candidate
    if (not candidate.allowed, -candidate.remaining) > (not current.allowed, -current.remaining):
        return candidate
    return current
