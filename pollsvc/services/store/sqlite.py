"""SQLite, the embedded default: a vote is one transaction, which holds the database's write lock
from its first statement, so the poll row it checks cannot change before it commits."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, event, exists, func, literal, select, type_coerce
from sqlalchemy.dialects.sqlite import insert

from pollsvc.identity import NETWORK_TAG_BYTES
from pollsvc.models import (
    Ballot,
    BallotKey,
    OptionCounterShard,
    Poll,
    PollCounterShard,
    PollHourlyCount,
    Selection,
    UTCDateTime,
)
from pollsvc.services.store.base import (
    BallotRequest,
    CastResult,
    Store,
    load_counts,
    poll_state,
    random_shard,
    rebuild_from_ballots,
)

# SQLAlchemy's SQLite DATETIME format: hour buckets must be spelled exactly as it stores them.
HOUR_FORMAT = "%Y-%m-%d %H:00:00.000000"
MINUTE_FORMAT = "%Y-%m-%d %H:%M:00.000000"


class SqliteStore(Store):
    dialect = "sqlite"
    insert = staticmethod(insert)

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        event.listen(engine, "connect", _pragmas)

    @staticmethod
    def engine_options() -> dict[str, Any]:
        return {"connect_args": {"timeout": 15}}

    def _cast(self, ballot: BallotRequest) -> CastResult:
        with self.engine.connect() as connection:
            transaction = connection.begin()
            try:
                result = _cast(connection, ballot)
            except BaseException:
                transaction.rollback()
                raise
            if result.ballot_id is None:
                transaction.rollback()
            else:
                transaction.commit()
            return result

    def rebuild_counts(self, poll_ids: Iterable[int] | None = None) -> int:
        # The first delete takes the write lock: no vote lands until the rebuild commits.
        with self.engine.begin() as connection:
            return rebuild_from_ballots(connection, list(poll_ids) if poll_ids is not None else None,
                                        self.hour_expr)

    def hour_expr(self, column: Any) -> Any:
        return type_coerce(func.strftime(HOUR_FORMAT, column), UTCDateTime())

    def minute_expr(self, column: Any) -> Any:
        return type_coerce(func.strftime(MINUTE_FORMAT, column), UTCDateTime())

    def label_expr(self, column: Any) -> Any:
        return func.lower(func.hex(func.substr(column, 1, NETWORK_TAG_BYTES)))

    @contextlib.contextmanager
    def migration_lock(self) -> Iterator[None]:
        """A lock file beside the database (SQLite lives on one host by nature)."""
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(os.path.abspath(database) + ".migrate-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _cast(connection: Connection, ballot: BallotRequest) -> CastResult:
    """Ballot first (only if the poll takes it), then keys; counters and counts when all is in."""
    poll_id, now = ballot.poll_id, ballot.now
    accepting = exists().where(
        Poll.id == poll_id, Poll.state == "open", Poll.archived_at.is_(None),
        (Poll.opens_at.is_(None)) | (Poll.opens_at <= now), (Poll.closes_at.is_(None)) | (Poll.closes_at > now),
        Poll.dedup == ballot.dedup, Poll.max_choices >= len(ballot.option_ids),
    )
    signals = ballot.signals
    new_ballot = select(
        literal(poll_id), literal(now, Ballot.created_at.type), literal(signals.network_hash, Ballot.network_hash.type),
        literal(signals.token_network, Ballot.token_network.type), literal(signals.token_age, Ballot.token_age.type),
    ).where(accepting)
    columns = ["poll_id", "created_at", "network_hash", "token_network", "token_age"]
    ballot_id = connection.execute(insert(Ballot).from_select(columns, new_ballot).returning(Ballot.id)).scalar()
    if ballot_id is None:
        return CastResult(None, load_counts(connection, [poll_id])[poll_id], poll_state(connection, poll_id))
    keys = sorted(ballot.keys)
    inserted = connection.execute(
        insert(BallotKey).values([
            {"poll_id": poll_id, "kind": kind, "key_hash": key, "ballot_id": ballot_id} for kind, key in keys
        ]).on_conflict_do_nothing().returning(BallotKey.kind)
    ).scalars().all()
    if len(inserted) != len(keys):
        taken = frozenset(kind for kind, _ in keys) - frozenset(inserted)
        return CastResult(None, load_counts(connection, [poll_id])[poll_id], poll_state(connection, poll_id), taken)
    chosen = sorted(ballot.option_ids)
    connection.execute(insert(Selection), [{"ballot_id": ballot_id, "option_id": oid} for oid in chosen])
    _add_to_counters(connection, ballot, chosen)
    counts = load_counts(connection, [poll_id])[poll_id]
    return CastResult(int(ballot_id), counts, poll_state(connection, poll_id))


def _add_to_counters(connection: Connection, ballot: BallotRequest, chosen: list[int]) -> None:
    shard, now = random_shard(), ballot.now
    poll = insert(PollCounterShard).values(poll_id=ballot.poll_id, shard=shard, participants=1,
                                           total_votes=len(chosen), first_vote_at=now, last_vote_at=now)
    connection.execute(poll.on_conflict_do_update(
        index_elements=["poll_id", "shard"],
        set_={
            "participants": PollCounterShard.participants + 1,
            "total_votes": PollCounterShard.total_votes + poll.excluded.total_votes,
            # SQLite's two-argument min/max are NULL when either is: fall back to this vote's time.
            "first_vote_at": func.coalesce(func.min(PollCounterShard.first_vote_at, poll.excluded.first_vote_at),
                                           poll.excluded.first_vote_at),
            "last_vote_at": func.coalesce(func.max(PollCounterShard.last_vote_at, poll.excluded.last_vote_at),
                                          poll.excluded.last_vote_at),
        },
    ))
    hour = insert(PollHourlyCount).values(poll_id=ballot.poll_id, hour=ballot.hour, shard=shard, participants=1)
    connection.execute(hour.on_conflict_do_update(
        index_elements=["poll_id", "hour", "shard"], set_={"participants": PollHourlyCount.participants + 1}))
    options = insert(OptionCounterShard).values(
        [{"option_id": oid, "shard": shard, "poll_id": ballot.poll_id, "votes": 1} for oid in chosen])
    connection.execute(options.on_conflict_do_update(
        index_elements=["option_id", "shard"], set_={"votes": OptionCounterShard.votes + 1}))


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers, FULL sync so a 201 survives power loss, real foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
