"""OpenAPI helpers: document error responses and the bearer scheme next to each view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema

from pollsvc.errors import STATUS_OF
from pollsvc.schemas import ErrorSchema

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
IDENTITY_HEADERS: list[dict[str, Any]] = [
    {"in": "header", "name": "X-Voter-Token", "required": False, "schema": {"type": "string", "maxLength": 200},
     "description": "A token from POST /api/v1/voters (polls with dedup token or token_and_ip)."},
    {"in": "header", "name": "X-Poll-User", "required": False,
     "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._\-@]{1,128}:[0-9]{1,12}:[0-9A-Fa-f]{64}$"},
     "description": "<user_id>:<unix_expiry>:<hex HMAC-SHA256> signed by the host site (dedup user)."},
]
"""The voter identity headers: required by a vote as the poll's dedup says, optional on reads."""
PUBLIC: dict[str, Any] = {"security": []}


def errors(blp: Blueprint, *statuses: int) -> Callable[[Any], Any]:
    """Add the given error statuses (and 500/503, which any endpoint may answer) to the docs."""

    def decorator(view: Any) -> Any:
        for status in sorted({*statuses, 500, 503}):
            codes = ", ".join(f"`{c}`" for c, s in STATUS_OF.items() if s == status)
            view = blp.alt_response(
                status, schema=ErrorSchema, description=f"{_DESCRIPTIONS.get(status, 'Error.')} {codes}"
            )(view)
        return view

    return decorator


def json_request(schema: type[Schema] | Schema, *, required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}
