"""Live results: public reads of an open poll tell the widget when to read again (``X-Poll-Refresh``),
cheaply (a conditional read is a 304), and stop telling it once the poll is closed."""

from __future__ import annotations

from typing import Any

import pytest

from pollsvc.api.polls import LIVE_REFRESH_SECONDS
from tests.helpers import post_vote


def test_an_open_poll_is_read_again_within_seconds_and_unchanged_reads_are_304(client: Any, make_poll: Any,
                                                                                voter_token: Any) -> None:
    poll = make_poll(results_visibility="always")
    for url in (f"/api/v1/polls/{poll['id']}", f"/api/v1/articles/{poll['article_id']}/polls"):
        first = client.get(url)
        assert first.headers["X-Poll-Refresh"] == str(LIVE_REFRESH_SECONDS) and LIVE_REFRESH_SECONDS <= 3
        assert "public" in first.headers["Cache-Control"]  # a CDN may answer the readers in between
        unchanged = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert unchanged.status_code == 304 and unchanged.headers["X-Poll-Refresh"] == first.headers["X-Poll-Refresh"]
    before = client.get(f"/api/v1/polls/{poll['id']}")
    assert post_vote(client, poll, token=voter_token()).status_code == 201
    after = client.get(f"/api/v1/polls/{poll['id']}", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.json["participants"] == before.json["participants"] + 1


def test_a_closed_poll_is_not_read_again(client: Any, make_poll: Any, admin: dict[str, str]) -> None:
    poll = make_poll()
    closed = client.patch(f"/api/v1/polls/{poll['id']}", json={"status": "closed"}, headers=admin)
    assert closed.status_code == 200, closed.json
    for url in (f"/api/v1/polls/{poll['id']}", f"/api/v1/articles/{poll['article_id']}/polls"):
        response = client.get(url)
        assert response.status_code == 200 and "X-Poll-Refresh" not in response.headers


@pytest.fixture
def publisher_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["cors_origins"] = "https://baohuyen.example"
    return app_config


def test_a_cross_origin_widget_may_read_the_refresh_interval(publisher_config: dict[str, Any], make_poll: Any,
                                                             client: Any) -> None:
    poll = make_poll()
    response = client.get(f"/api/v1/polls/{poll['id']}", headers={"Origin": "https://baohuyen.example"})
    assert "X-Poll-Refresh" in response.headers["Access-Control-Expose-Headers"]


def test_voters_re_read_live_through_one_shared_url(client: Any, make_poll: Any, voter_token: Any) -> None:
    """An ``after_vote`` poll: what a voter sees differs from what a reader sees; with the poll's
    voter pass, every voter's re-read is the same public URL (one cache entry for all of them)."""
    poll, other = make_poll(results_visibility="after_vote"), make_poll(results_visibility="after_vote")
    voted = [post_vote(client, poll, token=voter_token()) for _ in range(2)]
    passes = {v.json["poll"]["voter_pass"] for v in voted}
    assert len(passes) == 1  # the same for all the poll's voters
    url = f"/api/v1/polls/{poll['id']}?voter_pass={passes.pop()}"
    shared = client.get(url)
    assert shared.json["has_voted"] is True and shared.json["options"][0]["votes"] is not None
    assert shared.headers["Cache-Control"].startswith("public") and "X-Poll-Refresh" in shared.headers
    anonymous = client.get(f"/api/v1/polls/{poll['id']}")
    assert anonymous.json["has_voted"] is False and anonymous.json["options"][0]["votes"] is None
    assert anonymous.json["voter_pass"] is None
    # a pass opens its own poll only; a forged one nothing
    foreign = client.get(f"/api/v1/polls/{other['id']}?voter_pass={voted[0].json['poll']['voter_pass']}")
    forged = client.get(f"/api/v1/polls/{poll['id']}?voter_pass={'A' * 16}")
    for response in (foreign, forged):
        assert response.json["has_voted"] is False and response.json["options"][0]["votes"] is None
    # on an article read, a voter's re-read names the passes of the polls they voted in
    first_pass = voted[0].json["poll"]["voter_pass"]
    article = client.get(f"/api/v1/articles/{poll['article_id']}/polls?voter_pass={first_pass}")
    by_id = {p["id"]: p for p in article.json["polls"]}
    assert by_id[poll["id"]]["has_voted"] is True and by_id[other["id"]]["has_voted"] is False
    assert article.headers["Cache-Control"].startswith("public")
