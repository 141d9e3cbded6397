"""Examples of the OpenAPI document: one poll of a news article, followed from its creation to its
reports. Spectral checks each against its schema (``tests/test_openapi_tools.py``)."""

from __future__ import annotations

from typing import Any

from pollsvc.errors import DEFAULT_MESSAGE, STATUS_OF

ARTICLE_ID = "gia-xang-dau-tang-tu-15-gio"
QUESTION = "Bạn đánh giá thế nào về việc điều chỉnh giá xăng dầu từ 15 giờ hôm nay?"
DESCRIPTION = "Giá xăng RON 95 tăng 1.200 đồng/lít từ kỳ điều hành này."
LABELS = ("Hợp lý", "Chưa hợp lý", "Không có ý kiến")
VOTES = (412, 803, 69)
PERCENTS = (32.1, 62.5, 5.4)
PARTICIPANTS = sum(VOTES)
CREATED_AT = "2026-03-02T07:58:12.402118Z"
CLOSES_AT = "2026-03-09T17:00:00Z"
VOTER_PASS = "aF4UrUgkhyLmAvc7"
RECEIPT = "7.t.QxROkhUKi8wH_ijp.7i-DeNPNc3L6hBzs"
VOTER_TOKEN = "WyJzMnBZSWxzVktSUEdUS1JGTk5oR253IiwiNmNjMWZjODYzMTA2Il0.awrJkQ.igi164M2sOQAihv_DTz-CNdhGk0"
NETWORK = "6cc1fc863106"

POLL_CREATE: dict[str, Any] = {
    "article_id": ARTICLE_ID,
    "question": QUESTION,
    "description": DESCRIPTION,
    "options": [{"label": label} for label in LABELS],
    "max_choices": 1,
    "closes_at": CLOSES_AT,
    "results_visibility": "after_vote",
    "dedup": "token",
    "status": "open",
}
POLL_UPDATE: dict[str, Any] = {"closes_at": "2026-03-16T17:00:00Z", "results_visibility": "always"}


def _options(visible: bool) -> list[dict[str, Any]]:
    return [{"id": 21 + i, "label": label, "votes": VOTES[i] if visible else None,
             "percent": PERCENTS[i] if visible else None} for i, label in enumerate(LABELS)]


_POLL_FIELDS: dict[str, Any] = {
    "id": 7, "article_id": ARTICLE_ID, "question": QUESTION, "description": DESCRIPTION, "max_choices": 1,
    "status": "open", "opens_at": None, "closes_at": CLOSES_AT, "results_visibility": "after_vote",
}
PUBLIC_POLL: dict[str, Any] = {
    "view": "public", **_POLL_FIELDS, "results_visible": False, "participants": PARTICIPANTS, "has_voted": False,
    "options": _options(False), "voter_pass": None,
}
"""A reader who has not voted in an ``after_vote`` poll: participants, no counts."""
VOTER_POLL: dict[str, Any] = {
    **PUBLIC_POLL, "results_visible": True, "has_voted": True, "options": _options(True), "voter_pass": VOTER_PASS,
}
ADMIN_POLL: dict[str, Any] = {
    "view": "admin", **_POLL_FIELDS, "results_visible": True, "participants": PARTICIPANTS, "has_voted": False,
    "options": _options(True), "voter_pass": None, "dedup": "token", "created_at": CREATED_AT,
    "updated_at": CREATED_AT, "total_votes": PARTICIPANTS,
}
NEW_ADMIN_POLL: dict[str, Any] = {
    **ADMIN_POLL, "participants": 0, "total_votes": 0,
    "options": [{**option, "votes": 0, "percent": 0.0} for option in _options(True)],
}
ARTICLE_POLLS: dict[str, Any] = {"article_id": ARTICLE_ID, "polls": [PUBLIC_POLL]}
VIEWS = 5210
ENGAGEMENT = 24.6
POLL_PAGE: dict[str, Any] = {
    "items": [{**ADMIN_POLL, "views": VIEWS, "engagement_rate": ENGAGEMENT}], "page": 1, "per_page": 20, "total": 1,
}

CHALLENGE: dict[str, Any] = {
    "parameters": {
        "algorithm": "PBKDF2/SHA-256", "cost": 5000, "keyLength": 32, "keyPrefix": "00",
        "nonce": "e313a5b435a3de91aba1b1006746ace6", "salt": "3601232ea3a92c9b3ea075cdc2875315",
        "expiresAt": 1772438292, "data": {"network": NETWORK},
    },
    "signature": "880e3870730e34ae86b1dd4de85207ba6f68fba21824f97364e97c8e4ba7229f",
}
VOTER_IN: dict[str, Any] = {"altcha": "eyJjaGFsbGVuZ2UiOiB7InBhcmFtZXRlcnMiOiB7ImFsZ29yaXRobSI6ICJQQktERjIvU0hBLTI1NiIs"
                                      "ICJjb3N0IjogNTAwMH0sICJzaWduYXR1cmUiOiAiODgwZSJ9LCAic29sdXRpb24iOiB7ImNvdW50ZXIi"
                                      "OiAxNywgImRlcml2ZWRLZXkiOiAiMDBhMSJ9fQ=="}
