"""The OpenAPI document's shared parts, registered once when the app is built: info, servers, the
default security, the named enumerations, and the headers, parameters and responses that the
operations (``pollsvc.api.docs``) reference. Nothing here runs per request.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.field_converter import FieldConverterMixin
from marshmallow import fields

from pollsvc.api.examples import error_examples
from pollsvc.schemas import ENUMERATIONS, Choice, ErrorSchema

DESCRIPTION = """\
Polls and deduplicated votes for news sites: the public API the embedded widget uses (no key),
and the admin and reporting API (`Authorization: Bearer <api key>`, roles `admin` and `reporter`;
keys are made with `pollsvc create-api-key`).

- **Errors**: every error is `{"error": <code>, "message": <text>}` (plus `errors` for validation
  errors, `poll` and `receipt` for `already_voted`); the codes are stable.
- **Caching**: public reads send a strong `ETag`; send it back in `If-None-Match` to get `304` with
  no body while nothing changed. `X-Poll-Refresh` says when to read an open poll again.
- **Rate limits**: public endpoints are limited per client IP (`X-RateLimit-*` headers); over the
  limit: `429` with `Retry-After`. A backing store down: `503` with `Retry-After`.
- **Poll views**: `view` is `public` or `admin` in every poll object, telling the two shapes apart.

Vietnamese is the widget's default language; questions and labels are stored as given (UTF-8).
"""

SERVERS = [{"url": "/", "description": "This service: the origin that serves this document."}]
BEARER = "bearerAuth"
OPTIONAL_KEY: list[dict[str, list[str]]] = [{}, {BEARER: []}]
"""The document's default security: no key, or an API key. Only ``getPoll`` inherits it (its
answer depends on the key); every other operation states its own (``[]`` or the key)."""

HEADERS: dict[str, dict[str, Any]] = {
    "RequestId": {"description": "This request's id (the client's `X-Request-ID` if it sent a valid one); "
                                 "logged with any error.",
                  "schema": {"type": "string", "example": "5f2a9c0b1e7d00000a31"}},
    "ETag": {"description": "A strong validator of the body: send it back as `If-None-Match` to get `304` "
                            "while it is unchanged.",
             "schema": {"type": "string", "example": '"fef80c49db76a5d4e9660852"'}},
    "CacheControl": {"description": "How long caches may keep the answer.", "schema": {"type": "string",
                                                                                       "example": "no-store"}},
    "Vary": {"description": "The request headers the answer depends on.", "schema": {
        "type": "string", "example": "X-Voter-Token, X-Poll-User, X-Poll-Receipt, Authorization, Origin"}},
    "PollRefresh": {"description": "Present while a poll in the answer is open: read again after this many "
                                   "seconds (with `If-None-Match`) to show new votes live; absent: the counts no "
                                   "longer move.", "schema": {"type": "integer", "minimum": 1, "example": 2}},
    "RetryAfter": {"description": "Seconds to wait before trying again.",
                   "schema": {"type": "integer", "minimum": 1, "example": 30}},
    "RateLimitLimit": {"description": "Requests allowed in the current window of the client's limit.",
                       "schema": {"type": "integer", "minimum": 0, "example": 600}},
    "RateLimitRemaining": {"description": "Requests left in that window.",
                           "schema": {"type": "integer", "minimum": 0, "example": 587}},
    "RateLimitReset": {"description": "When that window ends (Unix time, seconds).",
                       "schema": {"type": "integer", "example": 1772438340}},
    "Location": {"description": "The URL of the created poll.",
                 "schema": {"type": "string", "example": "/api/v1/polls/7"}},
    "ReplicaLag": {"description": "Present when a read replica answered (`POLLSVC_DATABASE_REPLICA_URL`): an upper "
                                 "bound, in seconds, of how far it may be behind the primary (at most "
                                 "`POLLSVC_REPLICA_MAX_LAG`); absent: the primary answered, exact.",
                   "schema": {"type": "number", "minimum": 0, "example": 0.031}},
    "ContentDisposition": {"description": "The file name to save the CSV as.", "schema": {
        "type": "string", "example": 'attachment; filename="poll-7-results.csv"'}},
}
"""Response headers (``components/headers``), by component name."""

PARAMETERS: dict[str, dict[str, Any]] = {
    "IfNoneMatch": {
        "in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string", "maxLength": 1000},
        "description": "The `ETag` of an earlier answer: `304` with no body while the answer is unchanged.",
    },
    "VoterToken": {
        "in": "header", "name": "X-Voter-Token", "required": False, "schema": {"type": "string", "maxLength": 200},
        "description": "A token from `POST /api/v1/voters` (polls with dedup `token` or `token_and_ip`).",
    },
    "PollUser": {
        "in": "header", "name": "X-Poll-User", "required": False,
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._\-@]{1,128}:[0-9]{1,12}:[0-9A-Fa-f]{64}$"},
        "description": "`<user_id>:<unix_expiry>:<hex HMAC-SHA256>` signed by the host site (dedup `user`).",
    },
    "PollReceipt": {
        "in": "header", "name": "X-Poll-Receipt", "required": False, "schema": {"type": "string", "maxLength": 1280},
        "description": "Receipts from earlier votes (the `receipt` of a vote's answer), separated by commas or "
                       "spaces, at most 20. A reader who sends the receipt of a poll is told `has_voted: true` for "
                       "it (and sees what a voter sees) without sending a voter token.",
    },
    "VoterPass": {
        "in": "query", "name": "voter_pass", "required": False,
        "schema": {"type": "string", "maxLength": 340, "pattern": "^[A-Za-z0-9_.-]*$"},
        "description": "Voter passes (`voter_pass` of a poll a reader voted in), separated by dots: the answer is "
                       "what a voter of those polls sees, and stays a shared, cacheable answer.",
    },
}
"""Request parameters (``components/parameters``), by component name."""

DEFAULT_ERROR = "UnexpectedError"
"""The ``default`` response of every operation: any other error (405 ``method_not_allowed``...)."""


def package_version() -> str:
    try:
        return version("pollsvc")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


class PollsMarshmallowPlugin(MarshmallowPlugin):
    """apispec's marshmallow plugin, documenting ``Choice`` fields as references to their
    enumeration from the start (flask-smorest converts the error schema as soon as it is built)."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        assert self.converter is not None
        self.converter.add_attribute_function(choice_reference)


