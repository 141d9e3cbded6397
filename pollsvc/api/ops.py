"""Operations endpoints: liveness, readiness, metrics. No key, no rate limit."""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import text

from pollsvc import metrics
from pollsvc.api.common import json_response
from pollsvc.errors import ApiError, error_response
from pollsvc.extensions import db
from pollsvc.runtime import runtime

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


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
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:
        db.session.rollback()
        return error_response(ApiError("unavailable", "The database does not answer.",
                                       extra={"database": "down", "redis": redis}))
    return json_response({"status": "ok", "database": "ok", "redis": redis},
                         headers={"Cache-Control": "no-store"})


@bp.get("/metrics")
def metrics_view() -> Response:
    return metrics.render()
