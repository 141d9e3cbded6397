"""Findings of the black-box probe (issue 14) reproduced: chunked bodies past the limit, /metrics
for strangers, editors locked out by a guesser, API keys that never end, the demo's pile of admin
keys, the embedded database's mode, and responses without a policy of their own."""

from __future__ import annotations

import http.client
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pollsvc.config import Settings
from tests.helpers import assert_error, server_env

# ---- bodies without Content-Length ----


def _chunked_post(url: str, path: str, pieces: Iterator[bytes]) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        conn.request("POST", path, body=pieces, encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.server
def test_a_chunked_body_past_the_limit_is_413_whatever_the_framing(serve: Any, server_admin_key: Any) -> None:
    server = serve(bot_check="off")
    admin = {"Authorization": f"Bearer {server_admin_key()}"}
    created = requests.post(server.url + "/api/v1/polls", headers=admin, timeout=10, json={
        "article_id": "chunked", "question": "Q?", "options": [{"label": "A"}, {"label": "B"}], "dedup": "ip"})
    assert created.status_code == 201, created.text
    poll = created.json()
    option = poll["options"][0]["id"]
    votes = f"/api/v1/polls/{poll['id']}/votes"

    def body(padding: int) -> Iterator[bytes]:
        yield b'{"option_ids":[%d]' % option
        for _ in range(padding // 10_000):
            yield b" " * 10_000
        yield b"}"

    # 1 MiB with a valid start: refused as too large, never cut at the limit and counted
    status, text = _chunked_post(server.url, votes, body(1_000_000))
    assert status == 413 and b'"payload_too_large"' in text
    # just past the 64 KiB limit, too
    status, text = _chunked_post(server.url, votes, body(70_000))
    assert status == 413 and b'"payload_too_large"' in text
    # within the limit, a chunked vote is a vote
    status, text = _chunked_post(server.url, votes, body(60_000))
    assert status == 201, text
    results = requests.get(server.url + f"/api/v1/polls/{poll['id']}/results", headers=admin, timeout=10).json()
    assert results["participants"] == 1


@pytest.mark.server
def test_the_servers_own_errors_have_the_json_shape_and_no_banner(serve: Any) -> None:
    server = serve()
    long_url = requests.get(server.url + "/api/v1/polls/1?x=" + "a" * 20_000, timeout=10)
    assert long_url.status_code == 414 and long_url.json()["error"] == "uri_too_long"
    huge_headers = requests.get(server.url + "/api/v1/polls/1", timeout=10,
                                headers={f"X-Pad-{i}": "b" * 4000 for i in range(10)})
    assert huge_headers.status_code == 431 and huge_headers.json()["error"] == "headers_too_large"
    for response in (long_url, huge_headers, requests.get(server.url + "/", timeout=10),
                     requests.get(server.url + "/healthz", timeout=10)):
        assert response.headers.get("Server", "") == "", response.url  # no "granian" banner
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Retry-After" not in response.headers


def test_a_client_request_id_is_echoed_only_when_short_and_plain(client: Any, caplog: Any) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.42:1"})
    assert kept.headers["X-Request-ID"] == "edge-7f3a.42:1"
    for hostile in ("x" * 5000, "user=admin action=delete-all", "a\u202eb", "abc\tdef"):
        made = client.get("/healthz", headers={"X-Request-ID": hostile}).headers["X-Request-ID"]
        assert made != hostile and re.fullmatch(r"[0-9a-f]{20}", made)


def test_deeply_nested_json_is_a_plain_400_and_logs_no_error(client: Any, make_poll: Any, caplog: Any) -> None:
    poll = make_poll(dedup="ip")
    body = '{"option_ids":' + "[" * 20_000 + "]" * 20_000 + "}"
    with caplog.at_level("WARNING", logger="pollsvc"):
        response = client.post(f"/api/v1/polls/{poll['id']}/votes", data=body, content_type="application/json")
    assert_error(response, 400, "bad_request")
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


# ---- /metrics ----


def test_metrics_are_for_the_operator_alone_by_default(client: Any) -> None:
    assert client.get("/metrics").status_code == 200  # an operator's curl on the host itself
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"}).status_code == 200
    for stranger in ({"environ_base": {"REMOTE_ADDR": "203.0.113.9"}},
                     {"headers": {"X-Forwarded-For": "203.0.113.9"}},  # through a proxy on this host
                     {"headers": {"Forwarded": "for=203.0.113.9"}}):
        response = client.get("/metrics", **stranger)
        assert_error(response, 401, "unauthorized")
        assert b"pollsvc_" not in response.data


@pytest.fixture
def metrics_token(app_config: dict[str, Any]) -> str:
    app_config["metrics_token"] = "scrape-me-7f3a"
    return "scrape-me-7f3a"


def test_a_metrics_token_lets_a_scraper_in_from_anywhere_and_no_one_else(metrics_token: str, client: Any) -> None:
    remote = {"REMOTE_ADDR": "198.51.100.20"}
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"}, environ_base=remote)
    assert ok.status_code == 200 and b"pollsvc_http_requests_total" in ok.data
    for wrong in ("Bearer scrape-me", f"Basic {metrics_token}", ""):
        assert_error(client.get("/metrics", headers={"Authorization": wrong}, environ_base=remote),
                     401, "unauthorized")
    # with a token set, loopback is not a free pass either
    assert_error(client.get("/metrics"), 401, "unauthorized")


# ---- API keys ----


def test_keys_expire_and_revoke_at_once(app: Any, client: Any, clock: Any) -> None:
    from datetime import timedelta

    from pollsvc.extensions import db
    from pollsvc.services.apikeys import create_key, key_prefix, revoke_key

    with app.app_context():
        expiring = create_key(db.session, "reporter", "intern", clock(), clock() + timedelta(days=1))
        lasting = create_key(db.session, "admin", "desk", clock())
    headers = {"Authorization": f"Bearer {expiring}"}
    assert client.get("/api/v1/polls", headers=headers).status_code == 200
    clock.advance(days=1)
    assert_error(client.get("/api/v1/polls", headers=headers), 401, "unauthorized")
    assert client.get("/api/v1/polls", headers={"Authorization": f"Bearer {lasting}"}).status_code == 200
    with app.app_context():
        assert revoke_key(db.session, key_prefix(lasting), clock())
        assert not revoke_key(db.session, key_prefix(lasting), clock())  # only once
    assert_error(client.get("/api/v1/polls", headers={"Authorization": f"Bearer {lasting}"}), 401, "unauthorized")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pollsvc.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_api_keys_are_listed_without_secrets_and_revoked_from_the_cli(app: Any, migrated: str,
                                                                      instance_dir: Path) -> None:
    env = server_env(migrated, instance_dir)
    made = _cli(env, "api-keys", "create", "--role", "reporter", "--name", "dashboard", "--expires-in", "30")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    prefix = key.split("_")[1]
    listed = _cli(env, "api-keys", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(prefix))
    assert "reporter" in row and "dashboard" in row and "active" in row and "never" not in row
    assert key.split("_", 2)[2] not in listed.stdout  # never the secret part
    client = app.test_client()
    assert client.get("/api/v1/polls", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    revoked = _cli(env, "api-keys", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    assert_error(client.get("/api/v1/polls", headers={"Authorization": f"Bearer {key}"}), 401, "unauthorized")
    assert "revoked" in next(line for line in _cli(env, "api-keys", "list").stdout.splitlines()
                             if line.startswith(prefix))
    again = _cli(env, "api-keys", "revoke", prefix)
    assert again.returncode != 0 and "no active key" in again.stderr
    legacy = _cli(env, "create-api-key", "--role", "admin")  # the contract's command stays
    assert legacy.returncode == 0 and legacy.stdout.strip().splitlines()[-1].startswith("psk_")


# ---- files ----


def test_the_embedded_database_is_created_readable_by_its_owner_alone(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLLSVC_DATABASE_URL", raising=False)
    settings = Settings.load(str(tmp_path / "instance"))
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o640)  # an operator's own choice is kept
    Settings.load(str(tmp_path / "instance"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# ---- headers ----


def test_every_response_without_a_policy_of_its_own_gets_a_locked_down_one(client: Any) -> None:
    for path in ("/", "/nope", "/api/v1/polls/999", "/healthz", "/openapi.json"):
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'", path
        assert response.headers["X-Frame-Options"] == "DENY"
    embed = client.get("/embed/polls/1")  # a page meant to be framed keeps its own policy
    assert "frame-ancestors" in embed.headers["Content-Security-Policy"]
    assert "default-src 'self'" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers


@pytest.fixture
def one_vote_a_minute(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["rate_limit_vote"] = "1/minute"
    return app_config


def test_retry_after_only_where_there_is_something_to_wait_for(one_vote_a_minute: Any, client: Any,
                                                               make_poll: Any) -> None:
    poll = make_poll(dedup="ip")
    first = client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][0]["id"]]})
    assert first.status_code == 201 and "Retry-After" not in first.headers
    assert first.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in client.get(f"/api/v1/polls/{poll['id']}").headers
    second = client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][0]["id"]]})
    assert_error(second, 429, "rate_limited")
    assert 1 <= int(second.headers["Retry-After"]) <= 60
