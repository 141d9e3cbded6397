"""Exact counts from sharded counter rows, bumped in the vote's own transaction.

A vote adds 1 to one of ``COUNTER_SHARDS`` rows of its poll (picked at random), so votes on
one viral poll do not queue on a single row lock; a read sums at most that many rows per poll,
whatever the number of ballots. ``rebuild`` recomputes the shards from the ballots.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from pollsvc.models import (
    COUNTER_SHARDS,
    Ballot,
    Option,
    OptionCounterShard,
    PollCounterShard,
    Selection,
)
from pollsvc.services import DbSession


@dataclass
class PollCounts:
    participants: int = 0
    total_votes: int = 0
    option_votes: dict[int, int] = field(default_factory=dict)


def load_counts(session: DbSession, poll_ids: Iterable[int]) -> dict[int, PollCounts]:
    ids = list(poll_ids)
    counts = {poll_id: PollCounts() for poll_id in ids}
    if not ids:
        return counts
    poll_rows = session.execute(
        select(
            PollCounterShard.poll_id,
            func.sum(PollCounterShard.participants),
            func.sum(PollCounterShard.total_votes),
        )
        .where(PollCounterShard.poll_id.in_(ids))
        .group_by(PollCounterShard.poll_id)
    )
    for poll_id, participants, total in poll_rows:
        counts[poll_id].participants = int(participants or 0)
        counts[poll_id].total_votes = int(total or 0)
    option_rows = session.execute(
        select(OptionCounterShard.poll_id, OptionCounterShard.option_id, func.sum(OptionCounterShard.votes))
        .where(OptionCounterShard.poll_id.in_(ids))
        .group_by(OptionCounterShard.poll_id, OptionCounterShard.option_id)
    )
    for poll_id, option_id, votes in option_rows:
        counts[poll_id].option_votes[option_id] = int(votes or 0)
    return counts


def _insert_for(session: DbSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def add_ballot_to_counters(session: DbSession, poll_id: int, option_ids: list[int]) -> None:
    """Count one ballot: two upserts on one random shard, options in id order (no deadlocks)."""
    insert = _insert_for(session)
    shard = random.randrange(COUNTER_SHARDS)
    poll_stmt = insert(PollCounterShard).values(
        poll_id=poll_id, shard=shard, participants=1, total_votes=len(option_ids)
    )
    session.execute(poll_stmt.on_conflict_do_update(
        index_elements=["poll_id", "shard"],
        set_={
            "participants": PollCounterShard.participants + 1,
            "total_votes": PollCounterShard.total_votes + poll_stmt.excluded.total_votes,
        },
    ))
    option_stmt = insert(OptionCounterShard).values(
        [{"option_id": oid, "shard": shard, "poll_id": poll_id, "votes": 1} for oid in sorted(option_ids)]
    )
    session.execute(option_stmt.on_conflict_do_update(
        index_elements=["option_id", "shard"],
        set_={"votes": OptionCounterShard.votes + 1},
    ))


def rebuild(session: DbSession, poll_ids: Iterable[int] | None = None) -> int:
    """Recompute counter shards from the ballots (all polls, or the given ones); returns polls done.

    On PostgreSQL the ballot tables are locked against writes for the duration, so a rebuild
    during live voting neither loses nor double-counts a vote.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE ballots, selections IN SHARE MODE"))
    ids = list(poll_ids) if poll_ids is not None else None
    poll_filter = (lambda col: col.in_(ids)) if ids is not None else (lambda col: col.isnot(None))
    session.execute(delete(PollCounterShard).where(poll_filter(PollCounterShard.poll_id)))
    session.execute(delete(OptionCounterShard).where(poll_filter(OptionCounterShard.poll_id)))
    participants = dict(
        session.execute(
            select(Ballot.poll_id, func.count()).where(poll_filter(Ballot.poll_id)).group_by(Ballot.poll_id)
        ).all()
    )
    per_option = session.execute(
        select(Option.poll_id, Selection.option_id, func.count())
        .join(Option, Option.id == Selection.option_id)
        .where(poll_filter(Option.poll_id))
        .group_by(Option.poll_id, Selection.option_id)
    ).all()
    totals: dict[int, int] = {}
    for poll_id, option_id, votes in per_option:
        totals[poll_id] = totals.get(poll_id, 0) + votes
        session.add(OptionCounterShard(option_id=option_id, shard=0, poll_id=poll_id, votes=votes))
    for poll_id, count in participants.items():
        session.add(PollCounterShard(poll_id=poll_id, shard=0, participants=count,
                                     total_votes=totals.get(poll_id, 0)))
    session.commit()
    return len(participants)
