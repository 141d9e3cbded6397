"""What every request passes through, once: a request id, the body-size limit, the response's
security, CORS and rate-limit headers, and its metrics. One hook before the view, one after."""

from __future__ import annotations

import itertools
import os
import re
import time

from flask import Flask, Response, g, request

from pollsvc import metrics
from pollsvc.api.cors import API_PREFIX, CorsPolicy
from pollsvc.api.ratelimits import add_headers
from pollsvc.config import Settings
from pollsvc.errors import ApiError

REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"))
"""Added to every response (no view sets them, so they are appended, not looked up first)."""


def install(app: Flask, settings: Settings) -> None:
    limit = settings.max_body_bytes
    too_large = f"The request body is larger than {limit} bytes."
    cors = CorsPolicy(settings.cors_origin_list)
    # Request ids need to be unique, not secret: a random per-process prefix and a counter.
    prefix = os.urandom(6).hex()
    counter = itertools.count(1)

    @app.before_request
    def _begin() -> None:
        g.request_started = time.perf_counter()
        given = request.headers.get("X-Request-ID")
        g.request_id = given if given and REQUEST_ID.fullmatch(given) else f"{prefix}{next(counter):08x}"
        length = request.content_length
        if length is not None and length > limit:
            raise ApiError("payload_too_large", too_large)

    @app.after_request
    def _finish(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not ten
        state = g._get_current_object()
        headers = response.headers
        headers.extend(SECURITY_HEADERS)
        add_headers(response, state)
        if req.path.startswith(API_PREFIX):
            cors.apply(req, response)
        headers.add("X-Request-ID", state.get("request_id", ""))
        started = state.get("request_started")
        metrics.observe(req.endpoint or "unmatched", req.method, response.status_code,
                        time.perf_counter() - started if started else 0.0, state.get("error_code"))
        return response

