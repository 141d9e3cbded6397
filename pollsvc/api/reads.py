"""The public read path: cached snapshots, per-identity ``has_voted``, ETag and Cache-Control."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from flask import Response, request

from pollsvc.api.common import json_response
from pollsvc.errors import ApiError
from pollsvc.extensions import db
from pollsvc.identity import ballot_keys_for, current_identity
from pollsvc.runtime import runtime
from pollsvc.services.polls import poll_status
from pollsvc.services.presenter import poll_dict
from pollsvc.services.snapshots import PollSnapshot, SnapshotCache
from pollsvc.services.voting import voted_polls

PUBLIC_STATUSES = ("open", "closed")
SHARED_CACHE = "public, max-age=1, stale-while-revalidate=4"
PERSONAL_CACHE = "private, no-cache"
VARY = "X-Voter-Token, X-Poll-User, Authorization"


def snapshot_cache() -> SnapshotCache:
    cache: SnapshotCache = runtime().caches["snapshots"]
    return cache


def forget(poll_id: int | None, *article_ids: str) -> None:
    snapshot_cache().forget(poll_id, *article_ids)


def public_snapshot(poll_id: int, *, hidden: tuple[str, ...] = ("draft", "archived", "scheduled")
                    ) -> tuple[PollSnapshot, str]:
    """The poll and its status, unless its status is one the public may not see (404)."""
    snapshot = snapshot_cache().poll(db.session, poll_id)
    if snapshot is None:
        raise ApiError("not_found", "No such poll.")
    status = poll_status(snapshot, runtime().now())  # type: ignore[arg-type]
    if status in hidden:
        raise ApiError("not_found", "No such poll.")
    return snapshot, status


def render(
    snapshots: Iterable[tuple[PollSnapshot, str]], *, voted: set[int] | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Poll bodies for this request's identity; the flag tells whether any depended on it."""
    items = list(snapshots)
    if voted is None:
        identity = current_identity()
        secret = runtime().settings.secret_key
        keys_by_poll = {}
        for snapshot, _ in items:
            keys = ballot_keys_for(snapshot.dedup, identity, secret, strict=False)
            if keys:
                keys_by_poll[snapshot.id] = keys
        voted = voted_polls(db.session, keys_by_poll) if keys_by_poll else set()
        personal = bool(keys_by_poll)
    else:
        personal = True
    bodies = [poll_dict(s, s.counts, status, has_voted=s.id in voted) for s, status in items]  # type: ignore[arg-type]
    return bodies, personal


def cacheable_response(body: Any, personal: bool) -> Response:
    """JSON with a strong ETag (304 when it matches) and a cache policy fit for a CDN."""
    response = json_response(body)
    etag = hashlib.blake2b(response.get_data(), digest_size=12).hexdigest()
    response.set_etag(etag)
    response.headers["Cache-Control"] = PERSONAL_CACHE if personal else SHARED_CACHE
    response.headers["Vary"] = VARY
    if etag in request.if_none_match:
        response.status_code = 304
        response.set_data(b"")
    return response


def poll_response(poll_id: int) -> Response:
    bodies, personal = render([public_snapshot(poll_id)])
    return cacheable_response(bodies[0], personal)


def article_polls_response(article_id: str) -> Response:
    cache = snapshot_cache()
    now = runtime().now()
    ids = cache.article_poll_ids(db.session, article_id)
    snapshots = cache.polls(db.session, ids)
    shown = []
    for poll_id in ids:
        snapshot = snapshots.get(poll_id)
        if snapshot is None:
            continue
        status = poll_status(snapshot, now)  # type: ignore[arg-type]
        if status in PUBLIC_STATUSES:
            shown.append((snapshot, status))
    bodies, personal = render(shown)
    return cacheable_response({"article_id": article_id, "polls": bodies}, personal)
