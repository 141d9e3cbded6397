"""OpenAPI documentation next to each view, without wrapping it.

flask-smorest's ``response``/``alt_response``/``doc`` decorators each add a wrapper that runs on
every request. ``documented`` applies them to a throwaway copy of the view and keeps only the
documentation they produce (``_apidoc``, which flask-smorest reads when the blueprint is
registered): the view itself runs bare and returns its own ``Response``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask_smorest import Blueprint
from marshmallow import Schema

from pollsvc.errors import STATUS_OF
from pollsvc.schemas import ErrorSchema

F = TypeVar("F", bound=Callable[..., Any])

_DESCRIPTIONS = {
    400: "Bad request, voter token or user assertion.",
    401: "Missing or invalid API key.",
    403: "The key's role may not do this.",
    404: "Not found.",
    409: "Conflict with the poll's state or an earlier ballot.",
    413: "Body too large.",
    422: "Validation error.",
    429: "Rate limited; see Retry-After.",
    503: "A backing store is unavailable; see Retry-After.",
}
SECURED: dict[str, Any] = {"security": [{"bearerAuth": []}]}
PUBLIC: dict[str, Any] = {"security": []}
NO_STORE_DOC: dict[str, Any] = {"Cache-Control": {"schema": {"type": "string", "example": "no-store"}}}
IDENTITY_HEADERS: list[dict[str, Any]] = [
    {"in": "header", "name": "X-Voter-Token", "required": False, "schema": {"type": "string", "maxLength": 200},
     "description": "A token from POST /api/v1/voters (polls with dedup token or token_and_ip)."},
    {"in": "header", "name": "X-Poll-User", "required": False,
     "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._\-@]{1,128}:[0-9]{1,12}:[0-9A-Fa-f]{64}$"},
     "description": "<user_id>:<unix_expiry>:<hex HMAC-SHA256> signed by the host site (dedup user)."},
]
"""The voter identity headers: required by a vote as the poll's dedup says, optional on reads."""
VOTER_PASS_PARAMETER: dict[str, Any] = {
    "in": "query", "name": "voter_pass", "required": False,
    "schema": {"type": "string", "maxLength": 340, "pattern": "^[A-Za-z0-9_.-]*$"},
    "description": "Voter passes (`voter_pass` of a poll a reader voted in), separated by dots: the answer "
                   "is what a voter of those polls sees, and stays a shared, cacheable answer.",
}
READ_HEADERS: dict[str, Any] = {
    "ETag": {"schema": {"type": "string"}, "description": "Send it back as If-None-Match: 304 while unchanged."},
    "Cache-Control": {"schema": {"type": "string", "example": "public, max-age=1, stale-while-revalidate=4"}},
    "X-Poll-Refresh": {"schema": {"type": "integer", "example": 2}, "description":
                       "Present while a poll in the answer is open: read again after this many seconds (with "
                       "If-None-Match) to show new votes live; absent: the counts no longer move."},
}
"""The headers of the public reads: conditional, cacheable, and live while a poll is open."""
RECEIPT_HEADER: dict[str, Any] = {
    "in": "header", "name": "X-Poll-Receipt", "required": False, "schema": {"type": "string", "maxLength": 1280},
    "description": "Receipts from earlier votes (the `receipt` of a vote's answer), separated by commas or "
                   "spaces, at most 20. A reader who sends the receipt of a poll is told `has_voted: true` "
                   "for it (and sees what a voter sees) without sending a voter token.",
}


def documented(blp: Blueprint, status: int, schema: Any = None, *, errors: Iterable[int] = (),
               **options: Any) -> Callable[[F], F]:
    """Document the success response ``status`` (``schema``) and the error statuses (plus 500
    and 503, which any endpoint may answer); ``options``: ``description``, ``headers``,
    ``content_type`` of the success response, and anything ``Blueprint.doc`` takes."""
    response_keys = ("description", "headers", "content_type", "example")
    response_options = {k: options.pop(k) for k in response_keys if k in options}
    decorators = [blp.response(status, schema, **response_options), *error_responses(blp, errors)]
    if options:
        decorators.append(blp.doc(**options))

    def apply(view: F) -> F:
        probe: Any = view
        for decorate in decorators:
            probe = decorate(probe)
        view._apidoc = probe._apidoc  # type: ignore[attr-defined]
        return view

    return apply


def error_responses(blp: Blueprint, statuses: Iterable[int]) -> list[Callable[[Any], Any]]:
    decorators = []
    for status in sorted({*statuses, 500, 503}):
        codes = ", ".join(f"`{c}`" for c, s in STATUS_OF.items() if s == status)
        decorators.append(blp.alt_response(
            status, schema=ErrorSchema, description=f"{_DESCRIPTIONS.get(status, 'Error.')} {codes}"))
    return decorators


def json_request(schema: type[Schema] | Schema, *, required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}
