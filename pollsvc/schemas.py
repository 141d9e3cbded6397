"""Marshmallow schemas: input validation (load) and the documented output shapes (OpenAPI)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from pollsvc.text import text_problem

ARTICLE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
ARTICLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
ARTICLE_ID_ERROR = "1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit."
VISIBILITIES = ("always", "after_vote", "after_close", "never")
DEDUPS = ("token", "ip", "token_and_ip", "user")
INPUT_STATUSES = ("draft", "open", "closed")
OUTPUT_STATUSES = ("draft", "scheduled", "open", "closed", "archived")
PUBLIC_VIEW, ADMIN_VIEW = "public", "admin"
MAX_OPTIONS = 20
MAX_VIEW_POLLS = 20
MAX_POLL_ID = 2**31 - 1
"""Ids past the database's integer range cannot exist."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Enumeration:
    """A named set of strings: validated by ``Choice`` fields, documented once as the component
    schema ``name`` and referenced from every field that takes it."""

    name: str
    values: tuple[str, ...]
    description: str


POLL_STATUS = Enumeration("PollStatus", OUTPUT_STATUSES, (
    "A poll's status as the API shows it: `scheduled` is open with `opens_at` in the future; `closed` is "
    "closed by hand or past `closes_at`; `archived` is hidden from the public."))
POLL_INPUT_STATUS = Enumeration("PollInputStatus", INPUT_STATUSES, (
    "The status an admin sets: `draft` (not public), `open` or `closed`."))
DEDUP = Enumeration("Dedup", DEDUPS, (
    "How the poll tells voters apart: `token` (X-Voter-Token), `ip` (client IP), `token_and_ip` (both must "
    "be new), `user` (X-Poll-User signed by the host site)."))
RESULTS_VISIBILITY = Enumeration("ResultsVisibility", VISIBILITIES, (
    "Who sees the counts: `always`; `after_vote` (voters, and everyone once closed); `after_close`; "
    "`never` (only API keys)."))
TIMESERIES_INTERVAL = Enumeration("TimeseriesInterval", ("hour", "day"), "The width of a timeseries bucket (UTC).")
REPORT_SORT = Enumeration("ReportSort", ("participants", "engagement"), "The order of the polls report.")
BURST_VERDICT = Enumeration("BurstVerdict", ("stuffing", "surge"), (
    "`stuffing`: the burst's ballots came with tokens minted minutes before on the same network, or one "
    "network cast far more than typical ones; `surge`: spread over many networks (an article going viral)."))
PUBLIC_POLL_VIEW = Enumeration("PublicPollView", (PUBLIC_VIEW,), (
    "Marks the public view of a poll (what a reader sees, counts by `results_visibility`)."))
ADMIN_POLL_VIEW = Enumeration("AdminPollView", (ADMIN_VIEW,), (
    "Marks the admin view of a poll (API keys: all counts, `dedup`, timestamps, `total_votes`)."))
ENUMERATIONS = (POLL_STATUS, POLL_INPUT_STATUS, DEDUP, RESULTS_VISIBILITY, TIMESERIES_INTERVAL, REPORT_SORT,
                BURST_VERDICT, PUBLIC_POLL_VIEW, ADMIN_POLL_VIEW)


class Choice(fields.String):
    """A string of an ``Enumeration`` (validated on load; documented as a ``$ref`` to it)."""

    def __init__(self, enumeration: Enumeration, **kwargs: Any) -> None:
        super().__init__(validate=validate.OneOf(enumeration.values), **kwargs)
        self.enumeration = enumeration


def is_article_id(value: str) -> bool:
    return ARTICLE_ID.fullmatch(value) is not None


def _validate_article_id(value: str) -> None:
    if not is_article_id(value):
        raise ValidationError(ARTICLE_ID_ERROR)


def article_id_field(**kwargs: Any) -> fields.String:
    return fields.String(validate=_validate_article_id, metadata={"pattern": ARTICLE_ID_PATTERN}, **kwargs)


