"""API keys: created once, shown once, stored as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select

from pollsvc.models import ApiKey
from pollsvc.services import DbSession

ROLES = ("admin", "reporter")
KEY_PREFIX = "psk"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: DbSession, role: str, name: str | None, now: datetime) -> str:
    """Store a new key and return it in clear: the only time it is ever seen."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKey(prefix=prefix, key_hash=_digest(secret), role=role, name=name, created_at=now))
    session.commit()
    return f"{KEY_PREFIX}_{prefix}_{secret}"


def verify_key(session: DbSession, presented: str) -> ApiKey | None:
    """The live key matching ``presented``, else None; the hash is compared in constant time."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(presented) > 200:
        hmac.compare_digest(_digest(presented), _digest(""))  # same work for malformed keys
        return None
    _, prefix, secret = parts
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    expected = key.key_hash if key is not None else _digest("")
    if not hmac.compare_digest(expected, _digest(secret)) or key is None:
        return None
    return key
