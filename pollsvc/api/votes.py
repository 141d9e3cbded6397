"""Voter tokens and votes."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, request
from flask_smorest import Blueprint

from pollsvc.api import examples
from pollsvc.api.caller import ballot_signals, client_network, request_identity
from pollsvc.api.common import NO_STORE, check_poll_id, json_body, json_response, load_body
from pollsvc.api.docs import IDENTITY_PARAMETERS, PUBLIC, documented, json_request
from pollsvc.api.ratelimits import rate_limited
from pollsvc.errors import ApiError
from pollsvc.identity import issue_voter_token, network_label, voter_pass
from pollsvc.runtime import Runtime, runtime
from pollsvc.schemas import ChallengeSchema, VoteInSchema, VoteOutSchema, VoterInSchema, VoterOutSchema
from pollsvc.services.readmodel import iso
from pollsvc.services.voting import cast_vote, votable_poll

blp = Blueprint("votes", __name__, url_prefix="/api/v1", description="Voter identities and ballots.")

_vote_schema = VoteInSchema()


@blp.route("/voters/challenge", methods=["GET"])
@documented(blp, 200, ChallengeSchema, operation_id="getVoterChallenge", errors=[429], **PUBLIC,
            headers=["Cache-Control"], example=examples.CHALLENGE)
@rate_limited("challenges")
def voter_challenge() -> Response:
    """Get a proof-of-work challenge

    An ALTCHA v2 challenge (PBKDF2/SHA-256) to solve for a voter token (`POST /api/v1/voters`).
    Its cost depends on how many challenges the caller's network asked for lately against its
    usual rate. Solutions expire with the challenge (5 minutes) and are accepted once."""
    rt = runtime()
    return json_response(_fresh_challenge(rt), headers=NO_STORE)


@blp.route("/voters", methods=["POST"])
@documented(blp, 201, VoterOutSchema, operation_id="createVoterToken", errors=[403, 413, 429], **PUBLIC,
            headers=["Cache-Control"], **json_request(VoterInSchema, examples.VOTER_IN, required=False),
            example=examples.VOTER_OUT)
@rate_limited("voters")
def create_voter() -> Response:
    """Create a voter token

    A new anonymous voter identity, signed by the server, for the solution of a challenge.

    Without a valid, unexpired, unused solution: 403 `challenge_required` with a fresh challenge.
    With `POLLSVC_BOT_CHECK=off` no body is needed (any body is ignored)."""
    rt = runtime()
    now = rt.now()
    network = client_network()
    if rt.settings.bot_check == "pow" and not rt.botcheck.redeem(_altcha_field(), network, now):
        raise ApiError("challenge_required", extra={"challenge": _fresh_challenge(rt)}, headers=NO_STORE)
    max_age = rt.settings.voter_token_max_age
    token = issue_voter_token(rt.settings.secret_key, now.timestamp(), network_label(network))
    return json_response({"voter_token": token, "expires_at": iso(now + timedelta(seconds=max_age))}, 201, NO_STORE)


def _fresh_challenge(rt: Runtime) -> dict[str, object]:
    return rt.botcheck.challenge(client_network(), rt.now())


def _altcha_field() -> object:
    """The body's ``altcha`` payload, or None for anything else (the answer is the same 403)."""
    if request.mimetype != "application/json":
        return None
    try:
        body = json_body()
    except ApiError:
        return None
    return body.get("altcha")


@blp.route("/polls/<int:poll_id>/votes", methods=["POST"])
@documented(blp, 201, VoteOutSchema, operation_id="castVote", errors=[400, 404, 409, 413, 422, 429], **PUBLIC,
            headers=["Cache-Control"], **json_request(VoteInSchema, examples.VOTE_IN), parameters=IDENTITY_PARAMETERS,
            example=examples.VOTE_OUT)
@rate_limited("vote")
def vote(poll_id: int) -> Response:
    """Cast a vote

    One ballot per voter by the poll's dedup policy; 201 means it is stored durably. The answer
    carries the poll as this voter now sees it and a `receipt` of the vote, which the widget sends
    back with later reads (`X-Poll-Receipt`).
    """
    rt = runtime()
    now = rt.now()
    poll = votable_poll(rt.polls, check_poll_id(poll_id), now)
    if poll is None:
        raise ApiError("not_found", "No such poll.")
    option_ids = load_body(_vote_schema)["option_ids"]
    identity = request_identity()
    signals = ballot_signals(identity, now)
    outcome = cast_vote(rt.polls, rt.settings.secret_key, poll, option_ids, identity, now, signals)
    if outcome.accepted and signals.network_hash:
        rt.burst_watch.ballot(poll.id, network_label(signals.network_hash), now.timestamp())
    body = outcome.poll_body()
    if body is not None and outcome.has_voted:  # the voter's shared live re-read (GET ...?voter_pass=)
        body["voter_pass"] = voter_pass(rt.settings.secret_key, poll.id)
    if outcome.error is not None:
        extra: dict[str, object] = {} if body is None else {"poll": body}
        if outcome.receipt:
            extra["receipt"] = outcome.receipt
        raise ApiError(outcome.error, outcome.message, extra=extra, headers=NO_STORE)
    return json_response({"poll": body, "receipt": outcome.receipt}, 201, NO_STORE)
