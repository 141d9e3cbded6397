"""API-key authentication: ``Authorization: Bearer <key>`` with the roles admin and reporter."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from pollsvc.api.ratelimits import count_failed_key, refuse_if_blocked
from pollsvc.errors import ApiError
from pollsvc.extensions import db
from pollsvc.models import ApiKey
from pollsvc.runtime import runtime
from pollsvc.services.apikeys import verify_key

F = TypeVar("F", bound=Callable[..., Any])
# What ``create_key`` makes (psk_<hex>_<urlsafe>); anything else (NUL bytes, which PostgreSQL
# refuses in a query, non-ASCII, 10 KB strings) is a bad key without touching the database.
KEY_SHAPE = re.compile(r"[A-Za-z0-9_\-]{1,200}")
_UNSET = object()


def bearer_credential(header: str) -> str | None:
    """What ``Authorization: Bearer <credential>`` carries; None for another scheme."""
    scheme, _, presented = header.partition(" ")
    return presented.strip() if scheme.lower() == "bearer" else None


def current_key() -> ApiKey | None:
    """The request's API key; None without an Authorization header; 401 for a bad one."""
    cached = g.get("api_key", _UNSET)
    if cached is not _UNSET:
        return cached
    header = request.headers.get("Authorization")
    key: ApiKey | None = None
    if header is not None:
        presented = bearer_credential(header)
        if presented is not None and KEY_SHAPE.fullmatch(presented):
            key = verify_key(db.session, presented, runtime().now())
        if key is None:
            # Only failures count, and only they are refused: a guesser sharing an address (a
            # newsroom's NAT, a proxy not declared in POLLSVC_TRUSTED_PROXIES) locks out no editor.
            refuse_if_blocked()
            count_failed_key()
            raise ApiError("unauthorized", "The API key is missing, malformed, unknown, expired or revoked.")
    g.api_key = key
    return key


def require_role(*roles: str) -> Callable[[F], F]:
    """401 without a valid key, 403 when its role is not one of ``roles``; before anything else."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = current_key()
            if key is None:
                raise ApiError("unauthorized")
            if key.role not in roles:
                raise ApiError("forbidden")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


ADMIN = ("admin",)
READERS = ("admin", "reporter")
