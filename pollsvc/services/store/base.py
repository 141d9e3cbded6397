"""What both stores share: the interface, and the queries every dialect runs the same way."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, func, literal, select, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError

from pollsvc.identity import BallotKeys
from pollsvc.models import (
    COUNTER_SHARDS,
    Ballot,
    BallotKey,
    Option,
    OptionCounterShard,
    Poll,
    PollCounterShard,
    PollHourlyCount,
    Selection,
)
from pollsvc.services.readmodel import Counts, OptionView, PollView

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BallotRequest:
    """One ballot to store, with the poll definition the caller validated it against."""

    poll_id: int
    option_ids: Sequence[int]
    keys: BallotKeys
    now: datetime
    dedup: str
    max_choices: int

    @property
    def hour(self) -> datetime:
        return self.now.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class PollState:
    """The poll row as the vote's own statement saw it (a ``readmodel.Schedule``)."""

    state: str
    archived_at: datetime | None
    opens_at: datetime | None
    closes_at: datetime | None
    dedup: str
    max_choices: int


@dataclass(frozen=True, slots=True)
class CastResult:
    """What the store did with a ballot.

    ``ballot_id`` is None when nothing was written: the poll did not take the ballot (see
    ``poll``, None when there is no such poll) or a key already had a ballot (``taken``).
    ``counts`` include the new ballot, or are those the refusal saw.
    """

    ballot_id: int | None
    counts: Counts
    poll: PollState | None
    taken: frozenset[str] = frozenset()


class OptionsChanged(Exception):
    """An option of the ballot no longer exists: the poll's options were replaced meanwhile."""


