"""The public read path: polls from a short per-process cache, ``has_voted`` for the caller,
and serialised bodies kept for as long as the polls they show are unchanged.

Every article view reads the widget, so a poll's definition and counts are kept for ``ttl``
seconds (one by default): a write in this process drops the entry at once (where it commits),
other processes see it within the ttl. Status is never cached: it comes from the poll's schedule
and the clock on every request. A reader who has voted sends receipts instead of an identity
(``pollsvc.identity``), so the body they get is the same for every voter of those polls and is
serialised once, like the anonymous one; only requests that carry an identity the poll's dedup
uses (a token, a user assertion; an IP for ``ip`` polls) look the ballot keys up.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from pollsvc.identity import (
    DEDUP_KINDS,
    Receipt,
    RequestIdentity,
    identity_key,
    receipt_proves_vote,
    voter_pass,
)
from pollsvc.services.readmodel import PUBLIC_STATUSES, Counts, PollView, poll_body
from pollsvc.services.store import Store

MAX_ENTRIES = 10_000


class PollNotFound(Exception):
    """No poll with this id that the public may see."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who reads: the identities the request carries and the receipts of its votes."""

    identity: RequestIdentity
    receipts: Mapping[int, Sequence[Receipt]] = field(default_factory=dict)
    voter_passes: frozenset[str] = frozenset()
    """Poll-wide voter passes (``identity.voter_pass``): has_voted for those polls, still a shared read."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A serialised response body, its ETag, whether it depends on the caller, and whether a poll
    in it is open (its counts may still move: the widget keeps reading it)."""

    data: bytes
    etag: str
    personal: bool
    live: bool = False


@dataclass(frozen=True, slots=True)
class _Body:
    parts: tuple[object, ...]
    data: bytes
    etag: str


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)


def etag_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


class PollCache:
    """Per-process poll views (with counts) and article poll lists, each kept ``ttl`` seconds."""

    def __init__(self, store: Store, ttl: float) -> None:
        self.store = store
        self.ttl = ttl
        self._polls: dict[int, tuple[float, PollView | None]] = {}
        self._absent: dict[int, float] = {}
        """Ids found to be no poll, until when: apart, so that asking for many unknown ids (the view
        beacon takes 20 a request) can never push the real polls out of the cache."""
        self._articles: dict[str, tuple[float, tuple[int, ...]]] = {}
        self._bodies: dict[tuple[object, ...], _Body] = {}
        self._lock = threading.Lock()

    def polls(self, poll_ids: Iterable[int]) -> dict[int, PollView]:
        """Views of the polls that exist among ``poll_ids``, loading the missing in one batch."""
        now = time.monotonic()
        found: dict[int, PollView] = {}
        missing: list[int] = []
        for poll_id in poll_ids:
            entry = self._polls.get(poll_id)
            if entry is not None and entry[0] > now:
                if entry[1] is not None:
                    found[poll_id] = entry[1]
            elif self._absent.get(poll_id, 0.0) <= now:
                missing.append(poll_id)
        if missing:
            loaded = self.store.load_polls(missing)
            expires = now + self.ttl
            with self._lock:
                self._trim()
                for poll_id in missing:
                    view = loaded.get(poll_id)
                    if view is not None:
                        self._polls[poll_id] = (expires, view)
                        continue
                    self._polls.pop(poll_id, None)
                    if len(self._absent) >= MAX_ENTRIES:
                        self._absent.clear()
                    self._absent[poll_id] = expires
            found.update(loaded)
        return found

    def poll(self, poll_id: int) -> PollView | None:
        return self.polls([poll_id]).get(poll_id)

    def article_poll_ids(self, article_id: str) -> tuple[int, ...]:
        clock = time.monotonic()
        entry = self._articles.get(article_id)
        if entry is not None and entry[0] > clock:
            return entry[1]
        ids = self.store.article_poll_ids(article_id)
        with self._lock:
            self._trim()
            self._articles[article_id] = (clock + self.ttl, ids)
        return ids

    def offer_counts(self, view: PollView, counts: Counts) -> PollView:
        """The view with the exact counts a vote returned; kept unless the cache has newer ones.

        The entry keeps its expiry, so a stream of votes never stops the poll's definition from
        being reloaded within the ttl.
        """
        fresh = view.with_counts(counts)
        with self._lock:
            entry = self._polls.get(view.id)
            now = time.monotonic()
            if entry is None or entry[1] is None or entry[0] <= now:
                self._polls[view.id] = (now + self.ttl, fresh)
            elif entry[1].counts.participants <= counts.participants:
                self._polls[view.id] = (entry[0], entry[1].with_counts(counts))
        return fresh

    def forget(self, poll_id: int | None = None, *article_ids: str) -> None:
        """Drop what a write changed (called where the write commits)."""
        with self._lock:
            if poll_id is not None:
                self._polls.pop(poll_id, None)
                self._absent.pop(poll_id, None)
            for article_id in article_ids:
                self._articles.pop(article_id, None)

    def body(self, key: tuple[object, ...], parts: tuple[object, ...], render: Callable[[], bytes]) -> _Body:
        """The body rendered for ``key`` from exactly these polls and statuses, else a new one."""
        entry = self._bodies.get(key)
        if entry is not None and len(entry.parts) == len(parts) and all(
            a is b or a == b for a, b in zip(entry.parts, parts, strict=True)
        ):
            return entry
        data = render()
        entry = _Body(parts, data, etag_of(data))
        with self._lock:
            if len(self._bodies) > MAX_ENTRIES:
                self._bodies.clear()
            self._bodies[key] = entry
        return entry

    def _trim(self) -> None:
        if len(self._polls) > MAX_ENTRIES:
            self._polls.clear()
        if len(self._articles) > MAX_ENTRIES:
            self._articles.clear()


