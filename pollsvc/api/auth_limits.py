"""Failed API-key attempts are rate limited per client IP, so keys cannot be guessed at speed."""

from __future__ import annotations

import time

from flask import current_app
from limits import RateLimitItem, parse_many

from pollsvc.errors import ApiError
from pollsvc.extensions import current_limiter
from pollsvc.identity import rate_limit_key

SCOPE = "auth-failures"


def _items() -> list[RateLimitItem]:
    return list(parse_many(current_app.extensions["pollsvc"].settings.rate_limit_auth_failures))


def check_not_blocked() -> None:
    """429 when this IP has used up its failed attempts (checked before a key is looked at)."""
    key = rate_limit_key()
    try:
        strategy = current_limiter().limiter
        for item in _items():
            if not strategy.test(item, SCOPE, key):
                reset, _ = strategy.get_window_stats(item, SCOPE, key)
                retry = max(1, int(reset - time.time()))
                raise ApiError("rate_limited", "Too many failed API-key attempts.",
                               headers={"Retry-After": str(retry)})
    except ApiError:
        raise
    except Exception:  # storage trouble must never turn into a 500 here
        current_app.logger.warning("auth-failure limit check skipped: storage error")


def note_failed_key() -> None:
    try:
        strategy = current_limiter().limiter
        for item in _items():
            strategy.hit(item, SCOPE, rate_limit_key())
    except Exception:
        current_app.logger.warning("auth-failure limit not recorded: storage error")