def spec_options() -> dict[str, Any]:
    """The document's top level and plugin, as ``Api(spec_kwargs=...)`` takes them."""
    return {
        "marshmallow_plugin": PollsMarshmallowPlugin(),
        "info": {
            "description": DESCRIPTION,
            "license": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"},
            "contact": {"name": "The pollsvc authors"},
        },
        "servers": SERVERS,
        "security": OPTIONAL_KEY,
    }


def register_components(spec: APISpec) -> None:
    """Add the shared components to ``spec``."""
    spec.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer"})
    for enumeration in ENUMERATIONS:
        spec.components.schema(enumeration.name, {"type": "string", "enum": list(enumeration.values),
                                                  "description": enumeration.description})
    for name, header in HEADERS.items():
        spec.components.header(name, header)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter)
    spec.components.response(DEFAULT_ERROR, {
        "description": "Any other error, such as `405 method_not_allowed` (with `Allow`), in the same shape.",
        "headers": {"X-Request-ID": "RequestId", "Cache-Control": "CacheControl"},
        "content": {"application/json": {"schema": ErrorSchema, "examples": error_examples(405)}},
    })


def choice_reference(self: FieldConverterMixin, field: fields.Field, ret: dict[str, Any],
                     **_: Any) -> dict[str, Any]:
    """A ``Choice`` field as ``$ref`` to its enumeration. Keywords that a ``$ref`` may not carry
    beside it in OpenAPI 3.0 (description, default, nullable) keep it in an ``allOf``."""
    if not isinstance(field, Choice):
        return {}
    extra = {key: value for key, value in ret.items() if key not in ("type", "enum")}
    ret.clear()
    reference = {"$ref": f"#/components/schemas/{field.enumeration.name}"}
    return {"allOf": [reference], **extra} if extra else reference
