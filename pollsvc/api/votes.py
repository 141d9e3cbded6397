"""Voter tokens and votes."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from pollsvc.api.common import check_poll_id, json_response, load_body
from pollsvc.api.docs import IDENTITY_HEADERS, PUBLIC, errors, json_request
from pollsvc.api.reads import public_snapshot, render, snapshot_cache
from pollsvc.errors import ApiError
from pollsvc.extensions import db
from pollsvc.identity import ballot_keys_for, current_identity, issue_voter_token
from pollsvc.runtime import runtime
from pollsvc.schemas import VoteInSchema, VoteOutSchema, VoterOutSchema
from pollsvc.services.snapshots import PollSnapshot
from pollsvc.services.voting import AlreadyVoted, cast_ballot, check_poll_open, check_selection

blp = Blueprint("votes", __name__, url_prefix="/api/v1", description="Voter identities and ballots.")

_vote_schema = VoteInSchema()
NO_STORE = {"Cache-Control": "no-store"}


@blp.route("/voters", methods=["POST"])
@blp.response(201, VoterOutSchema)
@errors(blp, 429)
@blp.doc(**PUBLIC)
def create_voter() -> Response:
    """A new anonymous voter identity, signed by the server (any body is ignored)."""
    return json_response({"voter_token": issue_voter_token(runtime().settings.secret_key)}, 201,
                         headers=NO_STORE)


def _poll_body(snapshot: PollSnapshot, status: str, *, voted: bool | None) -> dict[str, Any]:
    """The poll as this voter sees it; ``voted=None`` looks the identity up."""
    known = None if voted is None else ({snapshot.id} if voted else set())
    bodies, _ = render([(snapshot, status)], voted=known)
    return bodies[0]


@blp.route("/polls/<int:poll_id>/votes", methods=["POST"])
@blp.response(201, VoteOutSchema)
@errors(blp, 400, 404, 409, 413, 422, 429)
@blp.doc(**PUBLIC, **json_request(VoteInSchema), parameters=IDENTITY_HEADERS)
def vote(poll_id: int) -> Response:
    """Cast a ballot; one per voter by the poll's dedup policy. 201 means it is stored durably."""
    # A scheduled poll is hidden from reads, but a vote on it is told 409 poll_not_open.
    snapshot, status = public_snapshot(check_poll_id(poll_id), hidden=("draft", "archived"))
    option_ids = load_body(_vote_schema)["option_ids"]
    if status == "closed":
        raise ApiError("poll_closed", extra={"poll": _poll_body(snapshot, status, voted=None)},
                       headers=NO_STORE)
    check_poll_open(status)
    keys = ballot_keys_for(snapshot.dedup, current_identity(), runtime().settings.secret_key, strict=True)
    assert keys is not None  # strict: a missing identity has raised
    check_selection(snapshot, option_ids)  # type: ignore[arg-type]
    try:
        cast = cast_ballot(db.session, snapshot.id, option_ids, keys, runtime().now())
    except AlreadyVoted as refused:
        seen = snapshot if refused.counts is None else snapshot_cache().offer_counts(snapshot, refused.counts)
        raise ApiError("already_voted", extra={"poll": _poll_body(seen, status, voted=True)}) from None
    # The counts came back with the vote (this ballot included): no second read.
    fresh = snapshot_cache().offer_counts(snapshot, cast.counts)
    return json_response({"poll": _poll_body(fresh, status, voted=True)}, 201, headers=NO_STORE)