class Store:
    """The database behind the hot paths and the counters; one subclass per dialect.

    Methods take plain values and open their own connection. Every operation is retried once
    when it finds its pooled connection dead (a restarted database): no ping before each use.
    """

    dialect = ""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- chosen once, before the engine exists ----

    @staticmethod
    def engine_options() -> dict[str, Any]:
        return {}

    # ---- dialect specific ----

    def cast_ballot(self, ballot: BallotRequest) -> CastResult:
        """Store the ballot, its keys, selections and counts atomically (or nothing), decided on
        the poll's current row: closed, not yet open or changed polls take no ballot.

        Raises ``OptionsChanged`` (nothing written) when a chosen option no longer exists.
        """
        try:
            return self._cast(ballot)
        except IntegrityError:
            # A foreign key refused the ballot: some of its keys were new and some taken
            # (``token_and_ip``), or the poll's options were replaced while it was in flight.
            taken = self.voted_kinds({ballot.poll_id: ballot.keys}).get(ballot.poll_id)
            if not taken:
                raise OptionsChanged(ballot.poll_id) from None
            counts = self.load_counts([ballot.poll_id])[ballot.poll_id]
            poll = self.run(lambda c: poll_state(c, ballot.poll_id))
            return CastResult(None, counts, poll, frozenset(taken))

    def _cast(self, ballot: BallotRequest) -> CastResult:
        raise NotImplementedError

    def rebuild_counts(self, poll_ids: Iterable[int] | None = None) -> int:
        """Recompute every counter of these polls (all when None) from the ballots; polls done."""
        raise NotImplementedError

    def migration_lock(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    # ---- shared ----

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work`` on a pooled connection; once more on a fresh one if that one was dead."""
        try:
            with self.engine.connect() as connection:
                return work(connection)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.engine.connect() as connection:
            return work(connection)

    def ping(self) -> None:
        self.run(lambda c: c.exec_driver_sql("SELECT 1").scalar())

    def load_polls(self, poll_ids: Iterable[int]) -> dict[int, PollView]:
        """The polls that exist among ``poll_ids`` with their options and counts."""
        ids = sorted(set(poll_ids))
        if not ids:
            return {}
        return self.run(lambda c: load_polls(c, ids))

    def article_poll_ids(self, article_id: str) -> tuple[int, ...]:
        """Ids of an article's published, unarchived polls, oldest first (scheduled included)."""
        query = (select(Poll.id)
                 .where(Poll.article_id == article_id, Poll.archived_at.is_(None), Poll.state != "draft")
                 .order_by(Poll.id))
        return self.run(lambda c: tuple(c.scalars(query).all()))

    def voted_kinds(self, keys_by_poll: Mapping[int, BallotKeys]) -> dict[int, set[str]]:
        """For each poll, which of the given keys already hold a ballot (one query)."""
        wanted = [(poll_id, kind, key) for poll_id, keys in keys_by_poll.items() for kind, key in keys]
        if not wanted:
            return {}
        query = select(BallotKey.poll_id, BallotKey.kind).where(
            tuple_(BallotKey.poll_id, BallotKey.kind, BallotKey.key_hash).in_(wanted))
        found: dict[int, set[str]] = {}
        for poll_id, kind in self.run(lambda c: c.execute(query).all()):
            found.setdefault(poll_id, set()).add(kind)
        return found

    def load_counts(self, poll_ids: Iterable[int]) -> dict[int, Counts]:
        ids = list(poll_ids)
        return self.run(lambda c: load_counts(c, ids))

    def hourly_participants(self, poll_id: int) -> list[tuple[datetime, int]]:
        """Participants per UTC hour that took votes, in order."""
        query = (select(PollHourlyCount.hour, func.sum(PollHourlyCount.participants))
                 .where(PollHourlyCount.poll_id == poll_id)
                 .group_by(PollHourlyCount.hour).order_by(PollHourlyCount.hour))
        return [(hour, int(n)) for hour, n in self.run(lambda c: c.execute(query).all())]


def random_shard() -> int:
    """The counter shard a vote adds to: random, so a hot poll's votes spread their row locks."""
    return random.randrange(COUNTER_SHARDS)


def load_polls(connection: Connection, ids: list[int]) -> dict[int, PollView]:
    polls = connection.execute(select(Poll.__table__).where(Poll.id.in_(ids))).all()
    options: dict[int, list[OptionView]] = {}
    for poll_id, option_id, label in connection.execute(
        select(Option.poll_id, Option.id, Option.label).where(Option.poll_id.in_(ids))
        .order_by(Option.poll_id, Option.position)
    ):
        options.setdefault(poll_id, []).append(OptionView(option_id, label))
    counts = load_counts(connection, ids)
    return {
        row.id: PollView(
            id=row.id, article_id=row.article_id, question=row.question, description=row.description,
            max_choices=row.max_choices, opens_at=row.opens_at, closes_at=row.closes_at,
            results_visibility=row.results_visibility, dedup=row.dedup, state=row.state,
            archived_at=row.archived_at, created_at=row.created_at, updated_at=row.updated_at,
            options=tuple(options.get(row.id, ())), counts=counts[row.id],
        )
        for row in polls
    }


def load_counts(connection: Connection, ids: list[int]) -> dict[int, Counts]:
    """Sums over the counter shards of these polls (at most ``COUNTER_SHARDS`` rows each)."""
    if not ids:
        return {}
    totals = {
        poll_id: (int(participants or 0), int(total or 0), first, last)
        for poll_id, participants, total, first, last in connection.execute(
            select(PollCounterShard.poll_id, func.sum(PollCounterShard.participants),
                   func.sum(PollCounterShard.total_votes), func.min(PollCounterShard.first_vote_at),
                   func.max(PollCounterShard.last_vote_at))
            .where(PollCounterShard.poll_id.in_(ids)).group_by(PollCounterShard.poll_id)
        )
    }
    option_votes: dict[int, dict[int, int]] = {poll_id: {} for poll_id in ids}
    for poll_id, option_id, votes in connection.execute(
        select(OptionCounterShard.poll_id, OptionCounterShard.option_id, func.sum(OptionCounterShard.votes))
        .where(OptionCounterShard.poll_id.in_(ids))
        .group_by(OptionCounterShard.poll_id, OptionCounterShard.option_id)
    ):
        option_votes[poll_id][option_id] = int(votes or 0)
    counts = {}
    for poll_id in ids:
        participants, total, first, last = totals.get(poll_id, (0, 0, None, None))
        counts[poll_id] = Counts(participants, total, option_votes[poll_id], first, last)
    return counts


def poll_state(connection: Connection, poll_id: int) -> PollState | None:
    row = connection.execute(
        select(Poll.state, Poll.archived_at, Poll.opens_at, Poll.closes_at, Poll.dedup, Poll.max_choices)
        .where(Poll.id == poll_id)
    ).one_or_none()
    return None if row is None else PollState(*row)


def clear_counters(connection: Connection, poll_ids: list[int] | None) -> None:
    """Delete the counter rows of these polls (all polls when None), before a rebuild."""
    for table in (PollCounterShard, OptionCounterShard, PollHourlyCount):
        statement = delete(table)
        if poll_ids is not None:
            statement = statement.where(table.poll_id.in_(poll_ids))
        connection.execute(statement)


def rebuild_from_ballots(connection: Connection, poll_ids: list[int] | None, hour_of: Any) -> int:
    """Counter rows from the ballots, on shard 0: ``hour_of(column)`` truncates to the UTC hour."""
    clear_counters(connection, poll_ids)

    def only(column: Any) -> Any:
        return column.in_(poll_ids) if poll_ids is not None else column.isnot(None)

    option_rows = connection.execute(
        select(Option.poll_id, Selection.option_id, func.count())
        .join(Option, Option.id == Selection.option_id)
        .where(only(Option.poll_id)).group_by(Option.poll_id, Selection.option_id)
    ).all()
    selections: dict[int, int] = {}
    for poll_id, _option_id, votes in option_rows:
        selections[poll_id] = selections.get(poll_id, 0) + votes
    rows = connection.execute(
        select(Ballot.poll_id, func.count(), func.min(Ballot.created_at), func.max(Ballot.created_at))
        .where(only(Ballot.poll_id)).group_by(Ballot.poll_id)
    ).all()
    if rows:
        connection.execute(PollCounterShard.__table__.insert(), [
            {"poll_id": poll_id, "shard": 0, "participants": n, "total_votes": selections.get(poll_id, 0),
             "first_vote_at": first, "last_vote_at": last}
            for poll_id, n, first, last in rows
        ])
    if option_rows:
        connection.execute(OptionCounterShard.__table__.insert(), [
            {"option_id": option_id, "shard": 0, "poll_id": poll_id, "votes": votes}
            for poll_id, option_id, votes in option_rows
        ])
    hour = hour_of(Ballot.created_at)
    connection.execute(PollHourlyCount.__table__.insert().from_select(
        ["poll_id", "hour", "shard", "participants"],
        select(Ballot.poll_id, hour, literal(0), func.count())
        .where(only(Ballot.poll_id)).group_by(Ballot.poll_id, hour),
    ))
    return len(rows)


@contextlib.contextmanager
def no_lock() -> Iterator[None]:
    yield
