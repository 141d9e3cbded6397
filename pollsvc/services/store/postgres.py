"""PostgreSQL: a vote is one autocommit statement (one round trip, durable when it returns)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, text, type_coerce
from sqlalchemy.dialects import postgresql

from pollsvc.identity import NETWORK_TAG_BYTES
from pollsvc.models import UTCDateTime
from pollsvc.services.readmodel import Counts
from pollsvc.services.store.base import (
    BallotRequest,
    CastResult,
    PollState,
    Store,
    random_shard,
    rebuild_from_ballots,
)
from pollsvc.services.store.pooler import PreparedStatements

MIGRATION_LOCK_ID = 0x706F6C6C  # "poll"


class PostgresStore(Store):
    dialect = "postgresql"
    insert = staticmethod(postgresql.insert)

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.prepared = PreparedStatements(engine)

    @staticmethod
    def engine_options() -> dict[str, Any]:
        # No pool_pre_ping: a dead connection is found by its first statement, which ``run``
        # retries once on a fresh one (and SQLAlchemy then recycles the rest of the pool).
        return {"pool_size": 5, "max_overflow": 5, "pool_timeout": 3, "pool_recycle": 1800,
                "connect_args": {"connect_timeout": 3, "application_name": "pollsvc"}}

    def _cast(self, ballot: BallotRequest) -> CastResult:
        keys = sorted(ballot.keys)
        chosen = sorted(ballot.option_ids)
        params = {
            "poll_id": ballot.poll_id, "now": ballot.now, "hour": ballot.hour, "shard": random_shard(),
            "dedup": ballot.dedup, "max_choices": ballot.max_choices,
            "kinds": [kind for kind, _ in keys], "hashes": [key for _, key in keys],
            "key_count": len(keys), "option_ids": chosen, "choices": len(chosen),
            "network_hash": ballot.signals.network_hash, "token_network": ballot.signals.token_network,
            "token_age": ballot.signals.token_age,
        }

        def cast(connection: Connection) -> Any:
            # The driver's own statement: no SQL compilation and no result typing per vote (a
            # third of the vote's Python time), with SQLAlchemy's error handling all the same.
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            return autocommit.exec_driver_sql(CAST_VOTE, params).one()

        row = self.run(cast)
        counts = Counts(int(row.participants), int(row.total_votes),
                        dict(zip(row.option_ids or [], (int(v) for v in row.votes or []), strict=True)),
                        utc(row.first_vote_at), utc(row.last_vote_at), int(row.voided))
        poll = None if row.state is None else PollState(row.state, utc(row.archived_at), utc(row.opens_at),
                                                        utc(row.closes_at), row.dedup, row.max_choices)
        if row.ballot_id is None:
            taken = frozenset(kind for kind, _ in keys) if row.accepting else frozenset()
            return CastResult(None, counts, poll, taken)
        return CastResult(int(row.ballot_id), counts.with_ballot(chosen, ballot.now), poll)

    def rebuild_counts(self, poll_ids: Iterable[int] | None = None) -> int:
        ids = list(poll_ids) if poll_ids is not None else None
        with self.engine.begin() as connection:
            # Votes wait while the counters are rebuilt: none is lost or counted twice.
            connection.exec_driver_sql("LOCK TABLE ballots, selections IN SHARE MODE")
            return rebuild_from_ballots(connection, ids, self.hour_expr)

    def hour_expr(self, column: Any) -> Any:
        return type_coerce(func.date_trunc("hour", column, "UTC"), UTCDateTime())

    def minute_expr(self, column: Any) -> Any:
        return type_coerce(func.date_trunc("minute", column, "UTC"), UTCDateTime())

    def label_expr(self, column: Any) -> Any:
        return func.encode(func.substring(column, 1, NETWORK_TAG_BYTES), "hex")

    @contextlib.contextmanager
    def migration_lock(self) -> Iterator[None]:
        """A session advisory lock: instances that start together migrate one at a time."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                connection.commit()


