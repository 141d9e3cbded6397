"""The polls report: ranked by participants, then votes, then oldest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from pollsvc.models import Poll, PollCounterShard
from pollsvc.services import DbSession
from pollsvc.services.polls import status_condition
from pollsvc.services.readmodel import poll_status


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
) -> tuple[list[dict[str, Any]], int]:
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
    rows = session.execute(
        select(Poll, participants, total_votes, voided)
        .outerjoin(totals, totals.c.poll_id == Poll.id)
        .where(*conditions)
        .order_by(participants.desc(), total_votes.desc(), Poll.created_at.asc(), Poll.id.asc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [
        {
            "poll_id": poll.id,
            "article_id": poll.article_id,
            "question": poll.question,
            "status": poll_status(poll, now),
            "participants": int(p),
            "total_votes": int(v),
            "voided": int(x),
        }
        for poll, p, v, x in rows
    ]
    return items, total
