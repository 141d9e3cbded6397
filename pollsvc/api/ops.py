"""Operations endpoints: liveness, readiness, metrics. No key, no rate limit."""

from __future__ import annotations

from flask import Blueprint, Response

from pollsvc import metrics
from pollsvc.api.common import NO_STORE, json_response
from pollsvc.errors import ApiError, error_response
from pollsvc.runtime import runtime

bp = Blueprint("ops", __name__)

HEALTHY = b'{"status":"ok"}'


@bp.get("/healthz")
def healthz() -> Response:
    return Response(HEALTHY, mimetype="application/json", headers=NO_STORE)


def redis_state() -> str:
    client = runtime().redis
    if client is None:
        return "disabled"
    try:
        client.ping()
    except Exception:
        return "degraded"
    return "ok"


@bp.get("/readyz")
def readyz() -> Response:
    redis = redis_state()
    try:
        runtime().store.ping()
    except Exception:
        return error_response(ApiError("unavailable", "The database does not answer.",
                                       extra={"database": "down", "redis": redis}))
    return json_response({"status": "ok", "database": "ok", "redis": redis}, headers=NO_STORE)


@bp.get("/metrics")
def metrics_view() -> Response:
    return metrics.render()