# One statement: the poll row decides whether it takes ballots at all (open now, and still the
# definition the caller validated against), then the keys go in (ON CONFLICT DO NOTHING), and
# the ballot, selections and counters only when every key went in. Key rows reference the ballot
# id taken from the sequence; foreign keys are checked at the end of the statement, so a ballot
# whose keys were only partly new fails whole. Counts are read in the same statement (its
# snapshot, before this ballot); the caller adds the ballot to them.
#
# A close committed before the statement starts is seen by it, so once a close has been
# answered no process accepts a vote; a vote whose statement began first is ordered before it.
CAST_VOTE = """
WITH poll AS (
    SELECT state, archived_at, opens_at, closes_at, dedup, max_choices FROM polls WHERE id = %(poll_id)s
), accepting AS (
    SELECT 1 FROM poll
    WHERE state = 'open' AND archived_at IS NULL
      AND (opens_at IS NULL OR opens_at <= %(now)s) AND (closes_at IS NULL OR closes_at > %(now)s)
      AND dedup = %(dedup)s AND max_choices >= %(choices)s
), new_ballot AS (
    SELECT nextval(pg_get_serial_sequence('ballots', 'id')) AS id FROM accepting
), new_keys AS (
    INSERT INTO ballot_keys (poll_id, kind, key_hash, ballot_id)
    SELECT %(poll_id)s, k.kind, k.key_hash, new_ballot.id
    FROM new_ballot, unnest(CAST(%(kinds)s AS varchar[]), CAST(%(hashes)s AS bytea[])) AS k(kind, key_hash)
    ON CONFLICT DO NOTHING
    RETURNING 1
), ballot AS (
    INSERT INTO ballots (id, poll_id, created_at, network_hash, token_network, token_age)
    SELECT id, %(poll_id)s, %(now)s, CAST(%(network_hash)s AS bytea), CAST(%(token_network)s AS varchar),
           CAST(%(token_age)s AS integer)
    FROM new_ballot WHERE (SELECT count(*) FROM new_keys) = %(key_count)s
    RETURNING id
), chosen AS (
    INSERT INTO selections (ballot_id, option_id)
    SELECT ballot.id, o.id FROM ballot, unnest(CAST(%(option_ids)s AS integer[])) AS o(id)
), poll_shard AS (
    INSERT INTO poll_counter_shards AS s (poll_id, shard, participants, total_votes, first_vote_at, last_vote_at)
    SELECT %(poll_id)s, %(shard)s, 1, %(choices)s, %(now)s, %(now)s FROM ballot
    ON CONFLICT (poll_id, shard) DO UPDATE
    SET participants = s.participants + 1, total_votes = s.total_votes + excluded.total_votes,
        first_vote_at = least(s.first_vote_at, excluded.first_vote_at),
        last_vote_at = greatest(s.last_vote_at, excluded.last_vote_at)
), hour_shard AS (
    INSERT INTO poll_hourly_counts AS h (poll_id, hour, shard, participants)
    SELECT %(poll_id)s, %(hour)s, %(shard)s, 1 FROM ballot
    ON CONFLICT (poll_id, hour, shard) DO UPDATE SET participants = h.participants + 1
), option_shards AS (
    INSERT INTO option_counter_shards AS s (option_id, shard, poll_id, votes)
    SELECT o.id, %(shard)s, %(poll_id)s, 1 FROM ballot, unnest(CAST(%(option_ids)s AS integer[])) AS o(id)
    ON CONFLICT (option_id, shard) DO UPDATE SET votes = s.votes + 1
), poll_sums AS (
    SELECT coalesce(sum(participants), 0) AS participants, coalesce(sum(total_votes), 0) AS total_votes,
           min(first_vote_at) AS first_vote_at, max(last_vote_at) AS last_vote_at,
           coalesce(sum(voided), 0) AS voided
    FROM poll_counter_shards WHERE poll_id = %(poll_id)s
), option_sums AS (
    SELECT option_id, sum(votes) AS votes FROM option_counter_shards WHERE poll_id = %(poll_id)s
    GROUP BY option_id
)
SELECT (SELECT id FROM ballot) AS ballot_id,
       EXISTS (SELECT 1 FROM accepting) AS accepting,
       poll.state, poll.archived_at, poll.opens_at, poll.closes_at, poll.dedup, poll.max_choices,
       poll_sums.participants, poll_sums.total_votes, poll_sums.first_vote_at, poll_sums.last_vote_at,
       poll_sums.voided,
       (SELECT array_agg(option_id ORDER BY option_id) FROM option_sums) AS option_ids,
       (SELECT array_agg(votes ORDER BY option_id) FROM option_sums) AS votes
FROM poll_sums LEFT JOIN poll ON true
"""


def utc(value: datetime | None) -> datetime | None:
    """psycopg gives timestamptz in the session's time zone; the read model keeps UTC."""
    return None if value is None else value.astimezone(UTC)
