"""What both stores share: the interface, and the queries every dialect runs the same way."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, case, delete, func, literal, select, tuple_
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
    PollHourlyView,
    Selection,
    SpentChallenge,
    TokenMint,
    ViewBatch,
)
from pollsvc.services.readmodel import Counts, OptionView, PollView
from pollsvc.services.store import voids
from pollsvc.services.store.voids import VoidRecord

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
    signals: BallotSignals = field(default_factory=lambda: BallotSignals())

    @property
    def hour(self) -> datetime:
        return hour_of(self.now)


@dataclass(frozen=True, slots=True)
class BallotSignals:
    """What the integrity report reads of a ballot: the voter's network (keyed hash), the
    network that minted the voter's token (its label) and the token's age at the vote."""

    network_hash: bytes | None = None
    token_network: str | None = None
    token_age: int | None = None


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


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


@dataclass(frozen=True, slots=True)
class MinuteCount:
    """Ballots of one network in one minute of a poll (for the integrity report)."""

    network_hash: bytes | None
    minute: datetime
    ballots: int
    voided: int
    token_age_sum: int
    token_ages: int
    """How many of the ballots had a token (with an age)."""
    minted_here: int
    """How many of the ballots' tokens were minted from this same network."""


class Store:
    """The database behind the hot paths and the counters; one subclass per dialect.

    Methods take plain values and open their own connection. Every operation is retried once
    when it finds its pooled connection dead (a restarted database): no ping before each use.
    """

    dialect = ""
    insert: Any = None
    """The dialect's INSERT construct (it has ``on_conflict_do_update``)."""

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

    def hour_expr(self, column: Any) -> Any:
        """SQL for the UTC hour a timestamp column falls in, typed as a timestamp."""
        raise NotImplementedError

    def minute_expr(self, column: Any) -> Any:
        raise NotImplementedError

    def label_expr(self, column: Any) -> Any:
        """SQL for a network hash's label (``identity.network_label``: its first 6 bytes in hex)."""
        raise NotImplementedError

    def _upsert(self, connection: Connection, table: Any, values: dict[str, Any], index_elements: list[str],
                set_: dict[str, Any]) -> None:
        statement = self.insert(table).values(**values)
        connection.execute(statement.on_conflict_do_update(index_elements=index_elements, set_=set_))

    # ---- voiding ----

    def void_ballots(self, *, poll_id: int, network_hash: bytes, starts_at: datetime, ends_at: datetime,
                     burst: str | None, audit: dict[str, Any], now: datetime) -> VoidRecord | None:
        with self.engine.begin() as connection:
            return voids.void_ballots(connection, self._upsert, self.hour_expr, poll_id=poll_id,
                                      network_hash=network_hash, starts_at=starts_at, ends_at=ends_at,
                                      burst=burst, audit=audit, now=now)

    def restore_void(self, *, poll_id: int, void_id: int, audit: dict[str, Any], now: datetime) -> VoidRecord | None:
        with self.engine.begin() as connection:
            return voids.restore_void(connection, self._upsert, self.hour_expr, poll_id=poll_id, void_id=void_id,
                                      audit=audit, now=now)

    def network_by_label(self, poll_id: int, label: str) -> bytes | None:
        """The network hash of one of the poll's ballots whose label is ``label``."""
        query = (select(Ballot.network_hash).where(Ballot.poll_id == poll_id,
                                                   self.label_expr(Ballot.network_hash) == label).limit(1))
        found = self.run(lambda c: c.execute(query).scalar())
        return None if found is None else bytes(found)

    def list_voids(self, poll_id: int) -> list[VoidRecord]:
        return self.run(lambda c: voids.list_voids(c, poll_id))

    # ---- integrity signals ----

    def redeem_solution(self, digest: bytes, expires_at: datetime, network_hash: bytes, now: datetime) -> bool:
        """Mark a proof-of-work solution spent (True the first time, in any process) and count the
        token it mints for its network and hour."""
        with self.engine.begin() as connection:
            if random.random() < 0.01:  # expired solutions can no longer be replayed: forget them
                connection.execute(delete(SpentChallenge).where(SpentChallenge.expires_at < now))
            claimed = connection.execute(
                self.insert(SpentChallenge).values(digest=digest, expires_at=expires_at)
                .on_conflict_do_nothing().returning(SpentChallenge.digest)).first()
            if claimed is None:
                return False
            self._upsert(connection, TokenMint, {"network_hash": network_hash, "hour": hour_of(now), "tokens": 1},
                         ["network_hash", "hour"], {"tokens": TokenMint.tokens + 1})
            return True

    def ballot_minutes(self, poll_id: int) -> list[MinuteCount]:
        """The poll's ballots per network and minute, with their token signals."""
        minute = self.minute_expr(Ballot.created_at).label("minute")
        query = (
            select(Ballot.network_hash, minute, func.count(), func.count(Ballot.void_id),
                   func.coalesce(func.sum(Ballot.token_age), 0), func.count(Ballot.token_age),
                   func.sum(case((Ballot.token_network == self.label_expr(Ballot.network_hash), 1), else_=0)))
            .where(Ballot.poll_id == poll_id).group_by(Ballot.network_hash, minute).order_by(minute)
        )
        return [MinuteCount(network, at, int(n), int(v), int(age_sum), int(ages), int(here or 0))
                for network, at, n, v, age_sum, ages, here in self.run(lambda c: c.execute(query).all())]

    def tokens_minted(self, network_hashes: Iterable[bytes], since: datetime, until: datetime) -> dict[bytes, int]:
        """Tokens minted per network between the hours of ``since`` and ``until`` (inclusive)."""
        hashes = list(network_hashes)
        if not hashes:
            return {}
        query = (select(TokenMint.network_hash, func.sum(TokenMint.tokens))
                 .where(TokenMint.network_hash.in_(hashes), TokenMint.hour >= hour_of(since),
                        TokenMint.hour <= hour_of(until))
                 .group_by(TokenMint.network_hash))
        return {bytes(h): int(n) for h, n in self.run(lambda c: c.execute(query).all())}

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
                 .group_by(PollHourlyCount.hour)
                 # an hour whose ballots are all voided is no longer an hour that took votes
                 .having(func.sum(PollHourlyCount.participants) > 0)
                 .order_by(PollHourlyCount.hour))
        return [(hour, int(n)) for hour, n in self.run(lambda c: c.execute(query).all())]

    # ---- views (written in batches by the views buffer; read by results and reports) ----

    def views_of(self, poll_ids: Iterable[int]) -> dict[int, int]:
        """Viewable impressions of each of these polls that reached SQL (0 for none)."""
        ids = sorted(set(poll_ids))
        if not ids:
            return {}
        query = views_query(ids)
        found = {poll_id: int(n or 0) for poll_id, n in self.run(lambda c: c.execute(query).all())}
        return {poll_id: found.get(poll_id, 0) for poll_id in ids}

    def hourly_views(self, poll_id: int) -> list[tuple[datetime, int]]:
        """Views per UTC hour that had any, in order."""
        query = (select(PollHourlyView.hour, PollHourlyView.views)
                 .where(PollHourlyView.poll_id == poll_id, PollHourlyView.views > 0)
                 .order_by(PollHourlyView.hour))
        return [(hour, int(n)) for hour, n in self.run(lambda c: c.execute(query).all())]

    def add_views(self, batch_id: str, counts: Mapping[tuple[int, datetime], int], now: datetime) -> bool:
        """Add a buffered batch of views (``(poll_id, UTC hour) -> n``) in one transaction, once:
        False, and nothing written, when ``batch_id`` was added before (a flush retried after its
        commit). Views of polls that no longer exist are dropped."""
        with self.engine.begin() as connection:
            claimed = connection.execute(
                self.insert(ViewBatch).values(id=batch_id, flushed_at=now)
                .on_conflict_do_nothing().returning(ViewBatch.id)).first()
            if claimed is None:
                return False
            poll_ids = sorted({poll_id for poll_id, _ in counts})
            existing: set[int] = set()
            for start in range(0, len(poll_ids), VIEW_ROWS_PER_STATEMENT):  # within any driver's parameter limit
                chunk = poll_ids[start:start + VIEW_ROWS_PER_STATEMENT]
                existing.update(connection.scalars(select(Poll.id).where(Poll.id.in_(chunk))))
            # In key order, so that two flushes (of two processes) lock the rows in the same order.
            rows = [{"poll_id": poll_id, "hour": hour, "views": n}
                    for (poll_id, hour), n in sorted(counts.items()) if poll_id in existing and n > 0]
            for start in range(0, len(rows), VIEW_ROWS_PER_STATEMENT):
                statement = self.insert(PollHourlyView).values(rows[start:start + VIEW_ROWS_PER_STATEMENT])
                connection.execute(statement.on_conflict_do_update(
                    index_elements=["poll_id", "hour"],
                    set_={"views": PollHourlyView.views + statement.excluded.views}))
            return True

    def purge_view_batches(self, before: datetime) -> int:
        """Forget the ids of view batches flushed before ``before``; how many."""
        with self.engine.begin() as connection:
            result = connection.execute(delete(ViewBatch).where(ViewBatch.flushed_at < before))
            return int(getattr(result, "rowcount", 0) or 0)


