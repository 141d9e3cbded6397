"""Voter tokens and votes."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from pollsvc.api.caller import request_identity
from pollsvc.api.common import NO_STORE, check_poll_id, json_response, load_body
from pollsvc.api.docs import IDENTITY_HEADERS, PUBLIC, documented, json_request
from pollsvc.api.ratelimits import rate_limited
from pollsvc.errors import ApiError
from pollsvc.identity import issue_voter_token
from pollsvc.runtime import runtime
from pollsvc.schemas import VoteInSchema, VoteOutSchema, VoterOutSchema
from pollsvc.services.voting import cast_vote, votable_poll

blp = Blueprint("votes", __name__, url_prefix="/api/v1", description="Voter identities and ballots.")

_vote_schema = VoteInSchema()


@blp.route("/voters", methods=["POST"])
@documented(blp, 201, VoterOutSchema, errors=[429], **PUBLIC)
@rate_limited("voters")
def create_voter() -> Response:
    """A new anonymous voter identity, signed by the server (any body is ignored)."""
    return json_response({"voter_token": issue_voter_token(runtime().settings.secret_key)}, 201, NO_STORE)


@blp.route("/polls/<int:poll_id>/votes", methods=["POST"])
@documented(blp, 201, VoteOutSchema, errors=[400, 404, 409, 413, 422, 429], **PUBLIC,
            **json_request(VoteInSchema), parameters=IDENTITY_HEADERS)
@rate_limited("vote")
def vote(poll_id: int) -> Response:
    """Cast a ballot; one per voter by the poll's dedup policy. 201 means it is stored durably.

    The answer carries the poll as this voter now sees it and a `receipt` of the vote, which the
    widget sends back with later reads (`X-Poll-Receipt`)."""
    rt = runtime()
    now = rt.now()
    poll = votable_poll(rt.polls, check_poll_id(poll_id), now)
    if poll is None:
        raise ApiError("not_found", "No such poll.")
    option_ids = load_body(_vote_schema)["option_ids"]
    outcome = cast_vote(rt.polls, rt.settings.secret_key, poll, option_ids, request_identity(), now)
    body = outcome.poll_body()
    if outcome.error is not None:
        extra: dict[str, object] = {} if body is None else {"poll": body}
        if outcome.receipt:
            extra["receipt"] = outcome.receipt
        raise ApiError(outcome.error, outcome.message, extra=extra, headers=NO_STORE)
    return json_response({"poll": body, "receipt": outcome.receipt}, 201, NO_STORE)
