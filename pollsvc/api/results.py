"""Results and reports for API keys (admin or reporter)."""

from __future__ import annotations

from datetime import datetime

from flask import Response
from flask_smorest import Blueprint

from pollsvc.api.auth import READERS, require_role
from pollsvc.api.common import NO_STORE, check_poll_id, json_response
from pollsvc.api.docs import SECURED, documented
from pollsvc.errors import ApiError
from pollsvc.extensions import db
from pollsvc.runtime import runtime
from pollsvc.schemas import (
    ReportPageSchema,
    ReportQuerySchema,
    ResultsOutSchema,
    TimeseriesOutSchema,
    TimeseriesQuerySchema,
)
from pollsvc.services import reports
from pollsvc.services import results as results_service
from pollsvc.services.readmodel import PollView, results_body

blp = Blueprint("results", __name__, url_prefix="/api/v1", description="Results and reports.")


def _poll(poll_id: int) -> PollView:
    view = runtime().store.load_polls([check_poll_id(poll_id)]).get(poll_id)
    if view is None:
        raise ApiError("not_found", "No such poll.")
    return view


def _views(poll_id: int) -> int:
    return runtime().store.views_of([poll_id])[poll_id]


@blp.route("/polls/<int:poll_id>/results", methods=["GET"])
@require_role(*READERS)
@documented(blp, 200, ResultsOutSchema, errors=[401, 403, 404], **SECURED)
def poll_results(poll_id: int) -> Response:
    """Counts per option, whatever the poll's visibility, with the first and last vote, views and
    the engagement rate."""
    poll = _poll(poll_id)
    return json_response(results_body(poll, _views(poll.id)), headers=NO_STORE)


@blp.route("/polls/<int:poll_id>/results/timeseries", methods=["GET"])
@require_role(*READERS)
@blp.arguments(TimeseriesQuerySchema, location="query", as_kwargs=True)
@documented(blp, 200, TimeseriesOutSchema, errors=[401, 403, 404, 422], **SECURED)
def poll_timeseries(poll_id: int, interval: str) -> Response:
    """Participants and views per UTC hour or day, contiguous from the first bucket that has either
    to the last."""
    poll = _poll(poll_id)
    return json_response(results_service.timeseries(runtime().store, poll.id, interval), headers=NO_STORE)


@blp.route("/polls/<int:poll_id>/results.csv", methods=["GET"])
@require_role(*READERS)
@documented(blp, 200, {"type": "string"}, content_type="text/csv", errors=[401, 403, 404], **SECURED)
def poll_results_csv(poll_id: int) -> Response:
    """The results as CSV: UTF-8 with BOM, CRLF, formulas neutralised."""
    poll = _poll(poll_id)
    return Response(results_service.results_csv(poll, _views(poll.id)).encode("utf-8"), mimetype="text/csv", headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="poll-{poll.id}-results.csv"',
        **NO_STORE,
    })


@blp.route("/reports/polls", methods=["GET"])
@require_role(*READERS)
@blp.arguments(ReportQuerySchema, location="query", as_kwargs=True)
@documented(blp, 200, ReportPageSchema, errors=[401, 403, 422], **SECURED)
def polls_report(page: int, per_page: int, sort: str, article_id: str | None = None, status: str | None = None,
                 from_: datetime | None = None, to: datetime | None = None) -> Response:
    """Polls ranked by participants (then votes, then age) or by engagement rate; from/to filter
    the creation time."""
    items, total = reports.polls_report(
        db.session, runtime().now(), article_id=article_id, status=status,
        created_from=from_, created_to=to, page=page, per_page=per_page, sort=sort,
    )
    return json_response({"items": items, "page": page, "per_page": per_page, "total": total})
