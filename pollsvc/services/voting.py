"""Casting a ballot: the database's unique key on (poll, kind, key hash) is the only dedup arbiter,
and the poll's own row, read by the vote's own statement, decides whether it takes votes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pollsvc.identity import (
    MissingIdentity,
    RequestIdentity,
    ballot_keys,
    issue_receipt,
)
from pollsvc.services.readmodel import PollView, poll_body, poll_status
from pollsvc.services.reads import Caller, PollCache, PollReader
from pollsvc.services.store import BallotRequest, BallotSignals, OptionsChanged

REFUSAL_OF_STATUS = {"scheduled": "poll_not_open", "closed": "poll_closed"}
MISSING_IDENTITY = {"token": "invalid_voter_token", "user": "invalid_user_assertion"}


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    """What became of a vote: ``error`` is None when the ballot was stored (201), else the
    contract's error code; ``poll`` (with ``has_voted``) is what the voter is shown."""

    error: str | None
    message: str | None = None
    poll: PollView | None = None
    status: str = ""
    has_voted: bool = False
    receipt: str | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None

    def poll_body(self) -> dict[str, object] | None:
        if self.poll is None:
            return None
        return poll_body(self.poll, self.status, has_voted=self.has_voted)


def votable_poll(cache: PollCache, poll_id: int, now: datetime) -> PollView | None:
    """The poll a vote would go to, None when there is none for the public (404). A scheduled
    poll is hidden from reads, but a vote on it is told ``poll_not_open``."""
    view = cache.poll(poll_id)
    if view is None or view.status(now) in ("draft", "archived"):
        return None
    return view


def cast_vote(cache: PollCache, secret: str, view: PollView, option_ids: Sequence[int],
              identity: RequestIdentity, now: datetime, signals: BallotSignals | None = None) -> VoteOutcome:
    """Check the poll's state, the voter's identity and the selection, then store the ballot.

    The order of refusals is the contract's: (404 and the body's shape, by the caller,) poll
    state (409), identity (400), selection (422), already voted (409).
    """
    poll_id = view.id
    current: PollView | None = view
    for attempt in range(2):
        outcome = _attempt(cache, secret, current, option_ids, identity, now, signals or BallotSignals())
        if outcome is not None:
            return outcome
        # The poll's row no longer matches the cached view (closed, reopened, edited): reload.
        cache.forget(poll_id, view.article_id)
        current = cache.poll(poll_id)
        if attempt == 1 or current is None:
            break
    return _refused_by_state(cache, secret, current, identity, now)


def _attempt(cache: PollCache, secret: str, view: PollView | None, option_ids: Sequence[int],
             identity: RequestIdentity, now: datetime, signals: BallotSignals) -> VoteOutcome | None:
    """An outcome, or None when the store saw a poll row unlike ``view``."""
    status = view.status(now) if view is not None else "missing"
    if view is None or status in ("draft", "archived", "missing"):
        return VoteOutcome("not_found", "No such poll.")
    if status in REFUSAL_OF_STATUS:
        return _refused_by_state(cache, secret, view, identity, now)
    try:
        keys = ballot_keys(view.dedup, identity, secret)
    except MissingIdentity as missing:
        return VoteOutcome(MISSING_IDENTITY[missing.kind])
    problem = selection_problem(view, option_ids)
    if problem:
        return VoteOutcome("invalid_selection", problem)
    ballot = BallotRequest(view.id, list(option_ids), keys, now, view.dedup, view.max_choices, signals)
    try:
        result = cache.store.cast_ballot(ballot)
    except OptionsChanged:
        cache.forget(view.id, view.article_id)
        return VoteOutcome("invalid_selection", "The poll's options changed; reload and vote again.")
    if result.ballot_id is not None:
        fresh = cache.offer_counts(view, result.counts)
        return VoteOutcome(None, poll=fresh, status=status, has_voted=True,
                           receipt=_receipt(secret, view.id, keys))
    if result.taken:
        seen = cache.offer_counts(view, result.counts)
        taken = [(kind, key) for kind, key in keys if kind in result.taken]
        return VoteOutcome("already_voted", poll=seen, status=status, has_voted=True,
                           receipt=_receipt(secret, view.id, taken))
    return None


def _refused_by_state(cache: PollCache, secret: str, view: PollView | None, identity: RequestIdentity,
                      now: datetime) -> VoteOutcome:
    if view is None:
        return VoteOutcome("not_found", "No such poll.")
    status = poll_status(view, now)
    if status == "closed":
        # The body shows the poll to this voter: whether they voted decides what they see.
        voted, _ = PollReader(cache, secret).has_voted([view], Caller(identity))
        return VoteOutcome("poll_closed", poll=view, status=status, has_voted=view.id in voted)
    if status == "scheduled":
        return VoteOutcome("poll_not_open")
    if status in ("draft", "archived"):
        return VoteOutcome("not_found", "No such poll.")
    # Open, but its definition changed twice while we voted: let the client try again.
    return VoteOutcome("invalid_selection", "The poll changed while you voted; reload and vote again.")


def selection_problem(view: PollView, option_ids: Sequence[int]) -> str | None:
    """Why ``option_ids`` is not a valid choice for this poll (empty, repeated, unknown or foreign
    ids, more than ``max_choices``), or None."""
    if not option_ids:
        return "Choose at least one option."
    if len(set(option_ids)) != len(option_ids):
        return "An option is chosen more than once."
    known = view.option_ids()
    unknown = [i for i in option_ids if i not in known]
    if unknown:
        return f"Not options of this poll: {unknown[:5]}."
    if len(option_ids) > view.max_choices:
        return f"Choose at most {view.max_choices} option(s)."
    return None


def _receipt(secret: str, poll_id: int, keys: Sequence[tuple[str, bytes]]) -> str | None:
    """A receipt for the first of these keys that a reader can carry: token, then user, then IP."""
    by_kind = dict(keys)
    for kind in ("token", "user", "ip"):
        if kind in by_kind:
            return issue_receipt(secret, poll_id, kind, by_kind[kind])
    return None
