"""The tables. Ballots are the truth; the counter shards are a fast, rebuildable sum of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pollsvc.extensions import db

# SQLite knows only INTEGER PRIMARY KEY as an auto-increment rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

COUNTER_SHARDS = 16
"""Counter rows per poll: a hot poll's votes spread their row locks over this many rows."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (naive storage) as on PostgreSQL (timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Poll(db.Model):  # type: ignore[name-defined]
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(128), nullable=False)
    question: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    max_choices: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    results_visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="after_vote")
    dedup: Mapped[str] = mapped_column(String(16), nullable=False, default="token")
    state: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    options: Mapped[list[Option]] = relationship(
        back_populates="poll", order_by="Option.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_polls_article_id_id", "article_id", "id"),
        Index("ix_polls_created_at", "created_at"),
        {"sqlite_autoincrement": True},  # ids are never reused, on SQLite as on PostgreSQL
    )


class Option(db.Model):  # type: ignore[name-defined]
    __tablename__ = "options"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)

    poll: Mapped[Poll] = relationship(back_populates="options")

    __table_args__ = (Index("ix_options_poll_id", "poll_id", "position"), {"sqlite_autoincrement": True})


class Ballot(db.Model):  # type: ignore[name-defined]
    """One accepted vote of one person, with the signals the integrity report reads.

    ``network_hash`` is a keyed hash of the voter's /24 or /48 (never the address; ``pollsvc
    purge`` clears it with the IP keys); ``token_network`` the label of the network that minted
    the voter token, and ``token_age`` its age in seconds at the vote. A voided ballot
    (``void_id``) is kept but not counted.
    """

    __tablename__ = "ballots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    network_hash: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    token_network: Mapped[str | None] = mapped_column(String(12))
    token_age: Mapped[int | None] = mapped_column(Integer)
    void_id: Mapped[int | None] = mapped_column(ForeignKey("voids.id"))

    __table_args__ = (
        Index("ix_ballots_poll_id_created_at", "poll_id", "created_at"),
        Index("ix_ballots_poll_id_network", "poll_id", "network_hash", "created_at"),
        {"sqlite_autoincrement": True},
    )


class Void(db.Model):  # type: ignore[name-defined]
    """Ballots of one poll set aside by an admin (by network and time window), until restored."""

    __tablename__ = "voids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), nullable=False)
    network_hash: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    """The voided network's keyed hash; forgotten with the ballots' by ``pollsvc purge``."""
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    burst: Mapped[str | None] = mapped_column(String(64))
    ballots: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(200))
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restored_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_voids_poll_id", "poll_id", "id"), {"sqlite_autoincrement": True})


class SpentChallenge(db.Model):  # type: ignore[name-defined]
    """A redeemed proof-of-work challenge (its signature's digest), kept until it expires."""

    __tablename__ = "spent_challenges"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class TokenMint(db.Model):  # type: ignore[name-defined]
    """Voter tokens minted per network (keyed hash) and UTC hour, for the integrity report."""

    __tablename__ = "token_mints"

    network_hash: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class PollHourlyView(db.Model):  # type: ignore[name-defined]
    """Viewable impressions of a poll per UTC hour, written in batches from the views buffer."""

    __tablename__ = "poll_hourly_views"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class ViewBatch(db.Model):  # type: ignore[name-defined]
    """A flushed batch of buffered views, by id: written in the same transaction as its counts, so
    a batch whose flush is retried (a crash between the commit and dropping the buffer) is skipped."""

    __tablename__ = "view_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flushed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class BallotKey(db.Model):  # type: ignore[name-defined]
    """One identity dimension of a ballot; the primary key is the dedup arbiter.

    ``kind`` is ``token``, ``ip`` or ``user``; ``key_hash`` is an HMAC of the identity, never the
    identity itself. ``pollsvc purge`` deletes the ``ip`` keys of long-closed polls.
    """

    __tablename__ = "ballot_keys"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), nullable=False, index=True
    )


class Selection(db.Model):  # type: ignore[name-defined]
    __tablename__ = "selections"

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    # No cascade: an option that has votes cannot be deleted, so replacing the options of a
    # poll races safely with a vote in flight (the database refuses one of the two).
    option_id: Mapped[int] = mapped_column(ForeignKey("options.id"), primary_key=True)

    __table_args__ = (Index("ix_selections_option_id", "option_id"),)


class PollCounterShard(db.Model):  # type: ignore[name-defined]
    """Part of a poll's participant and selection counts; the sum over shards is the count, and
    the earliest ``first_vote_at`` and latest ``last_vote_at`` over shards are the poll's.
    ``voided``: ballots set aside (not in the other counts)."""

    __tablename__ = "poll_counter_shards"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    participants: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    total_votes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    first_vote_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_vote_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class PollHourlyCount(db.Model):  # type: ignore[name-defined]
    """Participants per poll and UTC hour, sharded like the counters: the timeseries sums these
    rows (at most ``COUNTER_SHARDS`` per hour the poll took votes), never the ballots."""

    __tablename__ = "poll_hourly_counts"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    participants: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class OptionCounterShard(db.Model):  # type: ignore[name-defined]
    __tablename__ = "option_counter_shards"

    option_id: Mapped[int] = mapped_column(ForeignKey("options.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), nullable=False, index=True
    )
    votes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class ApiKey(db.Model):  # type: ignore[name-defined]
    """An API key: only its SHA-256 is stored; ``prefix`` finds the row, the hash is compared."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """Who did what to which poll, for admins."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    api_key_name: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    poll_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_audit_events_poll_id", "poll_id", "id"),)
