"""Results for API keys: counts, first/last vote, participants and views over time, CSV.

All of it comes from the counter rows (poll and option shards, participants and views per hour),
so a poll with a million ballots answers as fast as one with a thousand.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from pollsvc.services.readmodel import PollView, iso, results_body
from pollsvc.services.store import Store

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 2000
"""At most this many buckets, the latest: 83 days of hours, 5 years of days."""


def _bucket_start(hour: datetime, interval: str) -> datetime:
    return hour if interval == "hour" else hour.replace(hour=0)


def timeseries(store: Store, poll_id: int, interval: str) -> dict[str, Any]:
    """Participants and views per UTC hour or day, contiguous from the first bucket that has either
    to the last."""
    counted: dict[datetime, dict[str, int]] = {}
    for field, hours in (("participants", store.hourly_participants(poll_id)), ("views", store.hourly_views(poll_id))):
        for hour, n in hours:
            bucket = counted.setdefault(_bucket_start(hour, interval), {"participants": 0, "views": 0})
            bucket[field] += n
    buckets: list[dict[str, Any]] = []
    if counted:
        end = max(counted)
        # a closed poll's page is read (and viewed) for years: the span is bounded, latest kept
        start = max(min(counted), end - (MAX_BUCKETS - 1) * STEPS[interval])
        while start <= end:
            buckets.append({"start": iso(start), **counted.get(start, {"participants": 0, "views": 0})})
            start += STEPS[interval]
    return {"poll_id": poll_id, "interval": interval, "buckets": buckets}


def _safe_cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def results_csv(poll: PollView, views: int) -> str:
    """UTF-8 with BOM, CRLF, header row; cells that a spreadsheet would run as formulas neutralised.
    After the options: a row ``voided`` when an admin voided ballots, then ``views`` and
    ``engagement_rate`` (its cell empty without views)."""
    data = results_body(poll, views)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["option_id", "label", "votes", "percent"])
    for option in data["options"]:
        writer.writerow([_safe_cell(option[k]) for k in ("id", "label", "votes", "percent")])
    if data["voided"]:  # ballots set aside, not in the counts above
        writer.writerow(["voided", "Voided ballots (not counted)", data["voided"], ""])
    writer.writerow(["views", "Views (viewable impressions)", data["views"], ""])
    rate = data["engagement_rate"]
    writer.writerow(["engagement_rate", "Engagement rate (participants / views)", "", "" if rate is None else rate])
    return "\ufeff" + buffer.getvalue()
