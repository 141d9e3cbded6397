"""The public read path: cached snapshots, per-identity ``has_voted``, ETag and Cache-Control."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, current_app, request

from pollsvc.errors import ApiError
from pollsvc.extensions import db
from pollsvc.identity import ballot_keys_for, current_identity
from pollsvc.runtime import runtime
from pollsvc.services.polls import poll_status
from pollsvc.services.presenter import poll_dict
from pollsvc.services.snapshots import PollSnapshot, RenderedBody, SnapshotCache
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
        keys_by_poll = identity_keys(items)
        voted = voted_polls(db.session, keys_by_poll) if keys_by_poll else set()
        personal = bool(keys_by_poll)
    else:
        personal = True
    return _bodies(items, voted), personal


def identity_keys(items: list[tuple[PollSnapshot, str]]) -> dict[int, list[tuple[str, bytes]]]:
    """The ballot keys this request's identity has in each poll (by its dedup); none: anonymous."""
    identity = current_identity()
    secret = runtime().settings.secret_key
    keys_by_poll = {}
    for snapshot, _ in items:
        keys = ballot_keys_for(snapshot.dedup, identity, secret, strict=False)
        if keys:
            keys_by_poll[snapshot.id] = keys
    return keys_by_poll


def _bodies(items: list[tuple[PollSnapshot, str]], voted: set[int]) -> list[dict[str, Any]]:
    return [poll_dict(s, s.counts, status, has_voted=s.id in voted) for s, status in items]  # type: ignore[arg-type]


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _etag(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def cacheable_response(data: bytes, etag: str, personal: bool) -> Response:
    """JSON with a strong ETag (304 when it matches) and a cache policy fit for a CDN."""
    not_modified = etag in request.if_none_match
    response = current_app.response_class(b"" if not_modified else data, status=304 if not_modified else 200,
                                          mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = PERSONAL_CACHE if personal else SHARED_CACHE
    response.headers["Vary"] = VARY
    return response


def respond(key: tuple[str, object], items: list[tuple[PollSnapshot, str]],
            shape: Callable[[list[dict[str, Any]]], Any]) -> Response:
    """The response for these polls; an identity-free one is serialised once per snapshot change."""
    keys_by_poll = identity_keys(items)
    if keys_by_poll:
        data = _dumps(shape(_bodies(items, voted_polls(db.session, keys_by_poll))))
        return cacheable_response(data, _etag(data), personal=True)
    cache = snapshot_cache()
    parts = tuple(part for pair in items for part in pair)
    rendered = cache.rendered(key, parts)
    if rendered is None:
        data = _dumps(shape(_bodies(items, set())))
        rendered = RenderedBody(parts, data, _etag(data))
        cache.keep_rendered(key, rendered)
    return cacheable_response(rendered.data, rendered.etag, personal=False)


def poll_response(poll_id: int) -> Response:
    return respond(("poll", poll_id), [public_snapshot(poll_id)], lambda bodies: bodies[0])


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
    return respond(("article", article_id), shown, lambda bodies: {"article_id": article_id, "polls": bodies})
