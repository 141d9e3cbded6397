"""Voiding ballots of a poll (a burst of the integrity report, or a network and time window) and
restoring them; the poll's cached view is dropped once the change commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pollsvc.errors import ApiError, validation_error
from pollsvc.identity import network_label
from pollsvc.models import ApiKey
from pollsvc.services import audit
from pollsvc.services.integrity import integrity_report
from pollsvc.services.readmodel import PollView, iso
from pollsvc.services.reads import PollCache
from pollsvc.services.store import Store, VoidRecord


def void(store: Store, cache: PollCache, poll: PollView, request: dict[str, Any], actor: ApiKey | None,
         now: datetime) -> VoidRecord:
    """Void what ``request`` names: ``{"burst": id}``, or ``{"network": label, "from": ts, "to": ts}``."""
    burst = request.get("burst")
    if burst is not None:
        found = next((b for b in integrity_report(store, poll.id, now)["bursts"] if b["id"] == burst), None)
        if found is None or found["network"] is None:
            raise validation_error({"burst": ["No such network burst in this poll's integrity report."]})
        label = found["network"]
        starts_at, ends_at = datetime.fromisoformat(found["start"]), datetime.fromisoformat(found["end"])
    else:
        label, starts_at = request["network"], request["from_"]
        ends_at = request.get("to") or now + timedelta(seconds=1)
        if ends_at <= starts_at:
            raise validation_error({"to": ["Must be after from."]})
    network = store.network_by_label(poll.id, label)
    if network is None:
        raise validation_error({"network": ["No ballot of this poll came from that network."]})
    details = {"network": label, "from": iso(starts_at), "to": iso(ends_at), "burst": burst}
    record = store.void_ballots(poll_id=poll.id, network_hash=network, starts_at=starts_at, ends_at=ends_at,
                                burst=burst, audit=audit.event_row(actor, "void", poll.id, details, now), now=now)
    if record is None:
        raise ApiError("validation_error", "No counted ballot of that network in that time window.",
                       errors={"network": ["Nothing to void: no counted ballot matches."]})
    cache.forget(poll.id, poll.article_id)
    return record


def restore(store: Store, cache: PollCache, poll: PollView, void_id: int, actor: ApiKey | None,
            now: datetime) -> VoidRecord:
    record = store.restore_void(poll_id=poll.id, void_id=void_id,
                                audit=audit.event_row(actor, "restore", poll.id, None, now), now=now)
    if record is None:
        raise ApiError("not_found", "No such void of this poll that is still in force.")
    cache.forget(poll.id, poll.article_id)
    return record


def void_body(record: VoidRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "poll_id": record.poll_id,
        "network": network_label(record.network_hash) if record.network_hash else None,
        "from": iso(record.starts_at),
        "to": iso(record.ends_at),
        "burst": record.burst,
        "ballots": record.ballots,
        "created_at": iso(record.created_at),
        "created_by": record.created_by,
        "restored_at": iso(record.restored_at),
        "restored_by": record.restored_by,
    }
