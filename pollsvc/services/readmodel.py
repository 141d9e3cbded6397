"""The poll as every reader sees it: one read model (``PollView``) and one serialiser (``poll_body``).

The widget, the public API, votes and the admin API all show a poll through these. The output
schemas in ``pollsvc.schemas`` document exactly the dicts ``poll_body`` makes (a test keeps them
equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from pollsvc.schemas import ADMIN_VIEW, PUBLIC_VIEW


@dataclass(frozen=True, slots=True)
class Counts:
    """A poll's counts, summed from its counter shards (exact: kept in each vote's own write)."""

    participants: int = 0
    total_votes: int = 0
    option_votes: Mapping[int, int] = field(default_factory=dict)
    first_vote_at: datetime | None = None
    last_vote_at: datetime | None = None
    voided: int = 0
    """Ballots set aside by an admin: stored, not in the other counts."""

    def with_ballot(self, option_ids: Iterable[int], at: datetime) -> Counts:
        """These counts plus one ballot for ``option_ids`` cast at ``at``."""
        option_votes = dict(self.option_votes)
        chosen = list(option_ids)
        for option_id in chosen:
            option_votes[option_id] = option_votes.get(option_id, 0) + 1
        return Counts(self.participants + 1, self.total_votes + len(chosen), option_votes,
                      self.first_vote_at or at, max(self.last_vote_at or at, at), self.voided)


@dataclass(frozen=True, slots=True)
class OptionView:
    id: int
    label: str


class Schedule(Protocol):
    """What a poll's status depends on (a ``PollView`` or the ORM ``Poll``)."""

    @property
    def state(self) -> str: ...
    @property
    def archived_at(self) -> datetime | None: ...
    @property
    def opens_at(self) -> datetime | None: ...
    @property
    def closes_at(self) -> datetime | None: ...


def poll_status(poll: Schedule, now: datetime) -> str:
    """The output status: ``archived``, ``draft``, ``closed``, ``scheduled`` or ``open``."""
    if poll.archived_at is not None:
        return "archived"
    if poll.state == "draft":
        return "draft"
    if poll.state == "closed" or (poll.closes_at is not None and poll.closes_at <= now):
        return "closed"
    if poll.opens_at is not None and poll.opens_at > now:
        return "scheduled"
    return "open"


PUBLIC_STATUSES = ("open", "closed")
"""The statuses a reader may see; the others are 404 for the public."""


@dataclass(frozen=True, slots=True)
class PollView:
    """A poll's definition and counts, detached from any database session."""

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
    options: tuple[OptionView, ...]
    counts: Counts

    def status(self, now: datetime) -> str:
        return poll_status(self, now)

    def with_counts(self, counts: Counts) -> PollView:
        return replace(self, counts=counts)

    def option_ids(self) -> set[int]:
        return {option.id for option in self.options}


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def percent(votes: int, participants: int) -> float:
    """votes / participants x 100, rounded half up to one decimal; 0.0 when nobody voted."""
    if participants <= 0:
        return 0.0
    exact = Decimal(votes) * 100 / Decimal(participants)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def engagement_rate(participants: int, views: int) -> float | None:
    """participants / views x 100, rounded half up to one decimal like ``percent``; None without views.

    It may pass 100: ballots cast without a counted view (an API client, a page that closed within
    the second), and views reach SQL in batches a few seconds after the votes."""
    return percent(participants, views) if views > 0 else None


def engagement(participants: int, views: int) -> dict[str, Any]:
    """The ``views`` and ``engagement_rate`` fields of results, reports and the admin poll list."""
    return {"views": views, "engagement_rate": engagement_rate(participants, views)}


def results_visible(visibility: str, status: str, has_voted: bool) -> bool:
    if visibility == "always":
        return True
    if visibility == "after_vote":
        return has_voted or status == "closed"
    if visibility == "after_close":
        return status == "closed"
    return False


def poll_body(poll: PollView, status: str, *, has_voted: bool, admin: bool = False) -> dict[str, Any]:
    """The poll object of the contract: public (for one identity) or, with ``admin``, the admin view."""
    counts = poll.counts
    visible = admin or results_visible(poll.results_visibility, status, has_voted)
    participants = counts.participants
    options = []
    for option in poll.options:
        votes = counts.option_votes.get(option.id, 0)
        options.append({
            "id": option.id,
            "label": option.label,
            "votes": votes if visible else None,
            "percent": percent(votes, participants) if visible else None,
        })
    body: dict[str, Any] = {
        "view": ADMIN_VIEW if admin else PUBLIC_VIEW,  # the discriminator of the documented oneOf
        "id": poll.id,
        "article_id": poll.article_id,
        "question": poll.question,
        "description": poll.description,
        "max_choices": poll.max_choices,
        "status": status,
        "opens_at": iso(poll.opens_at),
        "closes_at": iso(poll.closes_at),
        "results_visibility": poll.results_visibility,
        "results_visible": visible,
        "participants": participants,
        "has_voted": has_voted,
        "options": options,
        "voter_pass": None,  # set by the reader for a voter (it holds the secret)
    }
    if admin:
        body.update({
            "dedup": poll.dedup,
            "created_at": iso(poll.created_at),
            "updated_at": iso(poll.updated_at),
            "total_votes": counts.total_votes,
        })
    return body


def results_body(poll: PollView, views: int) -> dict[str, Any]:
    """``GET /polls/{id}/results``: counts whatever the visibility, first and last vote, and the
    poll's ``views`` (read apart from the ``PollView``: the public reads never need them)."""
    counts = poll.counts
    return {
        "poll_id": poll.id,
        "participants": counts.participants,
        "total_votes": counts.total_votes,
        "voided": counts.voided,
        **engagement(counts.participants, views),
        "options": [
            {
                "id": option.id,
                "label": option.label,
                "votes": counts.option_votes.get(option.id, 0),
                "percent": percent(counts.option_votes.get(option.id, 0), counts.participants),
            }
            for option in poll.options
        ],
        "first_vote_at": iso(counts.first_vote_at),
        "last_vote_at": iso(counts.last_vote_at),
    }