def label_key(label: str) -> str:
    """What label uniqueness compares: NFC-normalised, casefolded text."""
    return unicodedata.normalize("NFC", label).casefold()


class StrictInteger(fields.Integer):
    """An integer that is really one: no strings, floats or booleans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return int(super()._deserialize(value, attr, data, **kwargs))


class Timestamp(fields.AwareDateTime):
    """An ISO 8601 timestamp with a timezone, in a range every database and UTC conversion can hold.

    Years 1 and 9999 with an offset overflow when converted to UTC; nothing sane needs them.
    """

    MIN_YEAR, MAX_YEAR = 1970, 9000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if (isinstance(value, str) and not value.isascii()) or _CONTROL_OR_NEWLINE.search(str(value)):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        result = super()._deserialize(value, attr, data, **kwargs)
        if not self.MIN_YEAR <= result.year <= self.MAX_YEAR:
            raise ValidationError(f"Must be between the years {self.MIN_YEAR} and {self.MAX_YEAR}.")
        return result


class TrimmedText(fields.String):
    """A string trimmed on load; control characters refused (newlines only where allowed)."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.forbidden = _CONTROL if multiline else _CONTROL_OR_NEWLINE

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs)).strip()
        if self.forbidden.search(text):
            raise ValidationError("Control characters are not allowed.")
        if _SURROGATE.search(text):
            raise ValidationError("Not valid Unicode (unpaired surrogate).")
        problem = text_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


class OptionInSchema(Schema):
    label = TrimmedText(required=True, validate=validate.Length(min=1, max=200))


def _validate_options(options: list[dict[str, str]]) -> None:
    if not MAX_OPTIONS >= len(options) >= 2:
        raise ValidationError(f"Give between 2 and {MAX_OPTIONS} options.")
    seen: set[str] = set()
    for option in options:
        key = label_key(option["label"])
        if key in seen:
            raise ValidationError(f"Option labels must be unique: {option['label']!r} is repeated.")
        seen.add(key)


class PollFieldsMixin:
    question = TrimmedText(validate=validate.Length(min=1, max=500),
                           metadata={"description": "1-500 characters after trimming."})
    description = TrimmedText(multiline=True, allow_none=True, validate=validate.Length(max=2000),
                              metadata={"description": "At most 2000 characters; empty means null."})
    options = fields.List(fields.Nested(OptionInSchema), validate=_validate_options,
                          metadata={"description": "2-20 options, labels unique (case-insensitive)."})
    max_choices = StrictInteger(validate=validate.Range(min=1, max=MAX_OPTIONS))
    opens_at = Timestamp(allow_none=True)
    closes_at = Timestamp(allow_none=True)
    results_visibility = Choice(RESULTS_VISIBILITY)
    dedup = Choice(DEDUP)
    status = Choice(POLL_INPUT_STATUS)


class PollCreateSchema(PollFieldsMixin, Schema):
    article_id = article_id_field(required=True)
    question = TrimmedText(required=True, validate=validate.Length(min=1, max=500))
    options = fields.List(fields.Nested(OptionInSchema), required=True, validate=_validate_options)

    @validates_schema
    def _max_choices_fit(self, data: dict[str, Any], **_: Any) -> None:
        options = data.get("options")
        if options is not None and data.get("max_choices", 1) > len(options):
            raise ValidationError("Must be at most the number of options.", "max_choices")
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            raise ValidationError("Must be after opens_at.", "closes_at")


class PollUpdateSchema(PollFieldsMixin, Schema):
    article_id = article_id_field()


class VoteInSchema(Schema):
    option_ids = fields.List(StrictInteger(), required=True,
                             metadata={"description": "Ids of the chosen options (1..max_choices)."})


class ViewsInSchema(Schema):
    polls = fields.List(
        StrictInteger(validate=validate.Range(min=1, max=MAX_POLL_ID)), required=True,
        validate=validate.Length(min=1, max=MAX_VIEW_POLLS),
        metadata={"description": f"Ids of the polls that became viewable (1-{MAX_VIEW_POLLS}; repeats count once)."})


