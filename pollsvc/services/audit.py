"""The audit log of admin actions: who created, edited, closed or archived which poll, when."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from pollsvc.models import ApiKey, AuditEvent
from pollsvc.services import DbSession


def event_row(actor: ApiKey | None, action: str, poll_id: int | None, details: dict[str, Any] | None,
              now: datetime) -> dict[str, Any]:
    """The audit event's columns: for the ORM, or for a store that writes it in its own transaction."""
    return {
        "at": now,
        "api_key_id": actor.id if actor is not None else None,
        "api_key_name": actor_name(actor),
        "action": action,
        "poll_id": poll_id,
        "details": json.dumps(details, ensure_ascii=False) if details else None,
    }


def actor_name(actor: ApiKey | None) -> str:
    return (actor.name or f"key {actor.prefix}") if actor is not None else "cli"


def record(session: DbSession, actor: ApiKey | None, action: str, poll_id: int | None,
           details: dict[str, Any] | None, now: datetime) -> None:
    """Add an event to the caller's transaction, so it lands exactly when the change does."""
    session.add(AuditEvent(**event_row(actor, action, poll_id, details, now)))


def list_events(
    session: DbSession, *, poll_id: int | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    conditions = [AuditEvent.poll_id == poll_id] if poll_id is not None else []
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    rows = session.scalars(
        select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return [
        {"id": e.id, "at": e.at, "api_key_name": e.api_key_name, "action": e.action,
         "poll_id": e.poll_id, "details": json.loads(e.details) if e.details else None}
        for e in rows
    ], total
