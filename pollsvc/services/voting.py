"""Casting a ballot: the database's unique key on (poll, kind, key hash) is the only dedup arbiter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pollsvc.errors import ApiError
from pollsvc.models import Ballot, BallotKey, Poll, Selection
from pollsvc.services.counts import add_ballot_to_counters

BallotKeys = Sequence[tuple[str, bytes]]


class AlreadyVoted(Exception):
    """The unique constraint refused one of the ballot's keys."""


def check_poll_open(status: str) -> None:
    if status == "scheduled":
        raise ApiError("poll_not_open")
    if status == "closed":
        raise ApiError("poll_closed")


def check_selection(poll: Poll, option_ids: list[int]) -> list[int]:
    """Refuse empty, repeated, unknown or foreign ids and more than ``max_choices`` (422)."""
    if not option_ids:
        raise ApiError("invalid_selection", "Choose at least one option.")
    if len(set(option_ids)) != len(option_ids):
        raise ApiError("invalid_selection", "An option is chosen more than once.")
    known = {option.id for option in poll.options}
    unknown = [i for i in option_ids if i not in known]
    if unknown:
        raise ApiError("invalid_selection", f"Not options of this poll: {unknown[:5]}.")
    if len(option_ids) > poll.max_choices:
        raise ApiError("invalid_selection", f"Choose at most {poll.max_choices} option(s).")
    return option_ids


def cast_ballot(session: Session, poll_id: int, option_ids: list[int], keys: BallotKeys, now: datetime) -> int:
    """Store one ballot, its keys, selections and counts in one transaction; returns its id.

    Raises ``AlreadyVoted`` (nothing written) when any key already has a ballot in this poll.
    """
    try:
        ballot_id = session.execute(
            insert(Ballot).values(poll_id=poll_id, created_at=now).returning(Ballot.id)
        ).scalar_one()
        session.execute(insert(BallotKey), [
            {"poll_id": poll_id, "kind": kind, "key_hash": key_hash, "ballot_id": ballot_id}
            for kind, key_hash in sorted(keys)
        ])
        session.execute(insert(Selection), [{"ballot_id": ballot_id, "option_id": oid} for oid in option_ids])
        add_ballot_to_counters(session, poll_id, option_ids)
        session.commit()
    except IntegrityError:
        session.rollback()
        if voted_polls(session, {poll_id: keys}):
            raise AlreadyVoted() from None
        # Not a key: the poll's options were replaced while this ballot was in flight.
        raise ApiError("invalid_selection", "The poll's options changed; reload and vote again.") from None
    return int(ballot_id)


def voted_polls(session: Session, keys_by_poll: Mapping[int, BallotKeys]) -> set[int]:
    """Which of these polls already hold a ballot with one of the given keys (one query)."""
    wanted = [(poll_id, kind, key_hash) for poll_id, keys in keys_by_poll.items() for kind, key_hash in keys]
    if not wanted:
        return set()
    rows = session.execute(
        select(BallotKey.poll_id).where(
            tuple_(BallotKey.poll_id, BallotKey.kind, BallotKey.key_hash).in_(wanted)
        )
    )
    return {row[0] for row in rows}
