"""Voiding ballots and restoring them, with the counters moved in the same transaction.

A void sets ``ballots.void_id`` on the chosen ballots of one poll and subtracts exactly what they
added (participants, selections, options, hours) on counter shard 0, and counts them as voided;
a restore adds them back. Votes keep adding to random shards meanwhile: sums stay exact. The
voters' keys are left alone, so a voided voter cannot vote again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from pollsvc.models import (
    AuditEvent,
    Ballot,
    OptionCounterShard,
    PollCounterShard,
    PollHourlyCount,
    Selection,
    Void,
)

HourExpr = Callable[[Any], Any]
Upsert = Callable[[Connection, Any, dict[str, Any], list[str], dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class VoidRecord:
    id: int
    poll_id: int
    network_hash: bytes | None
    """None once ``pollsvc purge`` has forgotten the poll's networks."""
    starts_at: datetime
    ends_at: datetime
    burst: str | None
    ballots: int
    created_at: datetime
    created_by: str | None
    restored_at: datetime | None
    restored_by: str | None


def void_ballots(connection: Connection, upsert: Upsert, hour_expr: HourExpr, *, poll_id: int,
                 network_hash: bytes, starts_at: datetime, ends_at: datetime, burst: str | None,
                 audit: dict[str, Any], now: datetime) -> VoidRecord | None:
    """Void the counted ballots of ``network_hash`` in [starts_at, ends_at); None when there are
    none. ``audit``: the audit event's columns, written in the same transaction (with the void's
    id and size added to its details)."""
    void_id = connection.execute(insert(Void).values(
        poll_id=poll_id, network_hash=network_hash, starts_at=starts_at, ends_at=ends_at, burst=burst,
        ballots=0, created_at=now, created_by=audit["api_key_name"],
    ).returning(Void.id)).scalar_one()
    marked = connection.execute(
        update(Ballot).where(Ballot.poll_id == poll_id, Ballot.void_id.is_(None), Ballot.network_hash == network_hash,
                             Ballot.created_at >= starts_at, Ballot.created_at < ends_at)
        .values(void_id=void_id)
    ).rowcount
    if not marked:
        connection.execute(Void.__table__.delete().where(Void.id == void_id))
        return None
    _apply_counts(connection, upsert, poll_id, _counts_of(connection, hour_expr, void_id), sign=-1)
    connection.execute(update(Void).where(Void.id == void_id).values(ballots=marked))
    _audit(connection, audit, void_id, marked)
    return load_void(connection, void_id)


def restore_void(connection: Connection, upsert: Upsert, hour_expr: HourExpr, *, poll_id: int, void_id: int,
                 audit: dict[str, Any], now: datetime) -> VoidRecord | None:
    """Count a void's ballots again; None when there is no such void of this poll, or it is restored.

    The void is marked restored first, by a conditional write: of two restores at once, only one
    finds it in force (the other waits for its lock, then finds nothing), so no ballot is counted
    twice. Then ballots, then counters: the order of ``void_ballots`` and of the counts rebuild.
    """
    restored = connection.execute(
        update(Void).where(Void.id == void_id, Void.poll_id == poll_id, Void.restored_at.is_(None))
        .values(restored_at=now, restored_by=audit["api_key_name"])
    ).rowcount
    if not restored:
        return None
    counts = _counts_of(connection, hour_expr, void_id)
    connection.execute(update(Ballot).where(Ballot.void_id == void_id).values(void_id=None))
    _apply_counts(connection, upsert, poll_id, counts, sign=+1)
    _audit(connection, audit, void_id, counts.participants)
    return load_void(connection, void_id)


def _audit(connection: Connection, audit: dict[str, Any], void_id: int, ballots: int) -> None:
    details = {**json.loads(audit["details"] or "{}"), "void_id": void_id, "ballots": ballots}
    connection.execute(insert(AuditEvent).values({**audit, "details": json.dumps(details, ensure_ascii=False)}))


def load_void(connection: Connection, void_id: int) -> VoidRecord | None:
    row = connection.execute(select(Void.__table__).where(Void.id == void_id)).one_or_none()
    return None if row is None else VoidRecord(**row._mapping)


def list_voids(connection: Connection, poll_id: int) -> list[VoidRecord]:
    rows = connection.execute(select(Void.__table__).where(Void.poll_id == poll_id).order_by(Void.id)).all()
    return [VoidRecord(**row._mapping) for row in rows]


@dataclass(frozen=True, slots=True)
class _VoidCounts:
    """What a void's ballots add to the counters."""

    participants: int
    per_option: list[tuple[int, int]]
    per_hour: list[tuple[datetime, int]]


def _counts_of(connection: Connection, hour_expr: HourExpr, void_id: int) -> _VoidCounts:
    participants = connection.execute(select(func.count()).select_from(Ballot).where(Ballot.void_id == void_id)
                                      ).scalar_one()
    ballots = select(Ballot.id).where(Ballot.void_id == void_id)
    per_option = connection.execute(
        select(Selection.option_id, func.count()).where(Selection.ballot_id.in_(ballots))
        .group_by(Selection.option_id)).all()
    hour = hour_expr(Ballot.created_at)
    per_hour = connection.execute(
        select(hour, func.count()).where(Ballot.void_id == void_id).group_by(hour)).all()
    return _VoidCounts(participants, [(o, n) for o, n in per_option], [(h, n) for h, n in per_hour])


def _apply_counts(connection: Connection, upsert: Upsert, poll_id: int, counts: _VoidCounts, sign: int) -> None:
    """Add (+1) or take away (-1) a void's counts, on shard 0."""
    participants = counts.participants
    selections = sum(n for _, n in counts.per_option)
    upsert(connection, PollCounterShard,
           {"poll_id": poll_id, "shard": 0, "participants": sign * participants, "total_votes": sign * selections,
            "voided": -sign * participants},
           ["poll_id", "shard"],
           {"participants": PollCounterShard.participants + sign * participants,
            "total_votes": PollCounterShard.total_votes + sign * selections,
            "voided": PollCounterShard.voided - sign * participants})
    for option_id, n in counts.per_option:
        upsert(connection, OptionCounterShard, {"option_id": option_id, "shard": 0, "poll_id": poll_id,
                                                "votes": sign * n},
               ["option_id", "shard"], {"votes": OptionCounterShard.votes + sign * n})
    for hour_start, n in counts.per_hour:
        upsert(connection, PollHourlyCount, {"poll_id": poll_id, "hour": hour_start, "shard": 0,
                                             "participants": sign * n},
               ["poll_id", "hour", "shard"], {"participants": PollHourlyCount.participants + sign * n})
    _refresh_first_and_last(connection, poll_id)


def _refresh_first_and_last(connection: Connection, poll_id: int) -> None:
    """The earliest and latest counted ballot go on shard 0; the other shards forget theirs (the
    next vote on a shard records its own time again). The shards are locked first (PostgreSQL), so
    a vote cannot record its time between the read and the write and lose it."""
    connection.execute(select(PollCounterShard.shard).where(PollCounterShard.poll_id == poll_id)
                       .with_for_update()).all()
    first, last = connection.execute(
        select(func.min(Ballot.created_at), func.max(Ballot.created_at))
        .where(Ballot.poll_id == poll_id, Ballot.void_id.is_(None))).one()
    connection.execute(update(PollCounterShard).where(PollCounterShard.poll_id == poll_id)
                       .values(first_vote_at=None, last_vote_at=None))
    connection.execute(update(PollCounterShard).where(PollCounterShard.poll_id == poll_id,
                                                      PollCounterShard.shard == 0)
                       .values(first_vote_at=first, last_vote_at=last))
