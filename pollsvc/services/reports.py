"""The polls report: ranked by participants (then votes, then oldest first) or by engagement."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Float, case, cast, func, select

from pollsvc.models import Poll, PollCounterShard, PollHourlyView
from pollsvc.services import DbSession
from pollsvc.services.polls import status_condition
from pollsvc.services.readmodel import engagement, poll_status
from pollsvc.services.store.base import views_query


def polls_report(
    session: DbSession,
    now: datetime,
    *,
    article_id: str | None,
    status: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    page: int,
    per_page: int,
    sort: str = "participants",
) -> tuple[list[dict[str, Any]], int]:
    """One page of the report and the number of polls that match.

    ``engagement``: the rate (exact, not its rounded figure) highest first, polls without views
    last, then most participants, then oldest first.
    """
    conditions = []
    if article_id:
        conditions.append(Poll.article_id == article_id)
    if status:
        conditions.append(status_condition(status, now))
    if created_from:
        conditions.append(Poll.created_at >= created_from)
    if created_to:
        conditions.append(Poll.created_at <= created_to)
    totals = (
        select(
            PollCounterShard.poll_id.label("poll_id"),
            func.sum(PollCounterShard.participants).label("participants"),
            func.sum(PollCounterShard.total_votes).label("total_votes"),
            func.sum(PollCounterShard.voided).label("voided"),
        )
        .group_by(PollCounterShard.poll_id)
        .subquery()
    )
    participants = func.coalesce(totals.c.participants, 0)
    total_votes = func.coalesce(totals.c.total_votes, 0)
    voided = func.coalesce(totals.c.voided, 0)
    total = session.scalar(select(func.count()).select_from(Poll).where(*conditions)) or 0
    query = select(Poll, participants, total_votes, voided).outerjoin(totals, totals.c.poll_id == Poll.id)
    if sort == "engagement":
        # Ranking needs every matching poll's views; only those polls' rows are summed.
        viewed = (
            select(PollHourlyView.poll_id.label("poll_id"), func.sum(PollHourlyView.views).label("views"))
            .join(Poll, Poll.id == PollHourlyView.poll_id).where(*conditions)
            .group_by(PollHourlyView.poll_id)
            .subquery()
        )
        views = func.coalesce(viewed.c.views, 0)
        rate = cast(participants, Float) / cast(func.nullif(views, 0), Float)
        query = query.outerjoin(viewed, viewed.c.poll_id == Poll.id).order_by(
            case((views > 0, 0), else_=1), rate.desc(), participants.desc(), Poll.created_at.asc(), Poll.id.asc())
    else:
        query = query.order_by(participants.desc(), total_votes.desc(), Poll.created_at.asc(), Poll.id.asc())
    rows = session.execute(query.where(*conditions).limit(per_page).offset((page - 1) * per_page)).all()
    views_by_poll = _views_of(session, (poll.id for poll, *_ in rows))
    items = [
        {
            "poll_id": poll.id,
            "article_id": poll.article_id,
            "question": poll.question,
            "status": poll_status(poll, now),
            "participants": int(p),
            "total_votes": int(v),
            "voided": int(x),
            **engagement(int(p), views_by_poll.get(poll.id, 0)),
        }
        for poll, p, v, x in rows
    ]
    return items, total


def _views_of(session: DbSession, poll_ids: Iterable[int]) -> dict[int, int]:
    """Views of the page's polls, in the report's own transaction (the store's ``views_of`` opens
    a connection of its own)."""
    ids = list(poll_ids)
    if not ids:
        return {}
    return {poll_id: int(n or 0) for poll_id, n in session.execute(views_query(ids)).all()}
