"""The integrity report of a poll, and voiding and restoring its ballots."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from pollsvc.api import examples
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
@documented(blp, 200, IntegrityReportSchema, operation_id="getIntegrityReport", errors=[401, 403, 404],
            **SECURED, headers=["Cache-Control"], example=examples.INTEGRITY)
def poll_integrity(poll_id: int) -> Response:
    """Get a poll's integrity report

    Ballots per network (keyed-hash labels, never addresses), the top networks' share, bursts
    of one network or of the whole poll with a verdict, and the ballots flagged as stuffing.
    Admin or reporter key.
    """
    rt = runtime()
    return json_response(integrity_report(rt.store, _poll(poll_id).id, rt.now()), headers=NO_STORE)


@blp.route("/polls/<int:poll_id>/voids", methods=["GET"])
@require_role(*READERS)
@documented(blp, 200, VoidListSchema, operation_id="listVoids", errors=[401, 403, 404], **SECURED,
            headers=["Cache-Control"], example=examples.VOID_LIST)
def poll_voids(poll_id: int) -> Response:
    """List a poll's voids

    The voids of a poll, oldest first, restored ones included. Admin or reporter key.
    """
    poll = _poll(poll_id)
    items = [voiding.void_body(v) for v in runtime().store.list_voids(poll.id)]
    return json_response({"items": items}, headers=NO_STORE)


@blp.route("/polls/<int:poll_id>/voids", methods=["POST"])
@require_role(*ADMIN)
@documented(blp, 201, VoidOutSchema, operation_id="voidBallots", errors=[400, 401, 403, 404, 413, 422],
            **SECURED, headers=["Cache-Control"], **json_request(VoidInSchema, examples.VOID_IN),
            example=examples.VOID_OUT)
def void_ballots(poll_id: int) -> Response:
    """Void ballots

    A network burst of the integrity report (`burst`), or a network's ballots in
    a time window (`network`, `from`, `to`). They stop counting at once and stay stored; their
    voters cannot vote again. Audited. Admin key.
    """
    rt = runtime()
    poll = _poll(poll_id)
    record = voiding.void(rt.store, rt.polls, poll, load_body(_void_schema), current_key(), rt.now())
    return json_response(voiding.void_body(record), 201, NO_STORE)


@blp.route("/polls/<int:poll_id>/voids/<int:void_id>/restore", methods=["POST"])
@require_role(*ADMIN)
@documented(blp, 200, VoidOutSchema, operation_id="restoreVoid", errors=[401, 403, 404], **SECURED,
            headers=["Cache-Control"], example={**examples.VOID_OUT, "restored_at": "2026-03-02T11:05:09.551002Z",
                                                "restored_by": "bien-tap-vien"})
def restore_void(poll_id: int, void_id: int) -> Response:
    """Restore voided ballots

    Count a void's ballots again. Audited. Admin key.
    """
    rt = runtime()
    poll = _poll(poll_id)
    record = voiding.restore(rt.store, rt.polls, poll, check_poll_id(void_id), current_key(), rt.now())
    return json_response(voiding.void_body(record), headers=NO_STORE)