class PollReader:
    """The widget's and the public API's reads of polls."""

    def __init__(self, cache: PollCache, secret: str) -> None:
        self.cache = cache
        self.secret = secret

    def public_poll(self, poll_id: int, caller: Caller, now: datetime) -> Rendered:
        view = self.cache.poll(poll_id)
        status = view.status(now) if view is not None else None
        if view is None or status not in PUBLIC_STATUSES:
            raise PollNotFound(poll_id)
        return self._render(("poll", poll_id), [(view, status)], caller, lambda bodies: bodies[0])

    def article_polls(self, article_id: str, caller: Caller, now: datetime) -> Rendered:
        ids = self.cache.article_poll_ids(article_id)
        views = self.cache.polls(ids)
        shown = []
        for poll_id in ids:
            view = views.get(poll_id)
            if view is not None:
                status = view.status(now)
                if status in PUBLIC_STATUSES:
                    shown.append((view, status))
        return self._render(("article", article_id), shown, caller,
                            lambda bodies: {"article_id": article_id, "polls": bodies})

    def has_voted(self, items: Sequence[PollView], caller: Caller) -> tuple[set[int], bool]:
        """The polls whose vote this caller would be refused, and whether that needed the caller."""
        voted: set[int] = set()
        lookups: dict[int, list[tuple[str, bytes]]] = {}
        personal = False
        for view in items:
            if caller.voter_passes and voter_pass(self.secret, view.id) in caller.voter_passes:
                voted.add(view.id)  # the same for every voter of the poll: not personal
                continue
            receipts = caller.receipts.get(view.id)
            if receipts and receipt_proves_vote(receipts, view.dedup, caller.identity, self.secret):
                voted.add(view.id)
                personal = True
                continue
            keys = present_keys(view.dedup, caller.identity, self.secret)
            if keys:
                lookups[view.id] = keys
        if lookups:
            personal = True
            voted.update(self.cache.store.voted_kinds(lookups))
        return voted, personal

    def _render(self, key: tuple[str, object], items: list[tuple[PollView, str]], caller: Caller,
                shape: Callable[[list[dict[str, Any]]], Any]) -> Rendered:
        voted, personal = self.has_voted([view for view, _ in items], caller)
        parts = tuple(part for pair in items for part in pair)
        voted_key = tuple(sorted(voted))

        def render() -> bytes:
            return dumps(shape([self._body(view, status, view.id in voted) for view, status in items]))

        body = self.cache.body((*key, voted_key), parts, render)
        return Rendered(body.data, body.etag, personal, live=any(status == "open" for _, status in items))


    def _body(self, view: PollView, status: str, has_voted: bool) -> dict[str, Any]:
        body = poll_body(view, status, has_voted=has_voted)
        if has_voted:  # how a voter re-reads the poll live through a shared cache
            body["voter_pass"] = voter_pass(self.secret, view.id)
        return body


def present_keys(dedup: str, identity: RequestIdentity, secret: str) -> list[tuple[str, bytes]]:
    """The ballot keys of the identities this request carries for the poll's dedup (none: [])."""
    keys = []
    for kind in DEDUP_KINDS[dedup]:
        key = identity_key(kind, identity, secret)
        if key is None:
            return []
        keys.append((kind, key))
    return keys
