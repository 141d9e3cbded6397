"""The one JSON error shape, for every error from every path."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from flask import Flask, Response, g, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("pollsvc")

STATUS_OF: dict[str, int] = {
    "bad_request": 400,
    "invalid_voter_token": 400,
    "invalid_user_assertion": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "challenge_required": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "already_voted": 409,
    "poll_not_open": 409,
    "poll_closed": 409,
    "poll_has_votes": 409,
    "payload_too_large": 413,
    "uri_too_long": 414,
    "validation_error": 422,
    "invalid_selection": 422,
    "rate_limited": 429,
    "headers_too_large": 431,
    "internal_error": 500,
    "not_implemented": 501,
    "unavailable": 503,
}

DEFAULT_MESSAGE: dict[str, str] = {
    "bad_request": "The request body must be a JSON object sent as application/json.",
    "invalid_voter_token": "The voter token is missing, forged or garbled.",
    "invalid_user_assertion": "The X-Poll-User assertion is missing, badly signed or expired.",
    "unauthorized": "A valid API key is required: Authorization: Bearer <key>.",
    "forbidden": "This API key's role may not do this.",
    "challenge_required": "Solve the proof-of-work challenge in this answer to get a voter token.",
    "not_found": "Not found.",
    "method_not_allowed": "This method is not allowed on this path.",
    "already_voted": "This voter has already voted in this poll.",
    "poll_not_open": "This poll has not opened yet.",
    "poll_closed": "This poll is closed.",
    "poll_has_votes": "This poll has votes: its options, max_choices and dedup can no longer change.",
    "payload_too_large": "The request body is too large.",
    "uri_too_long": "The request's URL is too long.",
    "validation_error": "The request does not match the schema; see errors.",
    "invalid_selection": "The selected options are not valid for this poll.",
    "rate_limited": "Too many requests; try again later.",
    "headers_too_large": "The request's headers are too large.",
    "internal_error": "Internal error.",
    "not_implemented": "This is not provided.",
    "unavailable": "A backing store is unavailable; nothing was written. Try again shortly.",
}

_CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    422: "validation_error",
    429: "rate_limited",
    431: "headers_too_large",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answered with the contract's shape; ``extra`` adds fields (such as ``poll``)."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = STATUS_OF[code]
        self.message = message or DEFAULT_MESSAGE[code]
        self.errors = dict(errors) if errors else None
        self.extra = dict(extra) if extra else {}
        self.headers = dict(headers) if headers else {}


def validation_error(errors: Mapping[str, list[str]], message: str | None = None) -> ApiError:
    return ApiError("validation_error", message, errors=errors)


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested error dict as dotted paths: ``{"options.1.label": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = "_schema" if key == "_schema" and not prefix else f"{prefix}{key}"
            if isinstance(value, Mapping):
                flat.update(flatten_messages(value, name + "."))
            elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                flat.setdefault(name, []).extend(value)
            elif isinstance(value, list):
                for item in value:
                    flat.update(flatten_messages(item, name + "."))
            else:
                flat.setdefault(name, []).append(str(value))
    elif isinstance(messages, list):
        flat.setdefault(prefix.rstrip(".") or "_schema", []).extend(str(m) for m in messages)
    return flat


def error_response(err: ApiError) -> Response:
    g.error_code = err.code
    body: dict[str, Any] = {"error": err.code, "message": err.message}
    if err.errors:
        body["errors"] = err.errors
    body.update(err.extra)
    response = Response(orjson.dumps(body), status=err.status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    for name, value in err.headers.items():
        response.headers[name] = value
    if err.status == 503 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = "2"
    return response


def _from_http_exception(exc: HTTPException) -> ApiError:
    status = exc.code or 500
    code = _CODE_OF_STATUS.get(status, "internal_error" if status >= 500 else "bad_request")
    if status == 422:
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages") if isinstance(data, Mapping) else None
        errors: dict[str, list[str]] = {}
        if isinstance(messages, Mapping):
            for location_errors in messages.values():  # {"json": {...}} / {"query": {...}}
                errors.update(flatten_messages(location_errors))
        return ApiError("validation_error", errors=errors or None)
    if status == 400:
        return ApiError("bad_request")
    headers: dict[str, str] = {}
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return ApiError(code, headers=headers)


def _is_unavailable(exc: Exception) -> bool:
    if isinstance(exc, PoolTimeoutError | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return error_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return error_response(_from_http_exception(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The request's database session is rolled back and closed when the request ends.
        if _is_unavailable(exc):
            log.warning("database unavailable on %s %s: %s", request.method, request.path,
                        type(exc).__name__)
            return error_response(ApiError("unavailable"))
        request_id = getattr(g, "request_id", None) or uuid.uuid4().hex
        log.exception("internal error, request id %s", request_id)
        return error_response(
            ApiError("internal_error", f"Internal error; request id {request_id}.",
                     extra={"request_id": request_id})
        )
