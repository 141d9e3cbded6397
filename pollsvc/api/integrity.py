"""The integrity report of a poll, and voiding and restoring its ballots."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from pollsvc.api.auth import ADMIN, READERS, current_key, require_role
from pollsvc.api.common import NO_STORE, check_poll_id, json_response, load_body
from pollsvc.api.docs import SECURED, documented, json_request
from pollsvc.errors import ApiError
from pollsvc.runtime import runtime
from pollsvc.schemas import IntegrityReportSchema, VoidInSchema, VoidListSchema, VoidOutSchema
from pollsvc.services import voiding
from pollsvc.services.integrity import integrity_report
from pollsvc.services.readmodel import PollView

blp = Blueprint("integrity", __name__, url_prefix="/api/v1",
                description="Where a poll's ballots came from; voiding and restoring them.")

_void_schema = VoidInSchema()


def _poll(poll_id: int) -> PollView:
    view = runtime().store.load_polls([check_poll_id(poll_id)]).get(poll_id)
    if view is None:
        raise ApiError("not_found", "No such poll.")
    return view


@blp.route("/polls/<int:poll_id>/integrity", methods=["GET"])
@require_role(*READERS)
@documented(blp, 200, IntegrityReportSchema, errors=[401, 403, 404], **SECURED)
def poll_integrity(poll_id: int) -> Response:
    """Ballots per network (keyed-hash labels, never addresses), the top networks' share, bursts
    of one network or of the whole poll with a verdict, and the ballots flagged as stuffing."""
    rt = runtime()
    return json_response(integrity_report(rt.store, _poll(poll_id).id, rt.now()), headers=NO_STORE)


@blp.route("/polls/<int:poll_id>/voids", methods=["GET"])
@require_role(*READERS)
@documented(blp, 200, VoidListSchema, errors=[401, 403, 404], **SECURED)
def poll_voids(poll_id: int) -> Response:
    """The voids of a poll, oldest first, restored ones included."""
    poll = _poll(poll_id)
    items = [voiding.void_body(v) for v in runtime().store.list_voids(poll.id)]
    return json_response({"items": items}, headers=NO_STORE)


@blp.route("/polls/<int:poll_id>/voids", methods=["POST"])
@require_role(*ADMIN)
@documented(blp, 201, VoidOutSchema, errors=[400, 401, 403, 404, 413, 422], **SECURED, **json_request(VoidInSchema))
def void_ballots(poll_id: int) -> Response:
    """Void ballots: a network burst of the integrity report (`burst`), or a network's ballots in
    a time window (`network`, `from`, `to`). They stop counting at once and stay stored; their
    voters cannot vote again. Audited."""
    rt = runtime()
    poll = _poll(poll_id)
    record = voiding.void(rt.store, rt.polls, poll, load_body(_void_schema), current_key(), rt.now())
    return json_response(voiding.void_body(record), 201, NO_STORE)


@blp.route("/polls/<int:poll_id>/voids/<int:void_id>/restore", methods=["POST"])
@require_role(*ADMIN)
@documented(blp, 200, VoidOutSchema, errors=[401, 403, 404], **SECURED)
def restore_void(poll_id: int, void_id: int) -> Response:
    """Count a void's ballots again. Audited."""
    rt = runtime()
    poll = _poll(poll_id)
    record = voiding.restore(rt.store, rt.polls, poll, check_poll_id(void_id), current_key(), rt.now())
    return json_response(voiding.void_body(record), headers=NO_STORE)


