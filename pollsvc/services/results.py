"""Results for API keys: counts, first/last vote, participants over time, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from pollsvc.models import Ballot, Poll
from pollsvc.services import DbSession
from pollsvc.services.counts import load_counts
from pollsvc.services.presenter import iso, percent

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def results(session: DbSession, poll: Poll) -> dict[str, Any]:
    counts = load_counts(session, [poll.id])[poll.id]
    first, last = session.execute(
        select(func.min(Ballot.created_at), func.max(Ballot.created_at)).where(Ballot.poll_id == poll.id)
    ).one()
    return {
        "poll_id": poll.id,
        "participants": counts.participants,
        "total_votes": counts.total_votes,
        "options": [
            {
                "id": option.id,
                "label": option.label,
                "votes": counts.option_votes.get(option.id, 0),
                "percent": percent(counts.option_votes.get(option.id, 0), counts.participants),
            }
            for option in poll.options
        ],
        "first_vote_at": iso(_aware(first)),
        "last_vote_at": iso(_aware(last)),
    }


def _aware(value: datetime | str | None) -> datetime | None:
    """MIN/MAX over SQLite come back as text or naive datetimes: make them aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bucket_expression(session: DbSession, interval: str) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(interval, func.timezone("UTC", Ballot.created_at))
    pattern = "%Y-%m-%d %H:00:00" if interval == "hour" else "%Y-%m-%d 00:00:00"
    return func.strftime(pattern, Ballot.created_at)


def timeseries(session: DbSession, poll: Poll, interval: str) -> dict[str, Any]:
    """Participants per UTC hour or day, contiguous from the first ballot's bucket to the last's."""
    bucket = _bucket_expression(session, interval).label("bucket")
    rows = session.execute(
        select(bucket, func.count()).where(Ballot.poll_id == poll.id).group_by(bucket).order_by(bucket)
    ).all()
    counted = {_aware(start): n for start, n in rows}
    buckets: list[dict[str, Any]] = []
    if counted:
        step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
        start, end = min(counted), max(counted)  # type: ignore[type-var]
        while start is not None and end is not None and start <= end:
            buckets.append({"start": iso(start), "participants": counted.get(start, 0)})
            start += step
    return {"poll_id": poll.id, "interval": interval, "buckets": buckets}


def _safe_cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def results_csv(session: DbSession, poll: Poll) -> str:
    """UTF-8 with BOM, CRLF, header row; cells that a spreadsheet would run as formulas neutralised."""
    data = results(session, poll)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["option_id", "label", "votes", "percent"])
    for option in data["options"]:
        writer.writerow([_safe_cell(option[k]) for k in ("id", "label", "votes", "percent")])
    return "\ufeff" + buffer.getvalue()
