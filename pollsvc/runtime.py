"""What a running app holds besides Flask's own state: settings, the clock, the store, the poll
cache and reader, the rate limiter and the Redis client. Views reach it through ``runtime()``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from limits import RateLimitItem

from pollsvc.api.cors import CorsPolicy
from pollsvc.config import Settings
from pollsvc.metrics import BurstWatch
from pollsvc.ratelimit import RateLimiter, parse_limits
from pollsvc.services.botcheck import BotCheck, LoadLedger
from pollsvc.services.integrity import BURST_MIN
from pollsvc.services.reads import PollCache, PollReader
from pollsvc.services.store import Store
from pollsvc.services.views import VIEW_FLUSH_SECONDS, ViewCounter

EXTENSION = "pollsvc"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    polls: PollCache
    reader: PollReader
    limiter: RateLimiter
    limits: dict[str, tuple[RateLimitItem, ...]]
    """Parsed rate limits by scope: ``vote``, ``voters``, ``challenges``, ``public_read``, ``views``,
    ``auth_failures``."""
    botcheck: BotCheck
    """Challenges and their check (with ``POLLSVC_BOT_CHECK=off`` challenges are still given, for
    clients that always solve one, but a token needs no solution)."""
    views: ViewCounter
    """Views of polls: deduplicated, buffered, flushed to SQL (``views.flush()`` writes them now)."""
    cors: CorsPolicy
    """Which other sites' pages may call the public API (``POLLSVC_CORS_ORIGINS``)."""
    clock: Callable[[], datetime] = utcnow
    redis: Any = None
    burst_watch: BurstWatch = field(default_factory=lambda: BurstWatch(BURST_MIN))
    """This app's ballots per network and minute, for the bursts metric (its own: two apps in one
    process must not add up each other's ballots)."""

    @classmethod
    def build(cls, settings: Settings, store: Store, clock: Callable[[], datetime], redis: Any) -> Runtime:
        polls = PollCache(store, settings.public_cache_seconds)
        limits = {
            "vote": parse_limits(settings.rate_limit_vote),
            "voters": parse_limits(settings.rate_limit_voters),
            "challenges": parse_limits(settings.rate_limit_voters),
            "public_read": parse_limits(settings.rate_limit_public_read),
            "views": parse_limits(settings.rate_limit_views),
            "auth_failures": parse_limits(settings.rate_limit_auth_failures),
        }
        ledger = LoadLedger(redis, settings.redis_key_prefix, clock=lambda: clock().timestamp())
        botcheck = BotCheck(settings.secret_key, settings.pow_base_cost, settings.pow_max_cost, ledger, store)
        # VIEW_FLUSH_SECONDS (app config): 0 runs no flusher thread; tests then call views.flush().
        views = ViewCounter(store, polls, settings.secret_key, redis, settings.redis_key_prefix, clock,
                            flush_seconds=float(settings.extra.get("VIEW_FLUSH_SECONDS", VIEW_FLUSH_SECONDS)))
        return cls(settings=settings, store=store, polls=polls, reader=PollReader(polls, settings.secret_key),
                   limiter=RateLimiter(redis, settings.redis_key_prefix), limits=limits, clock=clock, redis=redis,
                   botcheck=botcheck, views=views, cors=CorsPolicy(settings.cors_origin_list))

    def now(self) -> datetime:
        return self.clock()


def runtime_of(app: Flask) -> Runtime:
    rt: Runtime = app.extensions[EXTENSION]
    return rt


def runtime() -> Runtime:
    """The current app's runtime (inside a request or an app context)."""
    return runtime_of(current_app)