class PollListQuerySchema(Schema):
    article_id = article_id_field()
    status = Choice(POLL_STATUS)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ReportQuerySchema(PollListQuerySchema):
    from_ = Timestamp(data_key="from")
    to = Timestamp()
    sort = Choice(REPORT_SORT, load_default="participants",
                         metadata={"description": "`participants` (default): most participants, then most votes, "
                                                  "then oldest first. `engagement`: highest engagement rate first "
                                                  "(exact, before rounding), polls without views last, then most "
                                                  "participants, then oldest first."})


class AuditQuerySchema(Schema):
    poll_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class TimeseriesQuerySchema(Schema):
    interval = Choice(TIMESERIES_INTERVAL, load_default="hour")


# ---- output shapes (documentation and response validation) ----


class OptionOutSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(required=True)
    votes = fields.Integer(allow_none=True, required=True)
    percent = fields.Float(allow_none=True, required=True)


class PollOutSchema(Schema):
    view = Choice(PUBLIC_POLL_VIEW, required=True)
    id = fields.Integer(required=True)
    article_id = fields.String(required=True)
    question = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    max_choices = fields.Integer(required=True)
    status = Choice(POLL_STATUS, required=True)
    opens_at = fields.DateTime(allow_none=True, required=True)
    closes_at = fields.DateTime(allow_none=True, required=True)
    results_visibility = Choice(RESULTS_VISIBILITY, required=True)
    results_visible = fields.Boolean(required=True)
    participants = fields.Integer(required=True)
    has_voted = fields.Boolean(required=True)
    options = fields.List(fields.Nested(OptionOutSchema), required=True)
    voter_pass = fields.String(required=True, allow_none=True, metadata={
        "description": "When has_voted (else null): the poll's voter pass, the same for all its voters. Re-read "
                       "with `?voter_pass=` (no receipt, no token) to see what a voter sees through a shared "
                       "cache: live results for voters cost the origin one read per poll, not one per voter."})


