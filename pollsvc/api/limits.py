"""The rate limits of the public endpoints, read from settings at request time and installed
on each app's views by ``install_limits`` (the limiter belongs to the app, not to the module).

On Redis, a limited request costs one command: ``OneTripFixedWindow`` counts the hit and reads
the window's expiry in one script, and the ``X-RateLimit-*`` headers are made from that answer
instead of two more reads (GET, TTL) per request.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, g, has_request_context
from flask_limiter import Limiter
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter, WindowStats

from pollsvc.api.auth import has_authorization
from pollsvc.runtime import runtime

PUBLIC_READS = ("polls.article_polls", "polls.get_poll")
"""The public GETs: one bucket per IP, shared by both."""


def install_limits(app: Flask, limiter: Limiter) -> None:
    """Wrap the public endpoints' views in their limits (requests with an API key skip reads')."""
    limits: dict[str, Any] = {
        "votes.vote": limiter.limit(lambda: runtime().settings.rate_limit_vote, scope="votes"),
        "votes.create_voter": limiter.limit(lambda: runtime().settings.rate_limit_voters, scope="voters"),
    }
    public_read = limiter.shared_limit(lambda: runtime().settings.rate_limit_public_read, scope="public_read",
                                       exempt_when=has_authorization)
    limits.update(dict.fromkeys(PUBLIC_READS, public_read))
    for endpoint, limit in limits.items():
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])


INCR_EXPIRE_TTL = """
local current = redis.call("incrby", KEYS[1], ARGV[2])
if current == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("ttl", KEYS[1])}
"""


class OneTripFixedWindow(FixedWindowRateLimiter):
    """The fixed-window strategy with the same keys and counts, one Redis command per hit.

    The count and expiry a hit saw are kept for the rest of the request (in ``flask.g``), where
    the headers ask for them; outside a request, or for a key not hit yet, it reads as usual.
    """

    def __init__(self, storage: RedisStorage) -> None:
        super().__init__(storage)
        self._script = storage.get_connection().register_script(INCR_EXPIRE_TTL.encode())

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        key = item.key_for(*identifiers)
        storage: RedisStorage = self.storage  # type: ignore[assignment]
        current, ttl = self._script([storage.prefixed_key(key)], [item.get_expiry(), cost])
        if has_request_context():
            g.setdefault("rate_windows", {})[key] = (int(current), max(int(ttl), 0) + time.time())
        return int(current) <= item.amount

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        seen = g.get("rate_windows", {}).get(item.key_for(*identifiers)) if has_request_context() else None
        if seen is None:
            return super().get_window_stats(item, *identifiers)
        current, reset = seen
        return WindowStats(reset, max(0, item.amount - current))


def use_one_trip_strategy(extension: Limiter) -> None:
    """Swap in ``OneTripFixedWindow`` when the limiter is on Redis with the fixed window.

    Flask-Limiter (4.x) builds its strategy from the storage in ``init_app`` and offers no hook to
    choose the class; the in-memory fallback keeps its own strategy and is untouched.
    """
    storage: Any = getattr(extension, "_storage", None)
    current: Any = getattr(extension, "_limiter", None)
    if isinstance(storage, RedisStorage) and type(current) is FixedWindowRateLimiter:
        extension._limiter = OneTripFixedWindow(storage)
