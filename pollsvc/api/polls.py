"""Polls: the widget's article listing, the public poll, and the admin CRUD."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_smorest import Blueprint

from pollsvc.api import examples
from pollsvc.api.auth import ADMIN, READERS, current_key, require_role
from pollsvc.api.caller import read_caller
from pollsvc.api.common import check_poll_id, json_response, load_body
from pollsvc.api.docs import PUBLIC, READ_HEADERS, READ_PARAMETERS, SECURED, documented, json_request
from pollsvc.api.ratelimits import rate_limited
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
from pollsvc.services.readmodel import engagement, poll_body
from pollsvc.services.reads import PollNotFound, Rendered

blp = Blueprint("polls", __name__, url_prefix="/api/v1", description="Polls of articles.")

_create_schema = PollCreateSchema()
_update_schema = PollUpdateSchema()

VARY = ("Vary", "X-Voter-Token, X-Poll-User, X-Poll-Receipt, Authorization")
SHARED_CACHE = (("Content-Type", "application/json"), ("Cache-Control", "public, max-age=1, stale-while-revalidate=4"),
                VARY)
PERSONAL_CACHE = (("Content-Type", "application/json"), ("Cache-Control", "private, no-cache"), VARY)
ADMIN_CACHE = {"Cache-Control": "private, no-store"}
LIVE_REFRESH_SECONDS = 2
"""How soon a reader's widget reads an open poll again (``X-Poll-Refresh``): new votes show within
that, while a CDN that honours ``max-age=1`` sends the origin at most about one read a second
per poll and edge, however many readers have it open."""
LIVE = ("X-Poll-Refresh", str(LIVE_REFRESH_SECONDS))


def cacheable(rendered: Rendered) -> Response:
    """JSON with a strong ETag (304 when it matches) and a cache policy fit for a CDN."""
    not_modified = "HTTP_IF_NONE_MATCH" in request.environ and rendered.etag in request.if_none_match
    headers = [*(PERSONAL_CACHE if rendered.personal else SHARED_CACHE), ("ETag", f'"{rendered.etag}"')]
    if rendered.live:
        headers.append(LIVE)
    return Response(b"" if not_modified else rendered.data, status=304 if not_modified else 200, headers=headers)


def admin_poll_response(poll_id: int, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The admin view of a poll, read back from the database (counts included)."""
    rt = runtime()
    view = rt.store.load_polls([poll_id]).get(poll_id)
    if view is None:
        raise ApiError("not_found", "No such poll.")
    body = poll_body(view, view.status(rt.now()), has_voted=False, admin=True)
    return json_response(body, status, {**ADMIN_CACHE, **(headers or {})})


@blp.route("/articles/<article_id>/polls", methods=["GET"])
@documented(blp, 200, ArticlePollsOutSchema, operation_id="listArticlePolls", errors=[401, 422, 429], **PUBLIC,
            parameters=READ_PARAMETERS, headers=READ_HEADERS, not_modified=True, example=examples.ARTICLE_POLLS)
@rate_limited("public_read", exempt_with_key=True)
def article_polls(article_id: str) -> Response:
    """List the polls of an article

    What the widget shows under an article: its polls that are `open` or `closed`, oldest first
    (none: an empty list), each as the reader who sends the identity headers, receipts or voter
    passes sees it. A shared, cacheable answer unless identity headers make it personal.
    """
    current_key()
    if not is_article_id(article_id):
        raise ApiError("validation_error", errors={"article_id": ["Not a valid article id."]})
    rt = runtime()
    return cacheable(rt.reader.article_polls(article_id, read_caller(), rt.now()))


# The public view without a key, the admin view (more fields) with one: `view` tells which.
POLL_OR_ADMIN_POLL = {
    "oneOf": [{"$ref": "#/components/schemas/PollOut"}, {"$ref": "#/components/schemas/AdminPollOut"}],
    "discriminator": {"propertyName": "view", "mapping": {"public": "#/components/schemas/PollOut",
                                                          "admin": "#/components/schemas/AdminPollOut"}},
}


@blp.route("/polls/<int:poll_id>", methods=["GET"])
@documented(blp, 200, POLL_OR_ADMIN_POLL, operation_id="getPoll", errors=[401, 404, 429],
            response_description="The public poll (`view: public`), or with an API key the admin poll "
                                 "(`view: admin`).",
            parameters=READ_PARAMETERS, headers=READ_HEADERS, not_modified=True, example=examples.PUBLIC_POLL)
