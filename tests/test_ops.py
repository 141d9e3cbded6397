"""Operations endpoints and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pollsvc import create_app
from tests.helpers import REDIS_URL


def test_healthz(client: Any) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_database_and_redis(client: Any) -> None:
    body = client.get("/readyz").json
    assert body == {"status": "ok", "database": "ok", "redis": "ok" if REDIS_URL else "disabled"}


def test_readyz_says_redis_is_degraded_but_stays_ready(app_config: dict[str, Any], make_poll: Any) -> None:
    app = create_app({**app_config, "redis_url": "redis://127.0.0.1:1/0"})
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["redis"] == "degraded" and response.json["database"] == "ok"
    # votes go on, limits fall back to process memory
    token = client.post("/api/v1/voters")
    assert token.status_code == 201


def test_metrics_count_requests_and_votes(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll()
    token = voter_token()
    body = {"option_ids": [poll["options"][0]["id"]]}
    client.post(f"/api/v1/polls/{poll['id']}/votes", json=body, headers={"X-Voter-Token": token})
    client.post(f"/api/v1/polls/{poll['id']}/votes", json=body, headers={"X-Voter-Token": token})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'pollsvc_votes_total{outcome="accepted"}' in text
    assert 'pollsvc_votes_total{outcome="already_voted"}' in text
    assert 'pollsvc_http_requests_total{endpoint="votes.vote",method="POST",status="409"}' in text
    assert "pollsvc_http_request_duration_seconds_bucket" in text


def test_openapi_documents_every_endpoint_with_errors_and_security(client: Any) -> None:
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    expected = {
        ("/api/v1/articles/{article_id}/polls", "get"), ("/api/v1/polls/{poll_id}", "get"),
        ("/api/v1/polls/{poll_id}", "patch"), ("/api/v1/polls/{poll_id}", "delete"), ("/api/v1/polls", "get"),
        ("/api/v1/polls", "post"), ("/api/v1/voters", "post"), ("/api/v1/polls/{poll_id}/votes", "post"),
        ("/api/v1/polls/{poll_id}/results", "get"), ("/api/v1/polls/{poll_id}/results/timeseries", "get"),
        ("/api/v1/polls/{poll_id}/results.csv", "get"), ("/api/v1/reports/polls", "get"),
        ("/api/v1/views", "post"),
    }
    found = {(path, method) for path, ops in paths.items() for method in ops if method != "parameters"}
    assert expected <= found
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    vote = paths["/api/v1/polls/{poll_id}/votes"]["post"]
    assert {"400", "404", "409", "413", "422", "429", "503"} <= set(vote["responses"])
    assert "requestBody" in vote
    create = paths["/api/v1/polls"]["post"]
    assert create["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "422"} <= set(create["responses"])
    assert "Error" in str(create["responses"]["422"])
