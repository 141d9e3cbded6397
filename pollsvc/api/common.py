"""What every view shares: strict JSON bodies, JSON responses, poll ids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from flask import Response, request
from marshmallow import Schema, ValidationError

from pollsvc.errors import ApiError, flatten_messages, validation_error

MAX_DB_INT = 2**31 - 1
NO_STORE = {"Cache-Control": "no-store"}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body(mimetypes: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    """The body as a JSON object; 400 ``bad_request`` for anything else (or another content
    type than ``mimetypes``).

    The standard library parses it (orjson would turn integers past 64 bits into floats), refusing
    NaN and Infinity, nesting too deep to parse, and unpaired surrogates (valid JSON escapes that
    are not Unicode: they could be neither stored nor echoed in an error).
    """
    if request.mimetype not in mimetypes:
        raise ApiError("bad_request", f"Send the body as {' or '.join(mimetypes)}.")
    try:
        data = json.loads(request.get_data(cache=True), parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError("bad_request", "The body is not valid JSON (UTF-8), or is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ApiError("bad_request", "The body must be a JSON object.")
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        raise ApiError("bad_request", "The body contains an unpaired surrogate (\\uD800-\\uDFFF).") from None
    return data


def load_body(schema: Schema, *, partial: bool = False,
              mimetypes: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    data = json_body(mimetypes)
    try:
        # Partial means "any subset of the top-level fields": nested items (options) stay whole.
        loaded: dict[str, Any] = schema.load(data, partial=tuple(schema.fields) if partial else False)
    except ValidationError as exc:
        raise validation_error(flatten_messages(exc.messages)) from None
    return loaded


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(orjson.dumps(body), status=status, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response


def check_poll_id(poll_id: int) -> int:
    """Ids past the database's integer range cannot exist: 404, not a database error."""
    if not 1 <= poll_id <= MAX_DB_INT:
        raise ApiError("not_found", "No such poll.")
    return poll_id
