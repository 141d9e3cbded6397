"""OpenAPI documentation next to each view, without wrapping it.

flask-smorest's ``response``/``alt_response``/``doc`` decorators each add a wrapper that runs on
every request. ``documented`` applies them to a throwaway copy of the view and keeps only the
documentation they produce (``_apidoc``, which flask-smorest reads when the blueprint is
registered): the view itself runs bare and returns its own ``Response``.

Headers and parameters are references to the components of ``pollsvc.api.openapi``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask_smorest import Blueprint
from marshmallow import Schema

from pollsvc.api.examples import error_examples
from pollsvc.api.openapi import BEARER
from pollsvc.errors import STATUS_OF
from pollsvc.schemas import ErrorSchema

F = TypeVar("F", bound=Callable[..., Any])

_DESCRIPTIONS = {
    400: "Bad request, voter token or user assertion.",
    401: "Missing or invalid API key.",
    403: "The key's role may not do this, or no valid proof of work.",
    404: "Not found.",
    409: "Conflict with the poll's state or an earlier ballot.",
    413: "Body too large.",
    422: "Validation error.",
    429: "Rate limited (or too many failed API-key attempts from this address); see Retry-After.",
    500: "A bug: logged with the request id.",
    503: "A backing store is unavailable; nothing was written. See Retry-After.",
}
SECURED: dict[str, Any] = {"security": [{BEARER: []}]}
PUBLIC: dict[str, Any] = {"security": []}
"""An operation with neither inherits the document's default: no key, or a key (``getPoll``)."""

HEADER_COMPONENTS = {
    "X-Request-ID": "RequestId", "ETag": "ETag", "Cache-Control": "CacheControl", "Vary": "Vary",
    "X-Poll-Refresh": "PollRefresh", "Retry-After": "RetryAfter", "X-RateLimit-Limit": "RateLimitLimit",
    "X-RateLimit-Remaining": "RateLimitRemaining", "X-RateLimit-Reset": "RateLimitReset", "Location": "Location",
    "Content-Disposition": "ContentDisposition", "X-Replica-Lag": "ReplicaLag",
}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
READ_HEADERS = ("ETag", "Cache-Control", "Vary", "X-Poll-Refresh")
"""The headers of the public reads: conditional, cacheable, and live while a poll is open."""
IDENTITY_PARAMETERS = ["VoterToken", "PollUser"]
"""The voter identity headers: required by a vote as the poll's dedup says, optional on reads."""
READ_PARAMETERS = [*IDENTITY_PARAMETERS, "PollReceipt", "VoterPass", "IfNoneMatch"]


def response_headers(names: Iterable[str], *, rate_limited: bool = False) -> dict[str, str]:
    """``names`` (and ``X-Request-ID``, which every answer has) as references to their components."""
    every = ["X-Request-ID", *names, *(RATE_LIMIT_HEADERS if rate_limited else ())]
    return {name: HEADER_COMPONENTS[name] for name in every}


def documented(blp: Blueprint, status: int, schema: Any = None, *, operation_id: str, errors: Iterable[int] = (),
               headers: Iterable[str] = (), example: Any = None, response_description: str | None = None,
               content_type: str | None = None, not_modified: bool = False, **doc: Any) -> Callable[[F], F]:
    """Document an operation: its success response ``status`` (``schema``, ``example``, the
    response ``headers`` it sends), its error statuses (plus 500 and 503, which any endpoint may
    answer, and 429 where a key is checked), and with ``not_modified`` the ``304`` answer to
    ``If-None-Match``. ``doc``: anything ``Blueprint.doc`` takes (security, parameters, requestBody...).

    Applied to a view that is ``@rate_limited`` (below it), every response also documents the
    ``X-RateLimit-*`` headers.
    """
    errors = set(errors)
    if 401 in errors:  # an address that failed too many keys is refused before its key is looked at
        errors.add(429)
    statuses = sorted({*errors, 500, 503})

    def apply(view: F) -> F:
        limited = hasattr(view, "rate_limit_scope")
        decorators = [
            blp.response(status, schema, description=response_description, content_type=content_type,
                         example=example, headers=response_headers(headers, rate_limited=limited)),
            *error_responses(blp, statuses, rate_limited=limited),
            blp.doc(operationId=operation_id, **doc),
        ]
        if not_modified:
            decorators.append(blp.alt_response(
                304, description="Not modified: the answer is unchanged since the `ETag` sent in `If-None-Match`. "
                                 "No body.", headers=response_headers(READ_HEADERS, rate_limited=limited)))
        probe: Any = view
        for decorate in decorators:
            probe = decorate(probe)
        view._apidoc = probe._apidoc  # type: ignore[attr-defined]
        return view

    return apply


def error_responses(blp: Blueprint, statuses: Iterable[int], *, rate_limited: bool) -> list[Callable[[Any], Any]]:
    decorators = []
    for status in statuses:
        codes = ", ".join(f"`{c}`" for c, s in STATUS_OF.items() if s == status)
        names = ["Cache-Control", *(["Retry-After"] if status in (429, 503) else [])]
        decorators.append(blp.alt_response(
            status, schema=ErrorSchema, description=f"{_DESCRIPTIONS.get(status, 'Error.')} {codes}",
            examples=error_examples(status), headers=response_headers(names, rate_limited=rate_limited)))
    return decorators


def json_request(schema: type[Schema] | Schema, example: Any, *, required: bool = True,
                 description: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"required": required, "content": {"application/json": {"schema": schema,
                                                                                  "example": example}}}
    if description:
        body["description"] = description
    return {"requestBody": body}
