"""Rate limits, declared at the views: ``@rate_limited("vote")``.

One hit per request (one Redis command), counted before the view runs; the decision's
``X-RateLimit-*`` headers go on whatever the view answers, errors included. Failed API-key
attempts have their own limit, counted only when a key is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request

from pollsvc.api.caller import rate_limit_key
from pollsvc.errors import ApiError
from pollsvc.ratelimit import Decision
from pollsvc.runtime import runtime

F = TypeVar("F", bound=Callable[..., Any])

SCOPES = ("vote", "voters", "challenges", "public_read", "views")
AUTH_FAILURES = "auth_failures"


def rate_limited(scope: str, *, exempt_with_key: bool = False) -> Callable[[F], F]:
    """Count each request to the view against the per-IP limit of ``scope`` (429 when over).

    Views with the same scope share one bucket per IP. ``exempt_with_key``: requests that carry
    an ``Authorization`` header are not counted (the key itself is checked by the view).
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown rate-limit scope {scope!r}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            if not (exempt_with_key and "Authorization" in request.headers):
                check(scope)
            return view(*args, **kwargs)

        limited.rate_limit_scope = scope  # type: ignore[attr-defined]
        return limited  # type: ignore[return-value]

    return decorator


def check(scope: str) -> None:
    rt = runtime()
    decision = rt.limiter.hit(scope, rt.limits[scope], rate_limit_key())
    g.rate_limit = decision
    if not decision.allowed:
        raise ApiError("rate_limited", headers={"Retry-After": str(decision.retry_after)})


def add_headers(response: Response, state: Any) -> None:
    """The ``X-RateLimit-*`` headers of this request's limit (``state``: ``flask.g``), if it had one."""
    decision: Decision | None = state.get("rate_limit")
    if decision is not None:
        response.headers.extend(decision.headers())


def refuse_if_blocked() -> None:
    """429 when this IP has used up its failed API-key attempts (checked before a key is looked at)."""
    rt = runtime()
    try:
        decision = rt.limiter.peek(AUTH_FAILURES, rt.limits[AUTH_FAILURES], rate_limit_key())
    except Exception:  # the limiter falls back to memory; anything else must not become a 500
        current_app.logger.warning("auth-failure limit check skipped", exc_info=True)
        return
    if not decision.allowed:
        raise ApiError("rate_limited", "Too many failed API-key attempts.",
                       headers={"Retry-After": str(decision.retry_after)})


def count_failed_key() -> None:
    rt = runtime()
    try:
        rt.limiter.hit(AUTH_FAILURES, rt.limits[AUTH_FAILURES], rate_limit_key())
    except Exception:
        current_app.logger.warning("auth-failure limit not recorded", exc_info=True)
