"""Short-lived, per-process snapshots of polls and their counts for the public read and vote paths.

Every article view reads the widget, so the poll row, its options and its counter sums are kept
for ``ttl`` seconds (one by default). A write in this process drops the entry at once; other
processes see it when their entry expires, within the ttl. Status is never cached: it is computed
from the snapshot's schedule and the clock on every request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pollsvc.models import Poll
from pollsvc.services import DbSession
from pollsvc.services.counts import PollCounts, load_counts

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class OptionSnapshot:
    id: int
    label: str


@dataclass(frozen=True)
class PollSnapshot:
    """The fields of a ``Poll`` that reads need, detached from any session."""

    id: int
    article_id: str
    question: str
    description: str | None
    max_choices: int
    opens_at: datetime | None
    closes_at: datetime | None
    results_visibility: str
    dedup: str
    state: str
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    options: tuple[OptionSnapshot, ...]
    counts: PollCounts

    @classmethod
    def of(cls, poll: Poll, counts: PollCounts) -> PollSnapshot:
        return cls(
            id=poll.id, article_id=poll.article_id, question=poll.question, description=poll.description,
            max_choices=poll.max_choices, opens_at=poll.opens_at, closes_at=poll.closes_at,
            results_visibility=poll.results_visibility, dedup=poll.dedup, state=poll.state,
            archived_at=poll.archived_at, created_at=poll.created_at, updated_at=poll.updated_at,
            options=tuple(OptionSnapshot(o.id, o.label) for o in poll.options), counts=counts,
        )


@dataclass(frozen=True)
class RenderedBody:
    """A serialised identity-free response and its ETag, valid while ``parts`` are unchanged.

    ``parts`` holds the snapshots and statuses it was made from (the same objects, or equal ones):
    a snapshot with new counts or a status that moved with the clock means a new rendering.
    """

    parts: tuple[object, ...]
    data: bytes
    etag: str


class SnapshotCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._polls: dict[int, tuple[float, PollSnapshot | None]] = {}
        self._articles: dict[str, tuple[float, tuple[int, ...]]] = {}
        self._bodies: dict[tuple[str, object], RenderedBody] = {}
        self._lock = threading.Lock()

    def polls(self, session: DbSession, poll_ids: Iterable[int]) -> dict[int, PollSnapshot]:
        """Snapshots of the polls that exist among ``poll_ids``, loading the missing in one batch."""
        now = time.monotonic()
        found: dict[int, PollSnapshot] = {}
        missing: list[int] = []
        for poll_id in poll_ids:
            entry = self._polls.get(poll_id)
            if entry is not None and entry[0] > now:
                if entry[1] is not None:
                    found[poll_id] = entry[1]
            else:
                missing.append(poll_id)
        if missing:
            loaded = _load(session, missing)
            expires = now + self.ttl
            with self._lock:
                self._trim()
                for poll_id in missing:
                    self._polls[poll_id] = (expires, loaded.get(poll_id))
            found.update(loaded)
        return found

    def poll(self, session: DbSession, poll_id: int) -> PollSnapshot | None:
        return self.polls(session, [poll_id]).get(poll_id)

    def article_poll_ids(self, session: DbSession, article_id: str) -> tuple[int, ...]:
        """Ids of the article's published, unarchived polls (the caller checks their status)."""
        clock = time.monotonic()
        entry = self._articles.get(article_id)
        if entry is not None and entry[0] > clock:
            return entry[1]
        # Scheduled polls are included: the caller shows them once they open.
        ids = tuple(session.scalars(
            select(Poll.id)
            .where(Poll.article_id == article_id, Poll.archived_at.is_(None), Poll.state != "draft")
            .order_by(Poll.id)
        ).all())
        with self._lock:
            self._trim()
            self._articles[article_id] = (clock + self.ttl, ids)
        return ids

    def offer_counts(self, snapshot: PollSnapshot, counts: PollCounts) -> PollSnapshot:
        """The snapshot with the exact counts a vote returned; kept unless the cache has higher ones.

        The entry keeps its expiry, so a stream of votes never stops the poll's definition from
        being reloaded within the ttl.
        """
        fresh = replace(snapshot, counts=counts)
        with self._lock:
            entry = self._polls.get(snapshot.id)
            now = time.monotonic()
            if entry is None or entry[1] is None or entry[0] <= now:
                self._polls[snapshot.id] = (now + self.ttl, fresh)
            elif entry[1].counts.participants <= counts.participants:
                self._polls[snapshot.id] = (entry[0], replace(entry[1], counts=counts))
        return fresh

    def rendered(self, key: tuple[str, object], parts: tuple[object, ...]) -> RenderedBody | None:
        """The body rendered earlier for ``key`` from exactly these snapshot objects and statuses."""
        entry = self._bodies.get(key)
        if entry is not None and len(entry.parts) == len(parts) and all(
            a is b or a == b for a, b in zip(entry.parts, parts, strict=True)
        ):
            return entry
        return None

    def keep_rendered(self, key: tuple[str, object], body: RenderedBody) -> None:
        with self._lock:
            if len(self._bodies) > MAX_ENTRIES:
                self._bodies.clear()
            self._bodies[key] = body

    def forget(self, poll_id: int | None = None, *article_ids: str) -> None:
        with self._lock:
            if poll_id is not None:
                self._polls.pop(poll_id, None)
            for article_id in article_ids:
                self._articles.pop(article_id, None)

    def _trim(self) -> None:
        if len(self._polls) > MAX_ENTRIES:
            self._polls.clear()
        if len(self._articles) > MAX_ENTRIES:
            self._articles.clear()


def _load(session: DbSession, poll_ids: list[int]) -> dict[int, PollSnapshot]:
    polls = session.scalars(select(Poll).where(Poll.id.in_(poll_ids)).options(selectinload(Poll.options))).all()
    counts = load_counts(session, [p.id for p in polls])
    return {p.id: PollSnapshot.of(p, counts[p.id]) for p in polls}
