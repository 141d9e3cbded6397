"""Results, timeseries, CSV and the polls report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from tests.helpers import post_vote


def _vote_many(client: Any, poll: dict[str, Any], picks: list[int], voter_token: Any) -> None:
    for pick in picks:
        response = post_vote(client, poll, [poll["options"][pick]["id"]], token=voter_token())
        assert response.status_code == 201


def test_results_count_whatever_the_visibility(client: Any, make_poll: Any, admin: dict[str, str],
                                               voter_token: Any, clock: Any) -> None:
    poll = make_poll(results_visibility="never")
    empty = client.get(f"/api/v1/polls/{poll['id']}/results", headers=admin).json
    assert empty["participants"] == 0 and empty["first_vote_at"] is None and empty["last_vote_at"] is None
    assert [o["percent"] for o in empty["options"]] == [0.0, 0.0, 0.0]
    _vote_many(client, poll, [0], voter_token)
    clock.advance(minutes=90)
    _vote_many(client, poll, [0, 2], voter_token)
    body = client.get(f"/api/v1/polls/{poll['id']}/results", headers=admin).json
    assert body["poll_id"] == poll["id"]
    assert body["participants"] == 3 and body["total_votes"] == 3
    assert [(o["label"], o["votes"], o["percent"]) for o in body["options"]] == [
        ("Rất hữu ích", 2, 66.7), ("Bình thường", 0, 0.0), ("Chưa rõ", 1, 33.3)]
    assert body["first_vote_at"] < body["last_vote_at"]
    assert body["first_vote_at"].endswith("Z")
    public = client.get(f"/api/v1/polls/{poll['id']}").json
    assert public["participants"] == 3 and public["options"][0]["votes"] is None


def test_timeseries_buckets_are_contiguous_utc(client: Any, make_poll: Any, admin: dict[str, str],
                                               voter_token: Any, clock: Any) -> None:
    clock.current = clock.current.replace(hour=10, minute=15)
    poll = make_poll()
    url = f"/api/v1/polls/{poll['id']}/results/timeseries"
    assert client.get(url, headers=admin).json == {"poll_id": poll["id"], "interval": "hour", "buckets": []}
    _vote_many(client, poll, [0, 1], voter_token)
    clock.advance(hours=3)
    _vote_many(client, poll, [2], voter_token)
    hourly = client.get(url, headers=admin).json["buckets"]
    day = clock.current.strftime("%Y-%m-%d")
    assert hourly == [
        {"start": f"{day}T10:00:00Z", "participants": 2, "views": 0},
        {"start": f"{day}T11:00:00Z", "participants": 0, "views": 0},
        {"start": f"{day}T12:00:00Z", "participants": 0, "views": 0},
        {"start": f"{day}T13:00:00Z", "participants": 1, "views": 0},
    ]
    clock.advance(days=2)
    _vote_many(client, poll, [0], voter_token)
    daily = client.get(url + "?interval=day", headers=admin).json
    assert daily["interval"] == "day"
    assert [b["participants"] for b in daily["buckets"]] == [3, 0, 1]
    assert daily["buckets"][0]["start"] == f"{day}T00:00:00Z"
    bad = client.get(url + "?interval=week", headers=admin)
    assert bad.status_code == 422 and "interval" in bad.json["errors"]


def test_csv_has_bom_crlf_header_and_neutralised_formulas(client: Any, make_poll: Any, admin: dict[str, str],
                                                          voter_token: Any) -> None:
    labels = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", " =trimmed", "Bình thường, \"trích\""]
    poll = make_poll(options=[{"label": label} for label in labels])
    _vote_many(client, poll, [5], voter_token)
    response = client.get(f"/api/v1/polls/{poll['id']}/results.csv", headers=admin)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.startswith("option_id,label,votes,percent\r\n") and text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["option_id", "label", "votes", "percent"]
    assert [r[1] for r in rows[1:7]] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'=trimmed",
                                        "Bình thường, \"trích\""]
    assert rows[6][2:] == ["1", "100.0"]


def test_report_ranks_and_filters(client: Any, make_poll: Any, admin: dict[str, str], voter_token: Any,
                                  clock: Any) -> None:
    start = clock.current
    quiet = make_poll(article_id="a", question="Quiet")
    clock.advance(hours=1)
    busy = make_poll(article_id="a", question="Busy", max_choices=2)
    clock.advance(hours=1)
    tied = make_poll(article_id="b", question="Tied")
    _vote_many(client, busy, [0, 1], voter_token)
    post_vote(client, tied, [tied["options"][0]["id"]], token=voter_token())
    post_vote(client, tied, [tied["options"][0]["id"], tied["options"][1]["id"]], token=voter_token())
    report = client.get("/api/v1/reports/polls", headers=admin).json
    # busy: 2 participants 2 votes; tied: 2 participants but only... tied gets a 422 for 2 options (max 1)
    assert [i["question"] for i in report["items"]] == ["Busy", "Tied", "Quiet"]
    assert report["items"][0] == {"poll_id": busy["id"], "article_id": "a", "question": "Busy", "status": "open",
                                  "participants": 2, "total_votes": 2, "voided": 0, "views": 0,
                                  "engagement_rate": None}
    assert report["total"] == 3 and report["page"] == 1 and report["per_page"] == 20
    only_b = client.get("/api/v1/reports/polls?article_id=b", headers=admin).json
    assert [i["poll_id"] for i in only_b["items"]] == [tied["id"]]
    window = (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    created_to = (start + timedelta(minutes=61)).isoformat().replace("+00:00", "Z")
    ranged = client.get("/api/v1/reports/polls", query_string={"from": window, "to": created_to}, headers=admin).json
    assert [i["poll_id"] for i in ranged["items"]] == [busy["id"]]
    created = {"from": quiet["created_at"], "to": quiet["created_at"]}
    inclusive = client.get("/api/v1/reports/polls", query_string=created, headers=admin).json
    assert [i["poll_id"] for i in inclusive["items"]] == [quiet["id"]]
    assert client.get("/api/v1/reports/polls?from=yesterday", headers=admin).status_code == 422
    assert client.get("/api/v1/reports/polls?per_page=101", headers=admin).status_code == 422


def test_report_tie_break_votes_then_oldest(client: Any, make_poll: Any, admin: dict[str, str], voter_token: Any,
                                            clock: Any) -> None:
    older = make_poll(article_id="c", question="Older")
    clock.advance(minutes=1)
    newer = make_poll(article_id="c", question="Newer")
    clock.advance(minutes=1)
    more_votes = make_poll(article_id="c", question="More votes", max_choices=2)
    for poll in (older, newer):
        _vote_many(client, poll, [0], voter_token)
    post_vote(client, more_votes, [more_votes["options"][0]["id"], more_votes["options"][1]["id"]],
              token=voter_token())
    items = client.get("/api/v1/reports/polls?article_id=c", headers=admin).json["items"]
    assert [i["question"] for i in items] == ["More votes", "Older", "Newer"]
