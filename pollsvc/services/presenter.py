"""Poll objects as the contract shows them: public (per identity) and admin."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pollsvc.models import Poll
from pollsvc.services.counts import PollCounts


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


def results_visible(visibility: str, status: str, has_voted: bool) -> bool:
    if visibility == "always":
        return True
    if visibility == "after_vote":
        return has_voted or status == "closed"
    if visibility == "after_close":
        return status == "closed"
    return False


def poll_dict(poll: Poll, counts: PollCounts, status: str, *, has_voted: bool, admin: bool = False) -> dict[str, Any]:
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
    }
    if admin:
        body.update({
            "dedup": poll.dedup,
            "created_at": iso(poll.created_at),
            "updated_at": iso(poll.updated_at),
            "total_votes": counts.total_votes,
        })
    return body
