"""Votes: the four dedup policies, identities, selections, states, counts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pollsvc.identity import sign_user_assertion
from tests.helpers import USER_SECRET, post_vote


def test_token_vote_counts_and_second_vote_is_409_with_the_poll(client: Any, make_poll: Any,
                                                               voter_token: Any) -> None:
    poll = make_poll()
    token = voter_token()
    first = post_vote(client, poll, token=token)
    assert first.status_code == 201
    assert first.headers["Cache-Control"] == "no-store"
    body = first.json["poll"]
    assert body["participants"] == 1 and body["has_voted"] is True and body["results_visible"] is True
    assert [o["votes"] for o in body["options"]] == [1, 0, 0]
    assert [o["percent"] for o in body["options"]] == [100.0, 0.0, 0.0]
    again = post_vote(client, poll, [poll["options"][1]["id"]], token=token)
    assert again.status_code == 409
    assert again.json["error"] == "already_voted"
    assert again.json["poll"]["has_voted"] is True and again.json["poll"]["participants"] == 1
    public = client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Voter-Token": token}).json
    assert public["has_voted"] is True and public["options"][0]["votes"] == 1
    anonymous = client.get(f"/api/v1/polls/{poll['id']}").json
    assert anonymous["has_voted"] is False and anonymous["options"][0]["votes"] is None
    assert anonymous["participants"] == 1


@pytest.mark.parametrize("token", [None, "", "garbage", "a" * 10_000, "eyJ.forged.sig"])
def test_token_policy_needs_a_valid_token(client: Any, make_poll: Any, token: str | None) -> None:
    poll = make_poll()
    response = post_vote(client, poll, token=token)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_voter_token"
    assert client.get(f"/api/v1/polls/{poll['id']}").json["participants"] == 0


def test_token_signed_with_another_secret_is_refused(client: Any, make_poll: Any) -> None:
    from pollsvc.identity import issue_voter_token

    forged = issue_voter_token("someone-elses-secret", time.time())
    assert post_vote(client, make_poll(), token=forged).json["error"] == "invalid_voter_token"


def test_ip_policy_one_ballot_per_address(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll(dedup="ip")
    assert post_vote(client, poll, ip="198.51.100.7").status_code == 201
    second = post_vote(client, poll, ip="198.51.100.7", token=voter_token())
    assert second.status_code == 409 and second.json["error"] == "already_voted"
    assert post_vote(client, poll, ip="198.51.100.8").status_code == 201
    # the token is optional but, when sent garbled, ignored: the poll does not use it
    assert post_vote(client, poll, ip="198.51.100.9", token="garbled").status_code == 201
    seen = client.get(f"/api/v1/polls/{poll['id']}", environ_base={"REMOTE_ADDR": "198.51.100.7"}).json
    assert seen["has_voted"] is True
    assert client.get(f"/api/v1/polls/{poll['id']}", environ_base={"REMOTE_ADDR": "198.51.100.77"}).json[
        "has_voted"] is False


def test_ipv6_addresses_of_one_64_are_one_voter(client: Any, make_poll: Any) -> None:
    poll = make_poll(dedup="ip")
    assert post_vote(client, poll, ip="2001:db8:1:2::1").status_code == 201
    assert post_vote(client, poll, ip="2001:db8:1:2:ffff::9").status_code == 409
    assert post_vote(client, poll, ip="2001:db8:1:3::1").status_code == 201


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Real-IP", "Forwarded", "CF-Connecting-IP",
                                    "True-Client-IP", "X-Client-IP"])
def test_forged_proxy_headers_change_nothing_without_trusted_proxies(client: Any, make_poll: Any,
                                                                     header: str) -> None:
    poll = make_poll(dedup="ip")
    assert post_vote(client, poll, ip="203.0.113.5").status_code == 201
    for i in range(3):
        value = f"for=10.9.9.{i}" if header == "Forwarded" else f"10.9.9.{i}"
        response = post_vote(client, poll, ip="203.0.113.5", headers={header: value})
        assert response.status_code == 409, (header, value)
    assert client.get(f"/api/v1/polls/{poll['id']}").json["participants"] == 1


def test_token_and_ip_refuses_either_repeat(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll(dedup="token_and_ip")
    token = voter_token()
    assert post_vote(client, poll, ip="198.51.100.1").json["error"] == "invalid_voter_token"
    assert post_vote(client, poll, token=token, ip="198.51.100.1").status_code == 201
    assert post_vote(client, poll, token=token, ip="198.51.100.2").status_code == 409  # same token
    assert post_vote(client, poll, token=voter_token(), ip="198.51.100.1").status_code == 409  # same IP
    assert post_vote(client, poll, token=voter_token(), ip="198.51.100.3").status_code == 201
    assert client.get(f"/api/v1/polls/{poll['id']}").json["participants"] == 2


def test_user_policy_with_signed_assertions(client: Any, make_poll: Any, clock: Any) -> None:
    poll = make_poll(dedup="user")
    expires = int(clock.current.timestamp()) + 600
    good = sign_user_assertion(USER_SECRET, "reader@example.vn", expires)
    assert post_vote(client, poll, headers={"X-Poll-User": good}).status_code == 201
    upper = good[: good.rindex(":") + 1] + good[good.rindex(":") + 1:].upper()
    assert post_vote(client, poll, headers={"X-Poll-User": upper}).status_code == 409
    again = sign_user_assertion(USER_SECRET, "reader@example.vn", expires + 60)
    assert post_vote(client, poll, headers={"X-Poll-User": again}).json["error"] == "already_voted"
    other = sign_user_assertion(USER_SECRET, "other_reader", expires)
    assert post_vote(client, poll, headers={"X-Poll-User": other}, ip="192.0.2.10").status_code == 201
    seen = client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Poll-User": other}).json
    assert seen["has_voted"] is True


@pytest.mark.parametrize("make_header", [
    lambda now: None,
    lambda now: sign_user_assertion(USER_SECRET, "reader", now - 1),  # expired
    lambda now: sign_user_assertion("wrong-secret", "reader", now + 600),  # bad signature
    lambda now: sign_user_assertion(USER_SECRET, "reader", now + 600)[:-2],  # truncated hex
    lambda now: sign_user_assertion(USER_SECRET, "bad user!", now + 600),  # bad user id
    lambda now: f"reader:{now + 600}",
    lambda now: "x" * 5000,
])
def test_bad_user_assertions_are_400(client: Any, make_poll: Any, clock: Any, make_header: Any) -> None:
    poll = make_poll(dedup="user")
    header = make_header(int(clock.current.timestamp()))
    response = post_vote(client, poll, headers={"X-Poll-User": header} if header is not None else {})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_user_assertion"


def test_user_polls_refuse_every_vote_without_a_configured_secret(app_config: dict[str, Any]) -> None:
    from pollsvc import create_app
    from pollsvc.services.apikeys import create_key

    config = {**app_config, "user_assertion_secret": ""}
    from tests.helpers import poll_body, wipe

    wipe(config["database_url"])
    app = create_app(config)
    client = app.test_client()
    with app.app_context():
        from pollsvc.extensions import db

        key = create_key(db.session, "admin", None, app_config["CLOCK"]())
    poll = client.post("/api/v1/polls", json=poll_body(dedup="user"),
                       headers={"Authorization": f"Bearer {key}"}).json
    header = sign_user_assertion(USER_SECRET, "reader", int(time.time()) + 600)
    assert post_vote(client, poll, headers={"X-Poll-User": header}).json["error"] == "invalid_user_assertion"


@pytest.mark.parametrize(("option_ids", "reason"), [
    ([], "empty"), ("repeat", "repeated"), ([999999], "unknown"), ("foreign", "foreign"), ("two", "too many"),
])
def test_invalid_selections(client: Any, make_poll: Any, voter_token: Any, option_ids: Any, reason: str) -> None:
    poll = make_poll()
    other = make_poll(article_id="khac")
    ids = {
        "repeat": [poll["options"][0]["id"]] * 2,
        "foreign": [other["options"][0]["id"]],
        "two": [poll["options"][0]["id"], poll["options"][1]["id"]],
    }.get(option_ids, option_ids) if isinstance(option_ids, str) else option_ids
    token = voter_token()
    response = post_vote(client, poll, ids, token=token)
    assert response.status_code == 422, reason
    assert response.json["error"] == "invalid_selection"
    # a refused ballot does not use up the vote
    assert post_vote(client, poll, token=token).status_code == 201


@pytest.mark.parametrize("body", [{}, {"option_ids": "1"}, {"option_ids": [True]}, {"option_ids": ["1"]},
                                  {"option_ids": [1.5]}, {"option_ids": None}, {"option_ids": [1], "x": 1}])
def test_malformed_vote_bodies_are_validation_errors(client: Any, make_poll: Any, voter_token: Any,
                                                     body: dict[str, Any]) -> None:
    poll = make_poll()
    response = client.post(f"/api/v1/polls/{poll['id']}/votes", json=body, headers={"X-Voter-Token": voter_token()})
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert response.json["errors"]


def test_multi_choice_counts_votes_and_participants(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll(max_choices=2, results_visibility="always")
    assert post_vote(client, poll, [poll["options"][0]["id"], poll["options"][1]["id"]],
                     token=voter_token()).status_code == 201
    assert post_vote(client, poll, [poll["options"][0]["id"]], token=voter_token()).status_code == 201
    body = client.get(f"/api/v1/polls/{poll['id']}").json
    assert body["participants"] == 2
    assert [o["votes"] for o in body["options"]] == [2, 1, 0]
    assert [o["percent"] for o in body["options"]] == [100.0, 50.0, 0.0]


def test_percent_rounds_half_up(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll(results_visibility="always")
    picks = [0, 1, 1]  # 1/3 = 33.333 -> 33.3, 2/3 = 66.666 -> 66.7
    for pick in picks:
        assert post_vote(client, poll, [poll["options"][pick]["id"]], token=voter_token()).status_code == 201
    assert [o["percent"] for o in client.get(f"/api/v1/polls/{poll['id']}").json["options"]] == [33.3, 66.7, 0.0]
    poll8 = make_poll(article_id="tam", results_visibility="always",
                      options=[{"label": str(i)} for i in range(2)])
    for pick in [0] * 1 + [1] * 7:  # 1/8 = 12.5 exactly; 7/8 = 87.5
        post_vote(client, poll8, [poll8["options"][pick]["id"]], token=voter_token())
    assert [o["percent"] for o in client.get(f"/api/v1/polls/{poll8['id']}").json["options"]] == [12.5, 87.5]


def test_closed_and_scheduled_polls_refuse_votes(client: Any, make_poll: Any, admin: dict[str, str],
                                                 voter_token: Any, clock: Any) -> None:
    from datetime import timedelta

    closed = make_poll(status="closed")
    response = post_vote(client, closed, token=voter_token())
    assert response.status_code == 409 and response.json["error"] == "poll_closed"
    assert response.json["poll"]["status"] == "closed"
    scheduled = make_poll(opens_at=(clock.current + timedelta(hours=1)).isoformat())
    early = post_vote(client, scheduled, token=voter_token())
    assert early.status_code == 409 and early.json["error"] == "poll_not_open"
    assert set(early.json) == {"error", "message"}  # that the id is taken, and nothing of the poll
    assert client.get(f"/api/v1/polls/{scheduled['id']}").status_code == 404
    draft = make_poll(status="draft")
    assert post_vote(client, draft, token=voter_token()).status_code == 404


def test_poll_closes_while_you_wait(client: Any, make_poll: Any, voter_token: Any, clock: Any) -> None:
    from datetime import timedelta

    poll = make_poll(closes_at=(clock.current + timedelta(seconds=30)).isoformat(), results_visibility="after_close")
    assert post_vote(client, poll, token=voter_token()).json["poll"]["results_visible"] is False
    clock.advance(seconds=31)
    late = post_vote(client, poll, token=voter_token())
    assert late.status_code == 409 and late.json["error"] == "poll_closed"
    body = client.get(f"/api/v1/polls/{poll['id']}").json
    assert body["status"] == "closed" and body["results_visible"] is True and body["participants"] == 1


@pytest.mark.parametrize(("visibility", "before", "after_vote", "after_close"), [
    ("always", True, True, True),
    ("after_vote", False, True, True),
    ("after_close", False, False, True),
    ("never", False, False, False),
])
def test_results_visibility(client: Any, make_poll: Any, admin: dict[str, str], voter_token: Any,
                            visibility: str, before: bool, after_vote: bool, after_close: bool) -> None:
    poll = make_poll(results_visibility=visibility)
    url = f"/api/v1/polls/{poll['id']}"
    token = voter_token()
    assert client.get(url, headers={"X-Voter-Token": token}).json["results_visible"] is before
    voted = post_vote(client, poll, token=token).json["poll"]
    assert voted["results_visible"] is after_vote
    assert (voted["options"][0]["votes"] is not None) is after_vote
    client.patch(url, json={"status": "closed"}, headers=admin)
    assert client.get(url).json["results_visible"] is after_close
    assert client.get(url, headers=admin).json["results_visible"] is True
    assert client.get(url, headers=admin).json["options"][0]["votes"] == 1


def test_vote_order_of_checks(client: Any, make_poll: Any, voter_token: Any) -> None:
    """404 before body shape; body shape before state; state before identity; identity before selection."""
    assert client.post("/api/v1/polls/424242/votes", data="not json",
                       content_type="application/json").json["error"] == "not_found"
    closed = make_poll(status="closed")
    assert client.post(f"/api/v1/polls/{closed['id']}/votes", data="[",
                       content_type="application/json").json["error"] == "bad_request"
    assert post_vote(client, closed, [], token=None).json["error"] == "poll_closed"
    poll = make_poll()
    assert post_vote(client, poll, [], token=None).json["error"] == "invalid_voter_token"
    assert post_vote(client, poll, [], token=voter_token()).json["error"] == "invalid_selection"


def test_voters_endpoint_ignores_bodies(client: Any) -> None:
    for kwargs in ({}, {"json": {"x": 1}}, {"data": "garbage", "content_type": "text/plain"}):
        response = client.post("/api/v1/voters", **kwargs)
        assert response.status_code == 201
        assert len(response.json["voter_token"]) > 20
    assert client.post("/api/v1/voters").json != client.post("/api/v1/voters").json


def test_public_reads_have_etag_and_304(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll()
    url = f"/api/v1/articles/{poll['article_id']}/polls"
    first = client.get(url)
    assert first.headers["Cache-Control"].startswith("public")
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    personal = client.get(url, headers={"X-Voter-Token": voter_token()})
    assert personal.headers["Cache-Control"].startswith("private")
    assert "X-Voter-Token" in personal.headers["Vary"]
