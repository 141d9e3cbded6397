"""Results and reports for API keys (admin or reporter)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from pollsvc.api import examples
from pollsvc.api.auth import READERS, require_role
from pollsvc.api.common import NO_STORE, check_poll_id, json_response
from pollsvc.api.docs import SECURED, documented
from pollsvc.api.lagging import lag_headers, lagging
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
from pollsvc.services.store import Store
from pollsvc.services.store.replica import Source

T = TypeVar("T")

blp = Blueprint("results", __name__, url_prefix="/api/v1", description="Results and reports.")


def _poll(poll_id: int, work: Callable[[Store, PollView], T]) -> tuple[PollView, T, Source]:
    """The poll and ``work``'s answer on one database: the replica when fresh enough (a poll it
    has not seen yet is looked up on the primary)."""
    check_poll_id(poll_id)

    def read(store: Store) -> tuple[PollView, T] | None:
        view = store.load_polls([poll_id]).get(poll_id)
        return None if view is None else (view, work(store, view))

    found, source = lagging().read(read, on_primary_if=lambda found: found is None)
    if found is None:
        raise ApiError("not_found", "No such poll.")
    return found[0], found[1], source


def _views(store: Store, poll: PollView) -> int:
    return store.views_of([poll.id])[poll.id]


@blp.route("/polls/<int:poll_id>/results", methods=["GET"])
@require_role(*READERS)
@documented(blp, 200, ResultsOutSchema, operation_id="getResults", errors=[401, 403, 404], **SECURED,
            headers=["Cache-Control", "X-Replica-Lag"], example=examples.RESULTS)
def poll_results(poll_id: int) -> Response:
    """Get a poll's results

    Counts per option whatever the poll's visibility, with the first and last vote, views and
    the engagement rate. Admin or reporter key.
    """
    poll, views, source = _poll(poll_id, _views)
    return json_response(results_body(poll, views), headers={**NO_STORE, **lag_headers(source)})


@blp.route("/polls/<int:poll_id>/results/timeseries", methods=["GET"])
@require_role(*READERS)
@blp.arguments(TimeseriesQuerySchema, location="query", as_kwargs=True)
@documented(blp, 200, TimeseriesOutSchema, operation_id="getResultsTimeseries", errors=[401, 403, 404, 422],
            **SECURED, headers=["Cache-Control", "X-Replica-Lag"], example=examples.TIMESERIES)
def poll_timeseries(poll_id: int, interval: str) -> Response:
    """Get a poll's participants over time

    Participants and views per UTC hour or day, contiguous from the first bucket that has either
    to the last. Admin or reporter key.
    """
    _, series, source = _poll(poll_id, lambda store, poll: results_service.timeseries(store, poll.id, interval))
    return json_response(series, headers={**NO_STORE, **lag_headers(source)})


@blp.route("/polls/<int:poll_id>/results.csv", methods=["GET"])
@require_role(*READERS)
@documented(blp, 200, {"type": "string"}, operation_id="getResultsCsv", content_type="text/csv",
            errors=[401, 403, 404], **SECURED, headers=["Cache-Control", "Content-Disposition", "X-Replica-Lag"],
            example=examples.RESULTS_CSV)
def poll_results_csv(poll_id: int) -> Response:
    """Download a poll's results as CSV

    `option_id,label,votes,percent` per option, then the views and the engagement rate: UTF-8
    with BOM, CRLF, cells that a spreadsheet would run as a formula neutralised. Admin or reporter key.
    """
    poll, views, source = _poll(poll_id, _views)
    return Response(results_service.results_csv(poll, views).encode("utf-8"), mimetype="text/csv", headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="poll-{poll.id}-results.csv"',
        **NO_STORE, **lag_headers(source),
    })


@blp.route("/reports/polls", methods=["GET"])
@require_role(*READERS)
@blp.arguments(ReportQuerySchema, location="query", as_kwargs=True)
@documented(blp, 200, ReportPageSchema, operation_id="listPollReports", errors=[401, 403, 422], **SECURED,
            headers=["X-Replica-Lag"], example=examples.REPORT_PAGE)
def polls_report(page: int, per_page: int, sort: str, article_id: str | None = None, status: str | None = None,
                 from_: datetime | None = None, to: datetime | None = None) -> Response:
    """Rank polls

    Polls ranked by participants (then votes, then age) or by engagement rate, filtered by
    article, status and creation time (`from`, `to`, inclusive). Admin or reporter key.
    """
    def report(store: Store) -> tuple[list[dict[str, Any]], int]:
        on_primary = store is lagging().primary
        with contextlib.nullcontext(db.session) if on_primary else Session(store.engine) as session:
            return reports.polls_report(
                session, runtime().now(), article_id=article_id, status=status,
                created_from=from_, created_to=to, page=page, per_page=per_page, sort=sort,
            )

    (items, total), source = lagging().read(report)
    return json_response({"items": items, "page": page, "per_page": per_page, "total": total},
                         headers=lag_headers(source))