@rate_limited("public_read", exempt_with_key=True)
def get_poll(poll_id: int) -> Response:
    """Get a poll

    Without a key: the public view of an `open` or `closed` poll (draft, scheduled and archived
    polls are 404), as the reader who sends the identity headers, receipts or voter passes sees
    it; conditional (`If-None-Match`) and cacheable. With an API key (admin or reporter): the
    admin view of a poll in any status, never cached. A bad key is 401, never the public view.
    """
    key = current_key()
    check_poll_id(poll_id)
    if key is not None:
        return admin_poll_response(poll_id)
    rt = runtime()
    try:
        return cacheable(rt.reader.public_poll(poll_id, read_caller(), rt.now()))
    except PollNotFound:
        raise ApiError("not_found", "No such poll.") from None


@blp.route("/polls", methods=["GET"])
@require_role(*READERS)
@blp.arguments(PollListQuerySchema, location="query", as_kwargs=True)
@documented(blp, 200, PollPageSchema, operation_id="listPolls", errors=[401, 403, 422], **SECURED,
            headers=["Cache-Control"], example=examples.POLL_PAGE)
def list_polls(page: int, per_page: int, article_id: str | None = None, status: str | None = None) -> Response:
    """List polls

    Polls in any status, newest first, filtered by article and output status, as admin views
    with their views and engagement rate. Admin or reporter key.
    """
    rt = runtime()
    now = rt.now()
    ids, total = poll_service.list_poll_ids(
        db.session, now, article_id=article_id, status=status, page=page, per_page=per_page
    )
    polls, seen = rt.store.load_polls(ids), rt.store.views_of(ids)
    items = [{**poll_body(polls[i], polls[i].status(now), has_voted=False, admin=True),
              **engagement(polls[i].counts.participants, seen[i])} for i in ids if i in polls]
    return json_response({"items": items, "page": page, "per_page": per_page, "total": total}, headers=ADMIN_CACHE)


@blp.route("/polls", methods=["POST"])
@require_role(*ADMIN)
@documented(blp, 201, AdminPollOutSchema, operation_id="createPoll", errors=[400, 401, 403, 413, 422],
            headers=["Location", "Cache-Control"], **SECURED, **json_request(PollCreateSchema, examples.POLL_CREATE),
            example=examples.NEW_ADMIN_POLL)
def create_poll() -> Response:
    """Create a poll

    A poll of an article, answered with its admin view and `Location`. Defaults: single choice,
    opens at once, never closes, results after a vote, one ballot per voter token. Admin key.
    """
    data = load_body(_create_schema)
    rt = runtime()
    poll = poll_service.create_poll(db.session, rt.polls, data, rt.now(), actor=current_key())
    return admin_poll_response(poll.id, 201, {"Location": url_for("polls.get_poll", poll_id=poll.id)})


@blp.route("/polls/<int:poll_id>", methods=["PATCH"])
@require_role(*ADMIN)
@documented(blp, 200, AdminPollOutSchema, operation_id="updatePoll", errors=[400, 401, 403, 404, 409, 413, 422],
            headers=["Cache-Control"], **SECURED, **json_request(PollUpdateSchema, examples.POLL_UPDATE),
            example=examples.ADMIN_POLL)
def update_poll(poll_id: int) -> Response:
    """Update a poll

    Any subset of the create fields. Once the poll has votes, `options`, `max_choices`, `dedup`
    and `status: draft` are 409 `poll_has_votes`; question, description, schedule, visibility and
    opening or closing stay editable. A `status` restores an archived poll. Admin key.
    """
    poll = poll_service.get_poll(db.session, check_poll_id(poll_id))
    data = load_body(_update_schema, partial=True)
    rt = runtime()
    poll_service.update_poll(db.session, rt.polls, poll, data, rt.now(), actor=current_key())
    return admin_poll_response(poll_id)


@blp.route("/polls/<int:poll_id>", methods=["DELETE"])
@require_role(*ADMIN)
@documented(blp, 204, operation_id="archivePoll", errors=[401, 403, 404], **SECURED,
            response_description="Archived (again, for an archived poll).")
def archive_poll(poll_id: int) -> Response:
    """Archive a poll

    Hidden from the public from now on, kept with its votes for reports; a PATCH with a `status`
    restores it. Admin key.
    """
    poll = poll_service.get_poll(db.session, check_poll_id(poll_id))
    rt = runtime()
    poll_service.archive_poll(db.session, rt.polls, poll, rt.now(), actor=current_key())
    return Response(status=204)
