"""Views and the engagement rate where reports read them: results, CSV, timeseries, the polls
report (ranked by engagement) and the admin poll list. Views are written here with the store's
``add_views``, as the views buffer's flush writes them (counting them is ``test_views``'s business)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from pollsvc.identity import network_hash, network_label
from pollsvc.services.readmodel import engagement_rate
from tests.helpers import TEST_SECRET, post_vote


def add_views(client: Any, poll_id: int, at: datetime, n: int) -> None:
    """``n`` views of the poll in the UTC hour of ``at``, added to what the hour has (one batch)."""
    store = client.application.extensions["pollsvc"].store
    hour = at.replace(minute=0, second=0, microsecond=0)
    assert store.add_views(uuid.uuid4().hex, {(poll_id, hour): n}, at)


def vote(client: Any, poll: dict[str, Any], voter_token: Any, times: int = 1, ip: str = "192.0.2.10") -> None:
    for _ in range(times):
        assert post_vote(client, poll, token=voter_token(), ip=ip).status_code == 201


def csv_rows(client: Any, poll_id: int, admin: dict[str, str]) -> list[list[str]]:
    response = client.get(f"/api/v1/polls/{poll_id}/results.csv", headers=admin)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


@pytest.mark.parametrize(("participants", "views", "rate"), [
    (1, 16, 6.3),  # 6.25: half up, as percent (Python's round() would give 6.2)
    (1, 3, 33.3), (2, 3, 66.7), (0, 5, 0.0), (3, 2, 150.0), (3, 0, None), (0, 0, None),
])
def test_engagement_rate_is_rounded_like_percent(participants: int, views: int, rate: float | None) -> None:
    assert engagement_rate(participants, views) == rate


def test_results_and_csv_carry_views_and_the_rate(client: Any, make_poll: Any, admin: dict[str, str],
                                                  voter_token: Any, clock: Any) -> None:
    poll = make_poll(results_visibility="never")
    url = f"/api/v1/polls/{poll['id']}/results"
    vote(client, poll, voter_token)
    body = client.get(url, headers=admin).json
    assert (body["participants"], body["views"], body["engagement_rate"]) == (1, 0, None)
    assert csv_rows(client, poll["id"], admin)[-2:] == [
        ["views", "Views (viewable impressions)", "0", ""],
        ["engagement_rate", "Engagement rate (participants / views)", "", ""],
    ]
    add_views(client, poll["id"], clock.current, 10)
    add_views(client, poll["id"], clock.current + timedelta(hours=1), 6)  # views of every hour add up
    add_views(client, make_poll(article_id="other")["id"], clock.current, 50)  # another poll's: not these
    body = client.get(url, headers=admin).json
    assert (body["participants"], body["views"], body["engagement_rate"]) == (1, 16, 6.3)
    rows = csv_rows(client, poll["id"], admin)
    assert [r[0] for r in rows] == ["option_id", *(str(o["id"]) for o in poll["options"]), "views", "engagement_rate"]
    assert rows[-2:] == [["views", "Views (viewable impressions)", "16", ""],
                         ["engagement_rate", "Engagement rate (participants / views)", "", "6.3"]]
    # the public reads show neither
    public = client.get(f"/api/v1/polls/{poll['id']}").json
    assert "views" not in public and "engagement_rate" not in public


def test_public_reads_never_read_views(client: Any, make_poll: Any, admin: dict[str, str], voter_token: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    poll = make_poll(results_visibility="always")
    vote(client, poll, voter_token)
    store = client.application.extensions["pollsvc"].store

    def refuse(*_: Any) -> Any:
        raise AssertionError("a public read asked for views")

    monkeypatch.setattr(store, "views_of", refuse)
    monkeypatch.setattr(store, "hourly_views", refuse)
    assert client.get(f"/api/v1/polls/{poll['id']}").status_code == 200
    assert client.get(f"/api/v1/articles/{poll['article_id']}/polls").status_code == 200
    assert post_vote(client, poll, token=voter_token()).status_code == 201


def test_timeseries_has_views_per_bucket_and_spans_both(client: Any, make_poll: Any, admin: dict[str, str],
                                                        voter_token: Any, clock: Any) -> None:
    clock.current = clock.current.replace(hour=8, minute=15)
    day = clock.current.strftime("%Y-%m-%d")
    poll = make_poll()
    url = f"/api/v1/polls/{poll['id']}/results/timeseries"
    add_views(client, poll["id"], clock.current, 5)  # seen two hours before the first vote
    clock.advance(hours=2)
    vote(client, poll, voter_token, times=2)
    add_views(client, poll["id"], clock.current, 7)
    clock.advance(hours=3)
    vote(client, poll, voter_token)
    add_views(client, poll["id"], clock.current + timedelta(hours=2), 4)  # and after the last
    hourly = client.get(url, headers=admin).json["buckets"]
    assert [b["start"] for b in hourly] == [f"{day}T{h:02d}:00:00Z" for h in range(8, 16)]
    assert [b["participants"] for b in hourly] == [0, 0, 2, 0, 0, 1, 0, 0]
    assert [b["views"] for b in hourly] == [5, 0, 7, 0, 0, 0, 0, 4]
    clock.advance(days=2)
    add_views(client, poll["id"], clock.current, 3)
    daily = client.get(url + "?interval=day", headers=admin).json["buckets"]
    assert [(b["participants"], b["views"]) for b in daily] == [(3, 16), (0, 0), (0, 3)]
    assert daily[0]["start"] == f"{day}T00:00:00Z"
    seen_only = make_poll(article_id="seen-only")
    add_views(client, seen_only["id"], clock.current, 2)
    buckets = client.get(f"/api/v1/polls/{seen_only['id']}/results/timeseries", headers=admin).json["buckets"]
    assert [(b["participants"], b["views"]) for b in buckets] == [(0, 2)]


def test_report_ranks_by_engagement(client: Any, make_poll: Any, admin: dict[str, str], voter_token: Any,
                                    clock: Any) -> None:
    plan = [  # question, article, participants, views: in order of creation
        ("busy, unseen", "a", 2, 0),
        ("old tie", "a", 1, 2),
        ("seen, no votes", "b", 0, 5),
        ("more", "a", 2, 4),
        ("new tie", "a", 1, 2),
        ("quiet, unseen", "b", 0, 0),
        ("high", "a", 1, 1),
        ("third", "a", 3, 9),
        ("two in 47", "a", 2, 47),  # 4.26: 4.3 once rounded, like "one in 23", but lower
        ("one in 23", "a", 1, 23),  # 4.35: ranked first of the two, though it has fewer participants
    ]
    polls = {}
    for question, article, participants, views in plan:
        polls[question] = poll = make_poll(question=question, article_id=article)
        vote(client, poll, voter_token, times=participants)
        if views:
            add_views(client, poll["id"], clock.current, views)
        clock.advance(minutes=1)

    def ranked(**query: Any) -> list[str]:
        response = client.get("/api/v1/reports/polls", query_string=query, headers=admin)
        assert response.status_code == 200, response.json
        return [item["question"] for item in response.json["items"]]

    assert ranked(sort="engagement") == ["high", "more", "old tie", "new tie", "third", "one in 23", "two in 47",
                                         "seen, no votes", "busy, unseen", "quiet, unseen"]
    assert ranked(sort="engagement", per_page=3, page=2) == ["new tie", "third", "one in 23"]
    assert ranked(sort="engagement", article_id="b") == ["seen, no votes", "quiet, unseen"]
    assert ranked()[:3] == ranked(sort="participants")[:3] == ["third", "busy, unseen", "more"]
    items = {i["question"]: i for i in client.get("/api/v1/reports/polls?per_page=100", headers=admin).json["items"]}
    assert {q: (items[q]["views"], items[q]["engagement_rate"]) for q in (
        "high", "more", "third", "one in 23", "two in 47", "seen, no votes", "busy, unseen")} == {
        "high": (1, 100.0), "more": (4, 50.0), "third": (9, 33.3), "one in 23": (23, 4.3), "two in 47": (47, 4.3),
        "seen, no votes": (5, 0.0), "busy, unseen": (0, None)}
    bad = client.get("/api/v1/reports/polls?sort=views", headers=admin)
    assert bad.status_code == 422 and "sort" in bad.json["errors"]


def test_admin_poll_list_has_views_and_the_rate(client: Any, make_poll: Any, admin: dict[str, str],
                                                voter_token: Any, clock: Any) -> None:
    seen = make_poll(question="seen")
    unseen = make_poll(question="unseen")
    vote(client, seen, voter_token, times=3)
    vote(client, unseen, voter_token)
    add_views(client, seen["id"], clock.current, 8)
    items = {i["id"]: i for i in client.get("/api/v1/polls", headers=admin).json["items"]}
    assert (items[seen["id"]]["views"], items[seen["id"]]["engagement_rate"]) == (8, 37.5)
    assert (items[unseen["id"]]["views"], items[unseen["id"]]["engagement_rate"]) == (0, None)


def test_a_void_changes_participants_not_views(client: Any, make_poll: Any, admin: dict[str, str],
                                               voter_token: Any, clock: Any) -> None:
    poll = make_poll(results_visibility="always")
    since = clock.current.isoformat()
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "198.51.100.9"):
        vote(client, poll, voter_token, ip=ip)
    add_views(client, poll["id"], clock.current, 8)
    url = f"/api/v1/polls/{poll['id']}"
    before = client.get(url + "/results/timeseries", headers=admin).json["buckets"]
    assert client.get(url + "/results", headers=admin).json["engagement_rate"] == 50.0
    label = network_label(network_hash(TEST_SECRET, "192.0.2.1"))
    voided = client.post(url + "/voids", headers=admin, json={"network": label, "from": since})
    assert voided.status_code == 201 and voided.json["ballots"] == 3
    results = client.get(url + "/results", headers=admin).json
    assert (results["participants"], results["voided"], results["views"], results["engagement_rate"]) == (1, 3, 8, 12.5)
    report = client.get("/api/v1/reports/polls?sort=engagement", headers=admin).json["items"][0]
    assert (report["participants"], report["views"], report["engagement_rate"]) == (1, 8, 12.5)
    after = client.get(url + "/results/timeseries", headers=admin).json["buckets"]
    assert [b["views"] for b in after] == [b["views"] for b in before] == [8]
    assert [b["participants"] for b in before] == [4] and [b["participants"] for b in after] == [1]
    rows = csv_rows(client, poll["id"], admin)
    assert [r[0] for r in rows[-3:]] == ["voided", "views", "engagement_rate"] and rows[-1][3] == "12.5"
    client.post(f"{url}/voids/{voided.json['id']}/restore", headers=admin)
    restored = client.get(url + "/results", headers=admin).json
    assert (restored["participants"], restored["views"], restored["engagement_rate"]) == (4, 8, 50.0)
