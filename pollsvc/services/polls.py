"""Polls for editors: create, update, archive, list. Each write drops the cached view of the polls
and articles it changed once it commits (other processes see it within the cache's ttl)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from pollsvc.errors import ApiError, validation_error
from pollsvc.models import Option, Poll, PollCounterShard
from pollsvc.services import DbSession, audit
from pollsvc.services.reads import PollCache

LOCKED_BY_VOTES = ("options", "max_choices", "dedup")


def status_condition(status: str, now: datetime) -> ColumnElement[bool]:
    """The SQL twin of ``readmodel.poll_status``: polls whose output status is ``status`` at ``now``."""
    live = Poll.archived_at.is_(None)
    passed = and_(Poll.closes_at.isnot(None), Poll.closes_at <= now)
    not_closed = and_(Poll.state == "open", not_(passed))
    future = and_(Poll.opens_at.isnot(None), Poll.opens_at > now)
    conditions = {
        "archived": Poll.archived_at.isnot(None),
        "draft": and_(live, Poll.state == "draft"),
        "closed": and_(live, Poll.state != "draft", or_(Poll.state == "closed", passed)),
        "scheduled": and_(live, not_closed, future),
        "open": and_(live, not_closed, not_(future)),
    }
    return conditions[status]


def get_poll(session: DbSession, poll_id: int) -> Poll:
    poll = session.get(Poll, poll_id, options=[selectinload(Poll.options)])
    if poll is None:
        raise ApiError("not_found", "No such poll.")
    return poll


def create_poll(session: DbSession, cache: PollCache | None, data: dict[str, Any], now: datetime,
                actor: Any = None) -> Poll:
    closes_at = data.get("closes_at")
    if closes_at is not None and closes_at <= now:
        raise validation_error({"closes_at": ["Must be in the future."]})
    poll = Poll(
        article_id=data["article_id"],
        question=data["question"],
        description=data.get("description") or None,
        max_choices=data.get("max_choices", 1),
        opens_at=data.get("opens_at"),
        closes_at=closes_at,
        results_visibility=data.get("results_visibility", "after_vote"),
        dedup=data.get("dedup", "token"),
        state=data.get("status", "open"),
        created_at=now,
        updated_at=now,
        options=[Option(position=i, label=o["label"]) for i, o in enumerate(data["options"])],
    )
    session.add(poll)
    session.flush()
    audit.record(session, actor, "create", poll.id, {"question": poll.question}, now)
    session.commit()
    _forget(cache, poll.id, poll.article_id)
    return poll


def _forget(cache: PollCache | None, poll_id: int, *article_ids: str) -> None:
    if cache is not None:
        cache.forget(poll_id, *article_ids)


def _has_votes(session: DbSession, poll: Poll) -> bool:
    participants = session.scalar(select(func.coalesce(func.sum(PollCounterShard.participants), 0))
                                  .where(PollCounterShard.poll_id == poll.id))
    return bool(participants)


def _same_options(poll: Poll, options: list[dict[str, str]]) -> bool:
    return [o.label for o in poll.options] == [o["label"] for o in options]


def update_poll(session: DbSession, cache: PollCache | None, poll: Poll, data: dict[str, Any], now: datetime,
                actor: Any = None) -> Poll:
    changed = {
        name
        for name in LOCKED_BY_VOTES
        if name in data
        and not (name == "options" and _same_options(poll, data["options"]))
        and not (name != "options" and getattr(poll, name) == data[name])
    }
    to_draft = data.get("status") == "draft" and poll.state != "draft"
    if (changed or to_draft) and _has_votes(session, poll):
        raise ApiError("poll_has_votes")

    options = data.get("options")
    option_count = len(options) if options is not None else len(poll.options)
    max_choices = data.get("max_choices", poll.max_choices)
    errors: dict[str, list[str]] = {}
    if max_choices > option_count:
        errors["max_choices"] = ["Must be at most the number of options."]
    opens_at = data.get("opens_at", poll.opens_at)
    closes_at = data.get("closes_at", poll.closes_at)
    if opens_at and closes_at and closes_at <= opens_at:
        errors["closes_at"] = ["Must be after opens_at."]
    if data.get("status") == "open" and "closes_at" not in data and closes_at and closes_at <= now:
        errors["closes_at"] = ["The poll's closes_at has passed: send a later closes_at to reopen it."]
    for name in ("article_id", "question", "results_visibility", "dedup"):
        if name in data and data[name] is None:
            errors[name] = ["Field may not be null."]
    if errors:
        raise validation_error(errors)

    old_article = poll.article_id
    for name in ("article_id", "question", "max_choices", "opens_at", "closes_at",
                 "results_visibility", "dedup"):
        if name in data:
            setattr(poll, name, data[name])
    if "description" in data:
        poll.description = data["description"] or None
    if "status" in data:
        poll.state = data["status"]
        poll.archived_at = None  # PATCH with a status restores an archived poll
    poll.updated_at = now
    action = {"closed": "close", "open": "open", "draft": "unpublish"}.get(data.get("status", ""), "edit")
    audit.record(session, actor, action, poll.id, {"fields": sorted(data)}, now)
    try:
        if options is not None and "options" in changed:
            poll.options.clear()
            session.flush()  # old options go before the new ones are inserted
            poll.options.extend(Option(position=i, label=o["label"]) for i, o in enumerate(options))
        session.commit()
    except IntegrityError:
        # A vote landed on the old options after our check: the foreign key refused to drop them.
        session.rollback()
        raise ApiError("poll_has_votes") from None
    _forget(cache, poll.id, old_article, poll.article_id)
    return poll


def archive_poll(session: DbSession, cache: PollCache | None, poll: Poll, now: datetime, actor: Any = None) -> None:
    if poll.archived_at is None:
        poll.archived_at = now
        poll.updated_at = now
        audit.record(session, actor, "archive", poll.id, None, now)
        session.commit()
        _forget(cache, poll.id, poll.article_id)


def list_poll_ids(
    session: DbSession, now: datetime, *, article_id: str | None, status: str | None, page: int, per_page: int
) -> tuple[list[int], int]:
    """Ids of polls, newest first, filtered by article and output status; and how many match."""
    conditions = []
    if article_id:
        conditions.append(Poll.article_id == article_id)
    if status:
        conditions.append(status_condition(status, now))
    total = session.scalar(select(func.count()).select_from(Poll).where(*conditions)) or 0
    ids = session.scalars(
        select(Poll.id)
        .where(*conditions)
        .order_by(Poll.created_at.desc(), Poll.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(ids), total

