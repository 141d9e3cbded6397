"""API keys: created once, shown once, stored as SHA-256, compared in constant time; listed,
revoked and (optionally) expiring."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import select, update

from pollsvc.models import ApiKey
from pollsvc.services import DbSession

ROLES = ("admin", "reporter")
KEY_PREFIX = "psk"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: DbSession, role: str, name: str | None, now: datetime,
               expires_at: datetime | None = None) -> str:
    """Store a new key and return it in clear: the only time it is ever seen."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if expires_at is not None and expires_at <= now:
        raise ValueError("the expiry must be in the future")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKey(prefix=prefix, key_hash=_digest(secret), role=role, name=name, created_at=now,
                       expires_at=expires_at))
    session.commit()
    return f"{KEY_PREFIX}_{prefix}_{secret}"


def _parts(key: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a key shaped ``psk_<prefix>_<secret>``, else None."""
    parts = key.split("_", 2)
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == KEY_PREFIX else None


def key_prefix(key: str) -> str:
    """The public part of a key (``psk_<prefix>_...``): what ``list`` shows and ``revoke`` takes."""
    parts = _parts(key)
    return parts[0] if parts else key


def verify_key(session: DbSession, presented: str, now: datetime | None = None) -> ApiKey | None:
    """The active key matching ``presented``, else None (unknown, revoked or expired); the hash
    is compared in constant time."""
    parts = _parts(presented)
    if parts is None or len(presented) > 200:
        hmac.compare_digest(_digest(presented), _digest(""))  # same work for malformed keys
        return None
    prefix, secret = parts
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    expected = key.key_hash if key is not None else _digest("")
    if not hmac.compare_digest(expected, _digest(secret)) or key is None:
        return None
    if key.state(now or datetime.now(UTC)) != "active":
        return None
    return key


def list_keys(session: DbSession) -> list[ApiKey]:
    """Every key, oldest first (revoked and expired ones included: the audit log names them)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: DbSession, prefix: str, now: datetime) -> bool:
    """Revoke the key with this prefix at once, on every process (keys are read per request);
    False when there is no such key or it was already revoked."""
    done = session.execute(update(ApiKey).where(ApiKey.prefix == key_prefix(prefix), ApiKey.revoked_at.is_(None))
                           .values(revoked_at=now))
    session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]
