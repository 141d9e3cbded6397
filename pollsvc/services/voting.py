"""Casting a ballot: the database's unique key on (poll, kind, key hash) is the only dedup arbiter."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, text, tuple_
from sqlalchemy.exc import IntegrityError

from pollsvc.errors import ApiError
from pollsvc.extensions import db
from pollsvc.models import COUNTER_SHARDS, Ballot, BallotKey, Poll, Selection, UTCDateTime
from pollsvc.services import DbSession
from pollsvc.services.counts import PollCounts, add_ballot_to_counters, load_counts

BallotKeys = Sequence[tuple[str, bytes]]


class AlreadyVoted(Exception):
    """The unique constraint refused one of the ballot's keys; ``counts`` as the refusal saw them."""

    def __init__(self, counts: PollCounts | None = None) -> None:
        super().__init__("already voted")
        self.counts = counts


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


@dataclass(frozen=True)
class CastResult:
    """What a vote did: the new ballot's id (None when a key was taken) and the poll's counts.

    With a ballot, ``counts`` include it; without, they are the counts the refusal saw.
    """

    ballot_id: int | None
    counts: PollCounts


def cast_ballot(session: DbSession, poll_id: int, option_ids: list[int], keys: BallotKeys,
                now: datetime) -> CastResult:
    """Store one ballot, its keys, selections and counts atomically, and return the counts.

    Raises ``AlreadyVoted`` (nothing written) when any key already has a ballot in this poll.
    PostgreSQL does it in one autocommit statement (one round trip, durable when it returns);
    other databases in one transaction.
    """
    try:
        if session.get_bind().dialect.name == "postgresql":
            result = _cast_in_one_statement(poll_id, option_ids, keys, now)
        else:
            result = _cast_in_transaction(session, poll_id, option_ids, keys, now)
    except IntegrityError:
        # A foreign key refused the statement: some keys were new and some taken (token_and_ip),
        # or the poll's options were replaced while this ballot was in flight.
        session.rollback()
        if voted_polls(session, {poll_id: keys}):
            raise AlreadyVoted() from None
        raise ApiError("invalid_selection", "The poll's options changed; reload and vote again.") from None
    if result.ballot_id is None:
        raise AlreadyVoted(result.counts)
    return result


def _cast_in_one_statement(poll_id: int, option_ids: list[int], keys: BallotKeys, now: datetime) -> CastResult:
    """One statement, autocommit: the keys go in first (``ON CONFLICT DO NOTHING``); the ballot,
    selections and counter shards only when every key went in. Key rows reference the ballot id
    taken from the sequence; foreign keys are checked at the end of the statement, so a ballot
    whose keys were only partly new fails whole. The counts are read in the same statement (its
    snapshot, before this ballot), and the ballot is added to them here."""
    ordered_keys = sorted(keys)
    chosen = sorted(option_ids)
    params = {
        "poll_id": poll_id, "now": now, "shard": random.randrange(COUNTER_SHARDS),
        "kinds": [kind for kind, _ in ordered_keys], "hashes": [key_hash for _, key_hash in ordered_keys],
        "key_count": len(ordered_keys), "option_ids": chosen, "choices": len(chosen),
    }
    with db.engine.connect() as connection:
        row = connection.execution_options(isolation_level="AUTOCOMMIT").execute(CAST_VOTE, params).one()
    counts = PollCounts(int(row.participants), int(row.total_votes),
                        dict(zip(row.option_ids or [], (int(v) for v in row.votes or []), strict=True)))
    if row.ballot_id is None:
        return CastResult(None, counts)
    return CastResult(int(row.ballot_id), counts_with_ballot(counts, chosen))


def _cast_in_transaction(session: DbSession, poll_id: int, option_ids: list[int], keys: BallotKeys,
                         now: datetime) -> CastResult:
    """Ballot, keys, selections and counters, then the counts read inside the same transaction."""
    ballot_id = session.execute(
        insert(Ballot).values(poll_id=poll_id, created_at=now).returning(Ballot.id)
    ).scalar_one()
    session.execute(insert(BallotKey), [
        {"poll_id": poll_id, "kind": kind, "key_hash": key_hash, "ballot_id": ballot_id}
        for kind, key_hash in sorted(keys)
    ])
    session.execute(insert(Selection), [{"ballot_id": ballot_id, "option_id": oid} for oid in option_ids])
    add_ballot_to_counters(session, poll_id, option_ids)
    counts = load_counts(session, [poll_id])[poll_id]
    session.commit()
    return CastResult(int(ballot_id), counts)


def counts_with_ballot(counts: PollCounts, option_ids: list[int]) -> PollCounts:
    option_votes = dict(counts.option_votes)
    for option_id in option_ids:
        option_votes[option_id] = option_votes.get(option_id, 0) + 1
    return PollCounts(counts.participants + 1, counts.total_votes + len(option_ids), option_votes)


CAST_VOTE = text("""
WITH new_ballot AS (
    SELECT nextval(pg_get_serial_sequence('ballots', 'id')) AS id
), new_keys AS (
    INSERT INTO ballot_keys (poll_id, kind, key_hash, ballot_id)
    SELECT :poll_id, k.kind, k.key_hash, new_ballot.id
    FROM new_ballot, unnest(CAST(:kinds AS varchar[]), CAST(:hashes AS bytea[])) AS k(kind, key_hash)
    ON CONFLICT DO NOTHING
    RETURNING 1
), ballot AS (
    INSERT INTO ballots (id, poll_id, created_at)
    SELECT id, :poll_id, :now FROM new_ballot WHERE (SELECT count(*) FROM new_keys) = :key_count
    RETURNING id
), chosen AS (
    INSERT INTO selections (ballot_id, option_id)
    SELECT ballot.id, o.id FROM ballot, unnest(CAST(:option_ids AS integer[])) AS o(id)
), poll_shard AS (
    INSERT INTO poll_counter_shards AS s (poll_id, shard, participants, total_votes)
    SELECT :poll_id, :shard, 1, :choices FROM ballot
    ON CONFLICT (poll_id, shard) DO UPDATE
    SET participants = s.participants + 1, total_votes = s.total_votes + excluded.total_votes
), option_shards AS (
    INSERT INTO option_counter_shards AS s (option_id, shard, poll_id, votes)
    SELECT o.id, :shard, :poll_id, 1 FROM ballot, unnest(CAST(:option_ids AS integer[])) AS o(id)
    ON CONFLICT (option_id, shard) DO UPDATE SET votes = s.votes + 1
), option_sums AS (
    SELECT option_id, sum(votes) AS votes FROM option_counter_shards WHERE poll_id = :poll_id
    GROUP BY option_id
)
SELECT (SELECT id FROM ballot) AS ballot_id,
       (SELECT coalesce(sum(participants), 0) FROM poll_counter_shards WHERE poll_id = :poll_id)
           AS participants,
       (SELECT coalesce(sum(total_votes), 0) FROM poll_counter_shards WHERE poll_id = :poll_id)
           AS total_votes,
       (SELECT array_agg(option_id ORDER BY option_id) FROM option_sums) AS option_ids,
       (SELECT array_agg(votes ORDER BY option_id) FROM option_sums) AS votes
""").bindparams(bindparam("now", type_=UTCDateTime()))


def voted_polls(session: DbSession, keys_by_poll: Mapping[int, BallotKeys]) -> set[int]:
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
