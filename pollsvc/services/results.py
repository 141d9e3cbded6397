"""Results for API keys: counts, first/last vote, participants over time, CSV.

All of it comes from the counter rows (poll and option shards, participants per hour), so a
poll with a million ballots answers as fast as one with a thousand.
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


def _bucket_start(hour: datetime, interval: str) -> datetime:
    return hour if interval == "hour" else hour.replace(hour=0)


def timeseries(store: Store, poll_id: int, interval: str) -> dict[str, Any]:
    """Participants per UTC hour or day, contiguous from the first ballot's bucket to the last's."""
    counted: dict[datetime, int] = {}
    for hour, participants in store.hourly_participants(poll_id):
        start = _bucket_start(hour, interval)
        counted[start] = counted.get(start, 0) + participants
    buckets: list[dict[str, Any]] = []
    if counted:
        start, end = min(counted), max(counted)
        while start <= end:
            buckets.append({"start": iso(start), "participants": counted.get(start, 0)})
            start += STEPS[interval]
    return {"poll_id": poll_id, "interval": interval, "buckets": buckets}


def _safe_cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def results_csv(poll: PollView) -> str:
    """UTF-8 with BOM, CRLF, header row; cells that a spreadsheet would run as formulas neutralised;
    a last row ``voided`` when an admin voided ballots."""
    data = results_body(poll)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["option_id", "label", "votes", "percent"])
    for option in data["options"]:
        writer.writerow([_safe_cell(option[k]) for k in ("id", "label", "votes", "percent")])
    if data["voided"]:  # a last row, after the options: ballots set aside, not in the counts above
        writer.writerow(["voided", "Voided ballots (not counted)", data["voided"], ""])
    return "\ufeff" + buffer.getvalue()
