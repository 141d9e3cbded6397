"""Every row of the contract's error table, provoked through HTTP, in the one JSON shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pollsvc import create_app
from tests.helpers import assert_error, poll_body

SHAPE = {"error", "message"}


def test_400_bad_request(client: Any, admin: dict[str, str]) -> None:
    for kwargs in ({"data": "{not json", "content_type": "application/json"},
                   {"data": "[1, 2]", "content_type": "application/json"},
                   {"data": '"text"', "content_type": "application/json"},
                   {"data": "NaN", "content_type": "application/json"},
                   {"data": b"{\"question\": \"\xff\xfe\"}", "content_type": "application/json"},
                   {"data": '{"article_id": "a"}', "content_type": "text/plain"},
                   {"data": '{"article_id": "a"}'},
                   {"data": "article_id=a", "content_type": "application/x-www-form-urlencoded"}):
        assert_error(client.post("/api/v1/polls", headers=admin, **kwargs), 400, "bad_request")
    assert client.get("/api/v1/polls", headers=admin).json["total"] == 0


def test_400_invalid_voter_token(client: Any, make_poll: Any) -> None:
    poll = make_poll()
    assert_error(client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][0]["id"]]},
                             headers={"X-Voter-Token": "forged"}), 400, "invalid_voter_token")


def test_400_invalid_user_assertion(client: Any, make_poll: Any) -> None:
    poll = make_poll(dedup="user")
    assert_error(client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][0]["id"]]}),
                 400, "invalid_user_assertion")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/polls"), ("POST", "/api/v1/polls"), ("PATCH", "/api/v1/polls/1"), ("DELETE", "/api/v1/polls/1"),
    ("GET", "/api/v1/polls/1/results"), ("GET", "/api/v1/polls/1/results/timeseries"),
    ("GET", "/api/v1/polls/1/results.csv"), ("GET", "/api/v1/reports/polls"), ("GET", "/api/v1/audit"),
])
@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Bearer psk_abc_def", "Basic dXNlcjpwYXNz",
                                           "Bearer", "bearer  "])
def test_401_unauthorized_on_every_key_endpoint(client: Any, method: str, path: str,
                                                authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_error(client.open(path, method=method, headers=headers, json={}), 401, "unauthorized")


def test_401_for_a_bad_key_on_a_public_endpoint(client: Any, make_poll: Any) -> None:
    poll = make_poll()
    assert_error(client.get(f"/api/v1/polls/{poll['id']}", headers={"Authorization": "Bearer wrong"}),
                 401, "unauthorized")
    assert_error(client.get(f"/api/v1/articles/{poll['article_id']}/polls", headers={"Authorization": "Bearer x"}),
                 401, "unauthorized")


def test_401_for_a_revoked_key(app: Any, client: Any, admin_key: str) -> None:
    from pollsvc.extensions import db
    from pollsvc.models import ApiKey

    with app.app_context():
        key = db.session.query(ApiKey).one()
        key.revoked_at = key.created_at
        db.session.commit()
    assert_error(client.get("/api/v1/polls", headers={"Authorization": f"Bearer {admin_key}"}), 401, "unauthorized")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/polls"), ("PATCH", "/api/v1/polls/1"), ("DELETE", "/api/v1/polls/1"), ("GET", "/api/v1/audit"),
])
def test_403_forbidden_for_a_reporter(client: Any, reporter_key: str, make_poll: Any, method: str,
                                      path: str) -> None:
    make_poll()
    response = client.open(path, method=method, headers={"Authorization": f"Bearer {reporter_key}"},
                           json=poll_body())
    assert_error(response, 403, "forbidden")


def test_reporter_reads_everything(client: Any, reporter_key: str, make_poll: Any) -> None:
    poll = make_poll(status="draft")
    headers = {"Authorization": f"Bearer {reporter_key}"}
    for path in ("/api/v1/polls", f"/api/v1/polls/{poll['id']}", f"/api/v1/polls/{poll['id']}/results",
                 f"/api/v1/polls/{poll['id']}/results/timeseries", f"/api/v1/polls/{poll['id']}/results.csv",
                 "/api/v1/reports/polls"):
        assert client.get(path, headers=headers).status_code == 200, path


def test_key_is_checked_before_the_poll_lookup(client: Any, reporter_key: str) -> None:
    assert_error(client.patch("/api/v1/polls/999", json={}), 401, "unauthorized")
    assert_error(client.patch("/api/v1/polls/999", json={}, headers={"Authorization": f"Bearer {reporter_key}"}),
                 403, "forbidden")


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v1/polls/77", "/api/v1/polls/77/results",
                                  "/api/v2/polls", "/widget.jsx"])
def test_404_not_found(client: Any, admin: dict[str, str], path: str) -> None:
    assert_error(client.get(path, headers=admin), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), [("PUT", "/api/v1/polls"), ("DELETE", "/api/v1/voters"),
                                              ("GET", "/api/v1/voters"), ("POST", "/healthz"),
                                              ("PUT", "/api/v1/polls/1/votes")])
def test_405_method_not_allowed(client: Any, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers.get("Allow")


def test_409s(client: Any, make_poll: Any, admin: dict[str, str], voter_token: Any, clock: Any) -> None:
    poll = make_poll()
    token = voter_token()
    body = {"option_ids": [poll["options"][0]["id"]]}
    assert client.post(f"/api/v1/polls/{poll['id']}/votes", json=body, headers={"X-Voter-Token": token}
                       ).status_code == 201
    repeat = client.post(f"/api/v1/polls/{poll['id']}/votes", json=body, headers={"X-Voter-Token": token})
    assert "poll" in assert_error(repeat, 409, "already_voted")
    assert_error(client.patch(f"/api/v1/polls/{poll['id']}", json={"max_choices": 2}, headers=admin),
                 409, "poll_has_votes")
    closed = make_poll(status="closed")
    closed_vote = client.post(f"/api/v1/polls/{closed['id']}/votes", json={"option_ids": [closed["options"][0]["id"]]},
                              headers={"X-Voter-Token": token})
    assert "poll" in assert_error(closed_vote, 409, "poll_closed")
    later = make_poll(opens_at=(clock.current + timedelta(days=1)).isoformat())
    assert_error(client.post(f"/api/v1/polls/{later['id']}/votes", json={"option_ids": [later["options"][0]["id"]]},
                             headers={"X-Voter-Token": token}), 409, "poll_not_open")


def test_413_payload_too_large_comes_first(client: Any, make_poll: Any) -> None:
    poll = make_poll()
    huge = '{"option_ids": [' + ",".join(["1"] * 40000) + "]}"
    response = client.post(f"/api/v1/polls/{poll['id']}/votes", data=huge, content_type="application/json")
    assert_error(response, 413, "payload_too_large")
    assert_error(client.post("/api/v1/polls", data=huge, content_type="application/json"), 413, "payload_too_large")


def test_422s(client: Any, make_poll: Any, admin: dict[str, str], voter_token: Any) -> None:
    body = assert_error(client.post("/api/v1/polls", json={"question": 1}, headers=admin), 422, "validation_error")
    assert "question" in body["errors"]
    poll = make_poll()
    assert_error(client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": []},
                             headers={"X-Voter-Token": voter_token()}), 422, "invalid_selection")


def test_429_rate_limited(app_config: dict[str, Any]) -> None:
    from tests.helpers import wipe

    wipe(app_config["database_url"])
    app = create_app({**app_config, "rate_limit_voters": "2/minute"})
    client = app.test_client()
    app.extensions["pollsvc"].limiter.reset()
    assert [client.post("/api/v1/voters").status_code for _ in range(2)] == [201, 201]
    response = client.post("/api/v1/voters")
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-RateLimit-Limit"] == "2"
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_500_internal_error_reveals_nothing(client: Any, make_poll: Any, admin: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from pollsvc.api import results

    def broken(*_: Any) -> None:
        raise RuntimeError("secret internal detail /srv/app/db.py")

    monkeypatch.setattr(results, "results_body", broken)
    poll = make_poll()
    response = client.get(f"/api/v1/polls/{poll['id']}/results", headers=admin)
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert body["request_id"] in body["message"]


def test_503_unavailable_when_the_database_is_down(app_config: dict[str, Any], tmp_path: Any) -> None:
    url = ("postgresql+psycopg://root@127.0.0.1:1/none" if app_config["database_url"].startswith("postgresql")
           else "sqlite:///" + str(tmp_path / "missing-dir" / "db.sqlite3"))
    app = create_app({**app_config, "database_url": url})
    client = app.test_client()
    response = client.get("/api/v1/polls/1")
    assert_error(response, 503, "unavailable")
    assert response.headers["Retry-After"]
    token = client.post("/api/v1/voters").json["voter_token"]
    assert_error(client.post("/api/v1/polls/1/votes", json={"option_ids": [1]}, headers={"X-Voter-Token": token}),
                 503, "unavailable")
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["database"] == "down" and ready.json["error"] == "unavailable"
    assert client.get("/healthz").status_code == 200