VOTER_OUT: dict[str, Any] = {"voter_token": VOTER_TOKEN, "expires_at": "2026-03-03T08:01:40.950602Z"}
VOTE_IN: dict[str, Any] = {"option_ids": [22]}
VOTE_OUT: dict[str, Any] = {"poll": VOTER_POLL, "receipt": RECEIPT}
VIEWS_IN: dict[str, Any] = {"polls": [7, 8]}

RESULTS: dict[str, Any] = {
    "poll_id": 7, "participants": PARTICIPANTS, "total_votes": PARTICIPANTS, "voided": 0, "views": VIEWS,
    "engagement_rate": ENGAGEMENT,
    "options": [{"id": 21 + i, "label": label, "votes": VOTES[i], "percent": PERCENTS[i]}
                for i, label in enumerate(LABELS)],
    "first_vote_at": "2026-03-02T08:01:44.120551Z", "last_vote_at": "2026-03-02T10:47:09.803114Z",
}
TIMESERIES: dict[str, Any] = {
    "poll_id": 7, "interval": "hour",
    "buckets": [{"start": "2026-03-02T08:00:00Z", "participants": 731, "views": 2904},
                {"start": "2026-03-02T09:00:00Z", "participants": 402, "views": 1710},
                {"start": "2026-03-02T10:00:00Z", "participants": 151, "views": 596}],
}
RESULTS_CSV = ("\ufeffoption_id,label,votes,percent\r\n"
               + "".join(f"{21 + i},{label},{VOTES[i]},{PERCENTS[i]}\r\n" for i, label in enumerate(LABELS))
               + f"views,Views (viewable impressions),{VIEWS},\r\n"
               + f"engagement_rate,Engagement rate (participants / views),{ENGAGEMENT},\r\n")
REPORT_PAGE: dict[str, Any] = {
    "items": [{"poll_id": 7, "article_id": ARTICLE_ID, "question": QUESTION, "status": "open",
               "participants": PARTICIPANTS, "total_votes": PARTICIPANTS, "voided": 0, "views": VIEWS,
               "engagement_rate": ENGAGEMENT}],
    "page": 1, "per_page": 20, "total": 1,
}
INTEGRITY: dict[str, Any] = {
    "poll_id": 7, "ballots": PARTICIPANTS, "voided": 0, "networks": 911, "flagged_ballots": 0,
    "top_share": {"1": 1.6, "5": 5.9},
    "top_networks": [{"network": NETWORK, "ballots": 21, "voided": 0, "first_vote_at": "2026-03-02T08:02:00Z",
                      "last_vote_at": "2026-03-02T10:41:00Z", "tokens_minted": 23, "mean_token_age_seconds": 1630,
                      "flagged": False}],
    "bursts": [{"id": "poll-1772438520", "network": None, "start": "2026-03-02T08:02:00Z",
                "end": "2026-03-02T08:09:00Z", "ballots": 388, "peak_per_minute": 71, "verdict": "surge",
                "reasons": []}],
    "minutes": [{"start": "2026-03-02T08:02:00Z", "ballots": 71}, {"start": "2026-03-02T08:03:00Z", "ballots": 64}],
    "generated_at": "2026-03-02T10:50:00.117402Z",
}
VOID_IN: dict[str, Any] = {"network": NETWORK, "from": "2026-03-02T09:30:00Z", "to": "2026-03-02T09:45:00Z"}
VOID_OUT: dict[str, Any] = {
    "id": 3, "poll_id": 7, "network": NETWORK, "from": "2026-03-02T09:30:00Z", "to": "2026-03-02T09:45:00Z",
    "burst": None, "ballots": 12, "created_at": "2026-03-02T10:52:31.004116Z", "created_by": "bien-tap-vien",
    "restored_at": None, "restored_by": None,
}
VOID_LIST: dict[str, Any] = {"items": [VOID_OUT]}
AUDIT_PAGE: dict[str, Any] = {
    "items": [{"id": 12, "at": CREATED_AT, "api_key_name": "bien-tap-vien", "action": "create", "poll_id": 7,
               "details": {"question": QUESTION}}],
    "page": 1, "per_page": 50, "total": 1,
}

_ERROR_DETAILS: dict[str, dict[str, Any]] = {
    "validation_error": {"errors": {"options.1.label": ["Length must be between 1 and 200."]}},
    "already_voted": {"poll": VOTER_POLL, "receipt": RECEIPT},
    "challenge_required": {"challenge": CHALLENGE},
}


def error_examples(status: int) -> dict[str, dict[str, Any]]:
    """One named example per error code of ``status`` (``examples`` of a media type)."""
    return {code: {"summary": code, "value": {"error": code, "message": DEFAULT_MESSAGE[code],
                                              **_ERROR_DETAILS.get(code, {})}}
            for code, code_status in STATUS_OF.items() if code_status == status}
