"""Polls: the widget's article listing, the public poll, and the admin CRUD."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask_smorest import Blueprint

from pollsvc.api import reads as public_reads
from pollsvc.api.auth import ADMIN, READERS, current_key, require_role
from pollsvc.api.common import check_poll_id, json_response, load_body
from pollsvc.api.docs import IDENTITY_HEADERS, PUBLIC, SECURED, errors, json_request
from pollsvc.errors import ApiError
from pollsvc.extensions import db
from pollsvc.runtime import runtime
from pollsvc.schemas import (
    AdminPollOutSchema,
    ArticlePollsOutSchema,
    PollCreateSchema,
    PollListQuerySchema,
    PollPageSchema,
    PollUpdateSchema,
    is_article_id,
)
from pollsvc.services import polls as poll_service
from pollsvc.services.counts import load_counts
from pollsvc.services.presenter import poll_dict

blp = Blueprint("polls", __name__, url_prefix="/api/v1", description="Polls of articles.")

_create_schema = PollCreateSchema()
_update_schema = PollUpdateSchema()


def admin_poll_body(poll: Any) -> dict[str, Any]:
    counts = load_counts(db.session, [poll.id])[poll.id]
    return poll_dict(poll, counts, poll_service.poll_status(poll, runtime().now()), has_voted=False, admin=True)


@blp.route("/articles/<article_id>/polls", methods=["GET"])
@blp.response(200, ArticlePollsOutSchema)
@errors(blp, 401, 422, 429)
@blp.doc(**PUBLIC, parameters=IDENTITY_HEADERS)
def article_polls(article_id: str) -> Response:
    """The polls a reader sees under an article (open or closed), oldest first."""
    current_key()
    if not is_article_id(article_id):
        raise ApiError("validation_error", errors={"article_id": ["Not a valid article id."]})
    return public_reads.article_polls_response(article_id)


# The public view without a key, the admin view (more fields) with one: exactly one matches.
POLL_OR_ADMIN_POLL = {"oneOf": [{"$ref": "#/components/schemas/PollOut"},
                                {"$ref": "#/components/schemas/AdminPollOut"}]}


@blp.route("/polls/<int:poll_id>", methods=["GET"])
@blp.response(200, POLL_OR_ADMIN_POLL, description="The public poll, or the admin poll with an API key.")
@errors(blp, 401, 404, 429)
@blp.doc(security=[{}, {"bearerAuth": []}], parameters=IDENTITY_HEADERS)
def get_poll(poll_id: int) -> Response:
    """A poll: public view, or the admin view with an API key (any status)."""
    key = current_key()
    check_poll_id(poll_id)
    if key is None:
        return public_reads.poll_response(poll_id)
    return json_response(admin_poll_body(poll_service.get_poll(db.session, poll_id)),
                         headers={"Cache-Control": "private, no-store"})


@blp.route("/polls", methods=["GET"])
@require_role(*READERS)
@blp.arguments(PollListQuerySchema, location="query", as_kwargs=True)
@blp.response(200, PollPageSchema)
@errors(blp, 401, 403, 422)
@blp.doc(**SECURED)
def list_polls(page: int, per_page: int, article_id: str | None = None, status: str | None = None) -> Response:
    """Polls, newest first, filtered by article and output status."""
    now = runtime().now()
    polls, total = poll_service.list_polls(
        db.session, now, article_id=article_id, status=status, page=page, per_page=per_page
    )
    counts = load_counts(db.session, [p.id for p in polls])
    items = [poll_dict(p, counts[p.id], poll_service.poll_status(p, now), has_voted=False, admin=True)
             for p in polls]
    return json_response({"items": items, "page": page, "per_page": per_page, "total": total})


@blp.route("/polls", methods=["POST"])
@require_role(*ADMIN)
@blp.response(201, AdminPollOutSchema, headers={"Location": {"schema": {"type": "string"}}})
@errors(blp, 400, 401, 403, 413, 422)
@blp.doc(**SECURED, **json_request(PollCreateSchema))
def create_poll() -> Response:
    """Create a poll (201 with Location)."""
    data = load_body(_create_schema)
    poll = poll_service.create_poll(db.session, data, runtime().now(), actor=current_key())
    public_reads.forget(poll.id, poll.article_id)
    return json_response(admin_poll_body(poll), 201,
                         headers={"Location": url_for("polls.get_poll", poll_id=poll.id)})


@blp.route("/polls/<int:poll_id>", methods=["PATCH"])
@require_role(*ADMIN)
@blp.response(200, AdminPollOutSchema)
@errors(blp, 400, 401, 403, 404, 409, 413, 422)
@blp.doc(**SECURED, **json_request(PollUpdateSchema))
def update_poll(poll_id: int) -> Response:
    """Change a poll; options, max_choices, dedup and going back to draft are locked by votes."""
    poll = poll_service.get_poll(db.session, check_poll_id(poll_id))
    data = load_body(_update_schema, partial=True)
    old_article = poll.article_id
    poll = poll_service.update_poll(db.session, poll, data, runtime().now(), actor=current_key())
    public_reads.forget(poll.id, old_article, poll.article_id)
    return json_response(admin_poll_body(poll))


@blp.route("/polls/<int:poll_id>", methods=["DELETE"])
@require_role(*ADMIN)
@blp.response(204)
@errors(blp, 401, 403, 404)
@blp.doc(**SECURED)
def archive_poll(poll_id: int) -> Response:
    """Archive a poll: hidden from the public, kept with its votes for reports."""
    poll = poll_service.get_poll(db.session, check_poll_id(poll_id))
    poll_service.archive_poll(db.session, poll, runtime().now(), actor=current_key())
    public_reads.forget(poll.id, poll.article_id)
    return Response(status=204)
