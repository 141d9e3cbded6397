"""What every request passes through, once: a request id, the body-size limit, the response's
security, CORS and rate-limit headers, and its metrics. One hook before the view, one after."""

from __future__ import annotations

import io
import itertools
import os
import re
import time
from typing import Any

from flask import Flask, Response, g, request

from pollsvc import metrics
from pollsvc.api.cors import covers
from pollsvc.api.ratelimits import add_headers
from pollsvc.config import Settings
from pollsvc.errors import ApiError
from pollsvc.runtime import runtime_of

REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"),
                    ("Server", ""))
"""Added to every response (no view sets them, so they are appended, not looked up first). The
empty ``Server`` replaces the HTTP server's ``Server: granian`` (Granian has no setting to drop it;
its own errors for unparseable requests still carry it)."""
MAX_URI_BYTES = 8192
MAX_HEADER_BYTES = 16384
"""Below the HTTP server's own limits (Granian: a 64 KiB URI, a 400 KiB buffer), so that nearly
every oversized request gets the JSON error shape from here, not the server's empty answer."""
BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCKED_DOWN = (("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"), ("X-Frame-Options", "DENY"))
"""For every response that sets no policy of its own (JSON, errors, the 404 of any path): it may
run nothing and be framed by no one. Pages (the console, the demo, the embeds) set their own."""


def install(app: Flask, settings: Settings) -> None:
    limit = settings.max_body_bytes
    too_large = f"The request body is larger than {limit} bytes."
    cors = runtime_of(app).cors
    # Request ids need to be unique, not secret: a random per-process prefix and a counter.
    prefix = os.urandom(6).hex()
    counter = itertools.count(1)

    @app.before_request
    def _begin() -> None:
        g.request_started = time.perf_counter()
        given = request.headers.get("X-Request-ID")
        g.request_id = given if given and REQUEST_ID.fullmatch(given) else f"{prefix}{next(counter):08x}"
        check_request_size(request.environ)
        length = request.content_length
        if length is not None and length > limit:
            raise ApiError("payload_too_large", too_large)
        if length is None and request.method not in BODILESS and "wsgi.input_terminated" in request.environ:
            buffer_streamed_body(request.environ, limit, too_large)

    @app.after_request
    def _finish(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not ten
        state = g._get_current_object()
        headers = response.headers
        headers.extend(SECURITY_HEADERS)
        if "Content-Security-Policy" not in headers:
            headers.extend(LOCKED_DOWN)
        add_headers(response, state)
        if covers(req.path):
            cors.apply(req, response)
        headers.add("X-Request-ID", state.get("request_id", ""))
        started = state.get("request_started")
        metrics.observe(req.endpoint or "unmatched", req.method, response.status_code,
                        time.perf_counter() - started if started else 0.0, state.get("error_code"))
        return response


def check_request_size(environ: dict[str, Any]) -> None:
    """414 and 431 in the contract's shape (the limits above)."""
    if len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) > MAX_URI_BYTES:
        raise ApiError("uri_too_long", f"The URL is longer than {MAX_URI_BYTES} bytes.")
    if sum(len(k) + len(v) for k, v in environ.items() if k.startswith("HTTP_")) > MAX_HEADER_BYTES:
        raise ApiError("headers_too_large", f"The request's headers are larger than {MAX_HEADER_BYTES} bytes.")


def buffer_streamed_body(environ: dict[str, Any], limit: int, too_large: str) -> None:
    """A body without Content-Length (chunked): read it here, at most ``limit`` bytes, so that one
    byte more is a 413 rather than a body silently cut at the limit (Werkzeug stops reading there
    and says nothing). What fits is handed on, read from memory."""
    stream = environ["wsgi.input"]
    body = b""
    while len(body) <= limit:
        chunk = stream.read(limit + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > limit:
        raise ApiError("payload_too_large", too_large)
    environ["wsgi.input"] = io.BytesIO(body)
