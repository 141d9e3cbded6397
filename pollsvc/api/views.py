"""Views of polls, as the widget reports them with ``navigator.sendBeacon``."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Response, request
from flask_smorest import Blueprint

from pollsvc.api import examples
from pollsvc.api.caller import rate_limit_key
from pollsvc.api.common import load_body
from pollsvc.api.cors import CorsPolicy
from pollsvc.api.docs import PUBLIC, documented, json_request
from pollsvc.api.ratelimits import rate_limited
from pollsvc.metrics import VIEWS
from pollsvc.runtime import runtime
from pollsvc.schemas import MAX_POLL_ID, MAX_VIEW_POLLS, ViewsInSchema

blp = Blueprint("views", __name__, url_prefix="/api/v1", description="Views of polls (viewable impressions).")

BODY_TYPES = ("application/json", "text/plain")
"""``text/plain`` is what ``navigator.sendBeacon(url, string)`` sends: a request a browser makes
cross-origin without a preflight. The body is JSON either way."""

_views_schema = ViewsInSchema()
_REQUEST_BODY = json_request(ViewsInSchema, examples.VIEWS_IN, description=(
    "JSON, sent as `application/json` or as `text/plain` (what `navigator.sendBeacon(url, string)` sends)."))


@blp.route("/views", methods=["POST"])
@documented(blp, 204, operation_id="recordViews", errors=[400, 413, 422, 429], **PUBLIC, **_REQUEST_BODY,
            response_description="Received (whether or not anything was counted).")
@rate_limited("views")
def record_views() -> Response:
    """Record views of polls

    Viewable impressions, as the widget reports them: at least half of each poll visible for one
    second. A view counts for a poll that is `open` or `closed`, once per client IP (IPv6: /64) and poll
    in 10 minutes; views from a page whose `Origin` is neither this service nor one of
    `POLLSVC_CORS_ORIGINS` count nothing. The answer is the same `204` either way: it never tells
    whether a poll exists. Reports include a view within seconds."""
    poll_ids = dict.fromkeys(body_poll_ids())
    rt = runtime()
    if allowed_origin(request.headers.get("Origin"), rt.cors):
        counted = rt.views.record(poll_ids, rate_limit_key(), rt.now())
        if counted:
            VIEWS.inc(counted)
    return Response(status=204)


def body_poll_ids() -> list[int]:
    """The body's poll ids. A valid body is read straight from its JSON (this is the beacon's hot
    path); anything else goes through the schema, which words the 400 or 422."""
    if request.mimetype in BODY_TYPES:
        try:
            data = json.loads(request.get_data(cache=True))
        except (ValueError, UnicodeDecodeError, RecursionError):
            data = None
        ids = data.get("polls") if type(data) is dict and len(data) == 1 else None
        if type(ids) is list and 1 <= len(ids) <= MAX_VIEW_POLLS and all(
                type(i) is int and 1 <= i <= MAX_POLL_ID for i in ids):
            return ids
    loaded: list[int] = load_body(_views_schema, mimetypes=BODY_TYPES)["polls"]
    return loaded


def allowed_origin(origin: str | None, cors: CorsPolicy) -> bool:
    """No ``Origin`` (not a browser's cross-site request), this service's own, or one of the
    configured sites. Our own is recognised by its host, whatever the scheme: behind a proxy that
    ends TLS the service sees http while the page was https."""
    if origin is None or cors.allows(origin):
        return True
    try:
        host = urlsplit(origin).netloc
    except ValueError:
        return False
    return bool(host) and host.lower() == request.host.lower()
