"""Hardening: failed-key limits, constant-time key checks, security headers, CORS, privacy of
client IPs (keyed hashes, /64, access logs), and the audit log."""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from pollsvc.extensions import db
from pollsvc.identity import keyed_hash
from pollsvc.models import BallotKey
from pollsvc.services import apikeys
from tests.helpers import TEST_SECRET, assert_error, poll_body

# ---- API keys ----


@pytest.fixture
def four_failures(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["rate_limit_auth_failures"] = "4/minute"
    return app_config


def test_failed_key_attempts_are_limited_per_ip_and_say_when_to_retry(four_failures: Any, client: Any,
                                                                      admin: dict[str, str]) -> None:
    guesser = {"REMOTE_ADDR": "198.51.100.66"}
    codes = [client.get("/api/v1/polls", headers={"Authorization": f"Bearer psk_{i:012x}_guess"},
                        environ_base=guesser).status_code for i in range(6)]
    assert codes == [401] * 4 + [429] * 2
    blocked = client.get("/api/v1/polls/1/results", headers={"Authorization": "Bearer x"}, environ_base=guesser)
    assert_error(blocked, 429, "rate_limited")
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # Other addresses are not punished for the guesser; good keys never count as failures.
    for _ in range(6):
        assert client.get("/api/v1/polls", headers=admin, environ_base={"REMOTE_ADDR": "198.51.100.67"}
                          ).status_code == 200
    assert_error(client.get("/api/v1/polls", headers={"Authorization": "Bearer nope"},
                            environ_base={"REMOTE_ADDR": "198.51.100.68"}), 401, "unauthorized")


def test_a_guesser_on_the_same_address_does_not_lock_an_editor_out(four_failures: Any, client: Any,
                                                                   admin: dict[str, str]) -> None:
    newsroom = {"REMOTE_ADDR": "192.0.2.44"}  # one NAT, or a proxy not declared in TRUSTED_PROXIES
    codes = [client.get("/api/v1/polls", headers={"Authorization": f"Bearer psk_{i:012x}_guess"},
                        environ_base=newsroom).status_code for i in range(45)]
    assert codes[:4] == [401] * 4 and set(codes[4:]) == {429}
    assert client.get("/api/v1/polls", headers=admin, environ_base=newsroom).status_code == 200
    assert_error(client.get("/api/v1/polls", headers={"Authorization": "Bearer psk_000000000000_x"},
                            environ_base=newsroom), 429, "rate_limited")


def test_keys_are_compared_in_constant_time_whatever_their_shape(app: Any, admin_key: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[Any, Any]] = []
    real = apikeys.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(apikeys.hmac, "compare_digest", spy)
    prefix = admin_key.split("_")[1]
    with app.app_context():
        for presented in (admin_key, admin_key[:-1] + "x", f"psk_{prefix}_wrong", "psk_000000000000_x", "garbage",
                          "psk_only"):
            compared.clear()
            found = apikeys.verify_key(db.session, presented)
            assert (found is not None) is (presented == admin_key)
            # one digest comparison every time: unknown prefix and malformed keys do the same work
            assert len(compared) == 1 and all(len(x) == 64 for x in compared[0])
    # the database holds only the hash
    with app.app_context():
        from pollsvc.models import ApiKey

        stored = db.session.scalars(select(ApiKey)).one()
        assert admin_key.split("_", 2)[2] not in (stored.key_hash, stored.prefix)


# ---- headers ----


def test_security_headers_on_every_kind_of_response(app_config: dict[str, Any], client: Any, admin: dict[str, str],
                                                    make_poll: Any) -> None:
    poll = make_poll()
    responses = [
        client.get(f"/api/v1/polls/{poll['id']}"), client.get("/api/v1/polls", headers=admin),
        client.post("/api/v1/polls", json={}, headers=admin), client.get("/api/v1/polls"), client.get("/nope"),
        client.put("/api/v1/polls"), client.post("/api/v1/polls", data="x" * 70_000, headers=admin),
        client.get("/healthz"), client.get("/readyz"), client.get("/metrics"), client.get("/openapi.json"),
        client.get(f"/api/v1/polls/{poll['id']}/results.csv", headers=admin), client.get("/widget.js"),
        client.options("/api/v1/polls", headers={"Origin": "https://a.example",
                                                 "Access-Control-Request-Method": "GET"}),
        client.delete(f"/api/v1/polls/{poll['id']}", headers=admin),
    ]
    for response in responses:
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.request.path
        assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"
        assert "Server" not in response.headers or "Werkzeug" not in response.headers["Server"]


@pytest.fixture
def cors_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(cors_origins="https://a.example", rate_limit_public_read="2/minute",
                      rate_limit_vote="1/minute")
    return app_config


def test_cors_allows_only_the_configured_origins(cors_config: dict[str, Any], client: Any, make_poll: Any) -> None:
    poll = make_poll()
    good = client.get(f"/api/v1/polls/{poll['id']}", headers={"Origin": "https://a.example"})
    assert good.headers["Access-Control-Allow-Origin"] == "https://a.example"
    # a CDN may cache public reads: the answer depends on Origin, and says so
    plain = client.get(f"/api/v1/polls/{poll['id']}")
    for response in (good, plain):
        assert len(response.headers.getlist("Vary")) == 1
        assert {v.strip() for v in response.headers["Vary"].split(",")} >= {"Origin", "X-Voter-Token"}
    for origin in ("https://evil.example", "https://a.example.evil.example", "http://a.example", "null",
                   "https://A.EXAMPLE.evil"):
        response = client.get(f"/api/v1/polls/{poll['id']}", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in response.headers, origin
    # only the API is cross-origin; the console and ops endpoints never are
    for path in ("/healthz", "/openapi.json", "/metrics"):
        assert "Access-Control-Allow-Origin" not in client.get(path, headers={"Origin": "https://a.example"}).headers


def test_cors_preflight_works_and_is_neither_405_nor_rate_limited(cors_config: dict[str, Any], client: Any,
                                                                   make_poll: Any) -> None:
    poll = make_poll()
    preflight = {"Origin": "https://a.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, x-voter-token"}
    for _ in range(5):  # the vote limit is 1/minute, public reads 2/minute
        response = client.options(f"/api/v1/polls/{poll['id']}/votes", headers=preflight)
        assert response.status_code == 200, response.status_code
        assert response.headers["Access-Control-Allow-Origin"] == "https://a.example"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert "x-voter-token" in response.headers["Access-Control-Allow-Headers"].lower()
        read = client.options(f"/api/v1/polls/{poll['id']}", headers={**preflight,
                                                                       "Access-Control-Request-Method": "GET"})
        assert read.status_code == 200
    evil = client.options(f"/api/v1/polls/{poll['id']}/votes", headers={**preflight, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    # the real requests are still limited
    assert client.get(f"/api/v1/polls/{poll['id']}").status_code == 200


# ---- privacy ----


@pytest.fixture
def behind_a_proxy(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["trusted_proxies"] = 1
    return app_config


def test_ip_keys_are_keyed_hashes_and_ipv6_counts_by_its_64(behind_a_proxy: Any, app: Any, client: Any,
                                                            make_poll: Any) -> None:
    poll = make_poll(dedup="ip")
    url, option = f"/api/v1/polls/{poll['id']}/votes", {"option_ids": [poll["options"][0]["id"]]}
    assert client.post(url, json=option, headers={"X-Forwarded-For": "198.51.100.23"}).status_code == 201
    assert client.post(url, json=option, headers={"X-Forwarded-For": "2001:db8:aa:bb:1::1"}).status_code == 201
    assert client.post(url, json=option, headers={"X-Forwarded-For": "2001:db8:aa:bb:2::2"}).status_code == 409
    assert client.post(url, json=option, headers={"X-Forwarded-For": "2001:db8:aa:bc::1"}).status_code == 201
    with app.app_context():
        stored = {bytes(k) for k in db.session.scalars(select(BallotKey.key_hash).where(BallotKey.kind == "ip"))}
    assert keyed_hash(TEST_SECRET, "ip", "198.51.100.23") in stored
    assert keyed_hash(TEST_SECRET, "ip", "2001:db8:aa:bb::/64") in stored
    for clear in (b"198.51.100.23", hashlib.sha256(b"198.51.100.23").digest(),
                  keyed_hash("another-secret", "ip", "198.51.100.23")):
        assert clear not in stored
    assert all(len(k) == 32 for k in stored) and len(stored) == 3


ACCESS_LINE = re.compile(r'"(GET|POST|PATCH|DELETE|OPTIONS) /')


def _access_lines(server: Any, marker: str) -> list[str]:
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = [line for line in server.log.read_text().splitlines() if ACCESS_LINE.search(line)]
        if any(marker in line for line in lines):
            break
        time.sleep(0.1)
    return lines


@pytest.mark.server
@pytest.mark.parametrize("with_ips", [False, True])
def test_access_logs_carry_no_client_ip_unless_asked(serve: Any, with_ips: bool) -> None:
    server = serve(workers=1, access_log_ips="true") if with_ips else serve(workers=1)
    for path in ("/healthz", "/api/v1/polls/1", "/nope", "/api/v1/polls?marker=1"):
        requests.get(server.url + path, headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
    requests.post(server.url + "/api/v1/voters", timeout=10)
    lines = _access_lines(server, "marker=1")
    assert len(lines) >= 5, server.log.read_text()[-2000:]
    leaked = [line for line in lines if "127.0.0.1" in line or "203.0.113.9" in line]
    if with_ips:
        assert leaked, "POLLSVC_ACCESS_LOG_IPS=true should log the peer address"
    else:
        assert not leaked, leaked[:3]


# ---- audit log ----


def test_audit_log_records_who_did_what_when_for_admins_only(app: Any, client: Any, admin: dict[str, str],
                                                            reporter_key: str, make_poll: Any, voter_token: Any,
                                                            clock: Any) -> None:
    poll = make_poll()
    other = make_poll(question="Khác?")
    pid = poll["id"]
    steps = [("patch", {"question": "Sửa?"}, "edit"), ("patch", {"status": "closed"}, "close"),
             ("patch", {"status": "open"}, "open"), ("patch", {"status": "draft"}, "unpublish"),
             ("delete", None, "archive")]
    for method, body, _ in steps:
        clock.advance(minutes=1)
        response = (client.patch(f"/api/v1/polls/{pid}", json=body, headers=admin) if method == "patch"
                    else client.delete(f"/api/v1/polls/{pid}", headers=admin))
        assert response.status_code in (200, 204)
    # votes and failed edits are not admin actions
    client.post(f"/api/v1/polls/{other['id']}/votes", json={"option_ids": [other["options"][0]["id"]]},
                headers={"X-Voter-Token": voter_token()})
    client.patch(f"/api/v1/polls/{pid}", json={"question": ""}, headers=admin)

    log = client.get(f"/api/v1/audit?poll_id={pid}", headers=admin)
    assert log.status_code == 200
    events = log.json["items"]
    assert [e["action"] for e in events] == ["archive", "unpublish", "open", "close", "edit", "create"]
    assert all(e["poll_id"] == pid and e["api_key_name"] == "test admin" for e in events)
    times = [e["at"] for e in events]
    assert times == sorted(times, reverse=True) and all(t.endswith("Z") for t in times)
    assert events[-1]["details"] == {"question": poll["question"]}
    assert events[-2]["details"] == {"fields": ["question"]}
    everything = client.get("/api/v1/audit?per_page=100", headers=admin).json
    assert everything["total"] == 7 and {e["poll_id"] for e in everything["items"]} == {pid, other["id"]}
    page = client.get("/api/v1/audit?per_page=2&page=2", headers=admin).json
    assert [e["id"] for e in page["items"]] == [e["id"] for e in everything["items"][2:4]]

    assert_error(client.get("/api/v1/audit", headers={"Authorization": f"Bearer {reporter_key}"}), 403, "forbidden")
    assert_error(client.get("/api/v1/audit"), 401, "unauthorized")


def test_audit_names_the_key_that_acted(client: Any, app: Any, admin: dict[str, str]) -> None:
    from datetime import UTC, datetime

    with app.app_context():
        second = apikeys.create_key(db.session, "admin", "night editor", datetime.now(UTC))
    created = client.post("/api/v1/polls", json=poll_body(), headers={"Authorization": f"Bearer {second}"})
    client.patch(f"/api/v1/polls/{created.json['id']}", json={"status": "closed"}, headers=admin)
    events = client.get("/api/v1/audit", headers=admin).json["items"]
    assert [(e["action"], e["api_key_name"]) for e in events] == [("close", "test admin"),
                                                                  ("create", "night editor")]


def test_a_cross_site_form_or_no_cors_post_cannot_vote(client: Any, make_poll: Any) -> None:
    """What a foreign page can send without a CORS preflight (a form, or fetch in no-cors mode):
    a text/plain or form body. None of it may count, even on an ``ip`` poll that needs no token."""
    poll = make_poll(dedup="ip")
    option = poll["options"][0]["id"]
    url, choice = f"/api/v1/polls/{poll['id']}/votes", json.dumps({"option_ids": [option]})
    for content_type, body in (("text/plain", choice), ("text/plain", choice[:-1] + ', "a": "="}'),
                               ("application/x-www-form-urlencoded", f"option_ids={option}"),
                               ("multipart/form-data; boundary=x", "--x--")):
        response = client.post(url, data=body, content_type=content_type, headers={"Origin": "https://evil.example"})
        assert 400 <= response.status_code < 500 and response.mimetype == "application/json", (
            content_type, response.status_code)
        assert "Access-Control-Allow-Origin" not in response.headers
    assert client.get(f"/api/v1/polls/{poll['id']}").json["participants"] == 0
