"""Privacy: IP keys are needed only while a poll takes votes; purge removes them afterwards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select

from pollsvc.models import BallotKey, Poll
from pollsvc.services import DbSession


def purge_ip_keys(session: DbSession, closed_before: datetime, now: datetime) -> tuple[int, int]:
    """Delete the ``ip`` ballot keys of polls closed before ``closed_before``; ballots stay.

    A poll counts as closed at its ``closes_at``, or at its last update when closed by hand or archived.
    """
    closed_at_passed = (Poll.closes_at.isnot(None)) & (Poll.closes_at <= closed_before)
    closed_by_hand = (or_(Poll.state == "closed", Poll.archived_at.isnot(None))) & (
        Poll.updated_at <= closed_before
    )
    poll_ids = list(session.scalars(select(Poll.id).where(or_(closed_at_passed, closed_by_hand))))
    if not poll_ids or closed_before > now:
        return 0, 0
    result = session.execute(
        delete(BallotKey).where(BallotKey.kind == "ip", BallotKey.poll_id.in_(poll_ids))
    )
    session.commit()
    return len(poll_ids), int(getattr(result, "rowcount", 0) or 0)