VIEW_ROWS_PER_STATEMENT = 500
"""Rows of one multi-row upsert of views (SQLite binds at most 32766 parameters a statement)."""


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
        poll_id: (int(participants or 0), int(total or 0), first, last, int(voided or 0))
        for poll_id, participants, total, first, last, voided in connection.execute(
            select(PollCounterShard.poll_id, func.sum(PollCounterShard.participants),
                   func.sum(PollCounterShard.total_votes), func.min(PollCounterShard.first_vote_at),
                   func.max(PollCounterShard.last_vote_at), func.sum(PollCounterShard.voided))
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
        participants, total, first, last, voided = totals.get(poll_id, (0, 0, None, None, 0))
        counts[poll_id] = Counts(participants, total, option_votes[poll_id], first, last, voided)
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


def rebuild_from_ballots(connection: Connection, poll_ids: list[int] | None, hour_expr: Any) -> int:
    """Counter rows from the ballots, on shard 0; voided ballots are counted as voided only.
    ``hour_expr(column)`` truncates a timestamp to its UTC hour, as the votes store it."""
    clear_counters(connection, poll_ids)

    def only(column: Any) -> Any:
        return column.in_(poll_ids) if poll_ids is not None else column.isnot(None)

    counted = Ballot.void_id.is_(None)
    option_rows = connection.execute(
        select(Ballot.poll_id, Selection.option_id, func.count())
        .join(Ballot, Ballot.id == Selection.ballot_id)
        .where(only(Ballot.poll_id), counted).group_by(Ballot.poll_id, Selection.option_id)
    ).all()
    selections: dict[int, int] = {}
    for poll_id, _option_id, votes in option_rows:
        selections[poll_id] = selections.get(poll_id, 0) + votes
    voided = dict(connection.execute(
        select(Ballot.poll_id, func.count()).where(only(Ballot.poll_id), Ballot.void_id.isnot(None))
        .group_by(Ballot.poll_id)).all())
    rows = connection.execute(
        select(Ballot.poll_id, func.count(), func.min(Ballot.created_at), func.max(Ballot.created_at))
        .where(only(Ballot.poll_id), counted).group_by(Ballot.poll_id)
    ).all()
    shards = {poll_id: {"poll_id": poll_id, "shard": 0, "participants": n, "total_votes": selections.get(poll_id, 0),
                        "first_vote_at": first, "last_vote_at": last, "voided": 0}
              for poll_id, n, first, last in rows}
    for poll_id, n in voided.items():
        shards.setdefault(poll_id, {"poll_id": poll_id, "shard": 0, "participants": 0, "total_votes": 0,
                                    "first_vote_at": None, "last_vote_at": None})["voided"] = n
    if shards:
        connection.execute(PollCounterShard.__table__.insert(), list(shards.values()))
    if option_rows:
        connection.execute(OptionCounterShard.__table__.insert(), [
            {"option_id": option_id, "shard": 0, "poll_id": poll_id, "votes": votes}
            for poll_id, option_id, votes in option_rows
        ])
    hour = hour_expr(Ballot.created_at)
    connection.execute(PollHourlyCount.__table__.insert().from_select(
        ["poll_id", "hour", "shard", "participants"],
        select(Ballot.poll_id, hour, literal(0), func.count())
        .where(only(Ballot.poll_id), counted).group_by(Ballot.poll_id, hour),
    ))
    return len(shards)


@contextlib.contextmanager
def no_lock() -> Iterator[None]:
    yield


def views_query(poll_ids: list[int]) -> Select[int, int]:
    """``(poll_id, views)`` of the polls that have any views in SQL."""
    return (select(PollHourlyView.poll_id, func.sum(PollHourlyView.views))
            .where(PollHourlyView.poll_id.in_(poll_ids)).group_by(PollHourlyView.poll_id))
