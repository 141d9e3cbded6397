"""Privacy: IP keys and voters' networks are needed only while a poll takes votes (and a while
after, to investigate); purge removes them afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from pollsvc.models import Ballot, BallotKey, Poll, TokenMint, Void
from pollsvc.services import DbSession


def purge_ip_keys(session: DbSession, closed_before: datetime, now: datetime) -> tuple[int, int]:
    """Delete the ``ip`` ballot keys and forget the ballots' networks of polls closed before
    ``closed_before``; ballots stay.

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
    # The networks of the ballots go with the IP keys (the integrity report can no longer tell
    # them apart; counts, voids and results stay).
    session.execute(update(Ballot).where(Ballot.poll_id.in_(poll_ids), Ballot.network_hash.isnot(None))
                    .values(network_hash=None, token_network=None))
    session.execute(update(Void).where(Void.poll_id.in_(poll_ids), Void.network_hash.isnot(None))
                    .values(network_hash=None))
    session.commit()
    return len(poll_ids), int(getattr(result, "rowcount", 0) or 0)


MINTS_KEPT = timedelta(days=2)
"""The integrity report weighs a network against its mints of the day before a poll's first ballot."""


def purge_token_mints(session: DbSession, before: datetime, now: datetime) -> int:
    """Forget the tokens minted per network and hour before ``before`` (never those of the last
    ``MINTS_KEPT``, which open polls' reports still read)."""
    result = session.execute(delete(TokenMint).where(TokenMint.hour < min(before, now - MINTS_KEPT)))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