class AdminPollOutSchema(PollOutSchema):
    view = Choice(ADMIN_POLL_VIEW, required=True)
    dedup = Choice(DEDUP, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    total_votes = fields.Integer(required=True)


class ArticlePollsOutSchema(Schema):
    article_id = fields.String(required=True)
    polls = fields.List(fields.Nested(PollOutSchema), required=True)


class VoterInSchema(Schema):
    altcha = fields.String(metadata={"description": "The solution of a challenge from GET /api/v1/voters/challenge: "
                                                    "base64 of {\"challenge\": ..., \"solution\": {\"counter\": n, "
                                                    "\"derivedKey\": hex}} (ALTCHA v2 Payload.to_base64())."})


class VoterOutSchema(Schema):
    voter_token = fields.String(required=True)
    expires_at = fields.DateTime(required=True, metadata={
        "description": "When the token stops being accepted (POLLSVC_VOTER_TOKEN_MAX_AGE after it was made); "
                       "a vote with an expired token gets 400 invalid_voter_token."})


class ChallengeParametersSchema(Schema):
    algorithm = fields.String(required=True, metadata={"example": "PBKDF2/SHA-256"})
    nonce = fields.String(required=True)
    salt = fields.String(required=True)
    cost = fields.Integer(required=True, metadata={"description": "PBKDF2 iterations per attempt."})
    keyLength = fields.Integer(required=True)
    keyPrefix = fields.String(required=True, metadata={
        "description": "Hex prefix the derived key must start with."})
    expiresAt = fields.Integer(required=True)
    data = fields.Dict()


class ChallengeSchema(Schema):
    """An ALTCHA v2 challenge, exactly as the altcha library's Challenge.to_dict() writes it."""

    parameters = fields.Nested(ChallengeParametersSchema, required=True)
    signature = fields.String(required=True)


RECEIPT_DESCRIPTION = ("A receipt of this voter's ballot in the poll. Send it back with reads (header "
                       "`X-Poll-Receipt`) to be shown the poll as its voter, without a voter token.")


class VoteOutSchema(Schema):
    poll = fields.Nested(PollOutSchema, required=True)
    receipt = fields.String(required=True, metadata={"description": RECEIPT_DESCRIPTION})


class PageSchema(Schema):
    """What every paginated list has besides its items."""

    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


VIEWS_DESCRIPTION = ("Viewable impressions: readers who had at least half of the poll on screen for a second, "
                     "once per page view (the same address counts once per poll every 10 minutes). Counted "
                     "in batches: a few seconds behind.")
ENGAGEMENT_DESCRIPTION = ("participants / views x 100, rounded half up to one decimal; null without views. It may "
                          "pass 100: ballots cast without a counted view (API clients, a page left within a "
                          "second) and views reach the reports a few seconds after the votes.")


def views_field() -> fields.Integer:
    return fields.Integer(required=True, metadata={"description": VIEWS_DESCRIPTION})


def engagement_rate_field() -> fields.Float:
    return fields.Float(allow_none=True, required=True, metadata={"description": ENGAGEMENT_DESCRIPTION})


class AdminPollListItemSchema(AdminPollOutSchema):
    """A poll of the admin list: the admin view with its views and engagement rate."""

    views = views_field()
    engagement_rate = engagement_rate_field()


class PollPageSchema(PageSchema):
    items = fields.List(fields.Nested(AdminPollListItemSchema), required=True)


class ResultOptionSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(required=True)
    votes = fields.Integer(required=True)
    percent = fields.Float(required=True)


class ResultsOutSchema(Schema):
    poll_id = fields.Integer(required=True)
    participants = fields.Integer(required=True)
    total_votes = fields.Integer(required=True)
    voided = fields.Integer(required=True, metadata={"description": "Ballots voided by an admin: stored, not counted."})
    views = views_field()
    engagement_rate = engagement_rate_field()
    options = fields.List(fields.Nested(ResultOptionSchema), required=True)
    first_vote_at = fields.DateTime(allow_none=True, required=True)
    last_vote_at = fields.DateTime(allow_none=True, required=True)


class BucketSchema(Schema):
    start = fields.DateTime(required=True)
    participants = fields.Integer(required=True)
    views = fields.Integer(required=True, metadata={"description": "Viewable impressions in the bucket."})


class TimeseriesOutSchema(Schema):
    poll_id = fields.Integer(required=True)
    interval = Choice(TIMESERIES_INTERVAL, required=True)
    buckets = fields.List(fields.Nested(BucketSchema), required=True, metadata={
        "description": "UTC buckets, contiguous from the first that had participants or views to the last "
                       "(empty ones with 0), at most 2,000 (the latest); none: []."})


class ReportItemSchema(Schema):
    poll_id = fields.Integer(required=True)
    article_id = fields.String(required=True)
    question = fields.String(required=True)
    status = Choice(POLL_STATUS, required=True)
    participants = fields.Integer(required=True)
    total_votes = fields.Integer(required=True)
    voided = fields.Integer(required=True)
    views = views_field()
    engagement_rate = engagement_rate_field()


class ReportPageSchema(PageSchema):
    items = fields.List(fields.Nested(ReportItemSchema), required=True)


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    api_key_name = fields.String(allow_none=True, required=True)
    action = fields.String(required=True)
    poll_id = fields.Integer(allow_none=True, required=True)
    details = fields.Dict(allow_none=True, required=True)


class AuditPageSchema(PageSchema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True)


NETWORK_LABEL = "A network (/24 or /48) as a label: 12 hex digits of a keyed hash, never the address."


class IntegrityNetworkSchema(Schema):
    network = fields.String(required=True, metadata={"description": NETWORK_LABEL})
    ballots = fields.Integer(required=True)
    voided = fields.Integer(required=True)
    first_vote_at = fields.DateTime(allow_none=True, required=True)
    last_vote_at = fields.DateTime(allow_none=True, required=True)
    tokens_minted = fields.Integer(required=True, metadata={
        "description": "Voter tokens this network minted while the poll took its ballots."})
    mean_token_age_seconds = fields.Integer(allow_none=True, required=True, metadata={
        "description": "How old the voter tokens of its ballots were when they voted."})
    flagged = fields.Boolean(required=True)


class BurstSchema(Schema):
    id = fields.String(required=True, metadata={"description": "What POST .../voids takes as `burst`."})
    network = fields.String(allow_none=True, required=True, metadata={
        "description": NETWORK_LABEL + " null: a burst of the whole poll."})
    start = fields.DateTime(required=True)
    end = fields.DateTime(required=True)
    ballots = fields.Integer(required=True)
    peak_per_minute = fields.Integer(required=True)
    verdict = Choice(BURST_VERDICT, required=True)
    reasons = fields.List(fields.String(), required=True)


class MinuteSchema(Schema):
    start = fields.DateTime(required=True)
    ballots = fields.Integer(required=True)


class IntegrityReportSchema(Schema):
    poll_id = fields.Integer(required=True)
    ballots = fields.Integer(required=True, metadata={"description": "Counted ballots (voided ones excluded)."})
    voided = fields.Integer(required=True)
    networks = fields.Integer(required=True)
    flagged_ballots = fields.Integer(required=True, metadata={
        "description": "Ballots in stuffing bursts and in concentrated networks."})
    top_share = fields.Dict(keys=fields.String(), values=fields.Float(), required=True, metadata={
        "description": "Percent of the counted ballots from the top 1 and top 5 networks."})
    top_networks = fields.List(fields.Nested(IntegrityNetworkSchema), required=True)
    bursts = fields.List(fields.Nested(BurstSchema), required=True)
    minutes = fields.List(fields.Nested(MinuteSchema), required=True)
    generated_at = fields.DateTime(required=True)


class VoidInSchema(Schema):
    burst = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "A network burst's id from the integrity report."})
    network = fields.String(validate=validate.Regexp(r"^[0-9a-f]{12}$"), metadata={"description": NETWORK_LABEL})
    from_ = Timestamp(data_key="from")
    to = Timestamp(allow_none=True, metadata={"description": "Exclusive; default: now."})

    @validates_schema
    def _one_way(self, data: dict[str, Any], **_: Any) -> None:
        if ("burst" in data) == ("network" in data or "from_" in data):
            raise ValidationError("Give either burst, or network and from (and to).", "_schema")
        if "network" in data and "from_" not in data:
            raise ValidationError("Missing data for required field.", "from")
        if "from_" in data and "network" not in data:
            raise ValidationError("Missing data for required field.", "network")


class VoidOutSchema(Schema):
    id = fields.Integer(required=True)
    poll_id = fields.Integer(required=True)
    network = fields.String(required=True, allow_none=True, metadata={
        "description": NETWORK_LABEL + " Null once `pollsvc purge` has forgotten the poll's networks."})
    from_ = fields.DateTime(data_key="from", required=True)
    to = fields.DateTime(required=True)
    burst = fields.String(allow_none=True, required=True)
    ballots = fields.Integer(required=True, metadata={"description": "Ballots the void set aside."})
    created_at = fields.DateTime(required=True)
    created_by = fields.String(allow_none=True, required=True)
    restored_at = fields.DateTime(allow_none=True, required=True)
    restored_by = fields.String(allow_none=True, required=True)


class VoidListSchema(Schema):
    items = fields.List(fields.Nested(VoidOutSchema), required=True)


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    poll = fields.Nested(PollOutSchema)
    receipt = fields.String(metadata={"description": "With `already_voted`: " + RECEIPT_DESCRIPTION})
    challenge = fields.Nested(ChallengeSchema, metadata={"description": "With `challenge_required`: a fresh one."})
    request_id = fields.String()
    database = fields.String()
