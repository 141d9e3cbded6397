"""Operations endpoints: liveness, readiness, metrics. No API key, no rate limit; /metrics is for
the operator alone (``POLLSVC_METRICS_TOKEN``, else loopback only)."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, request

from pollsvc import metrics
from pollsvc.api.auth import bearer_credential
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
    """Prometheus text: vote totals and admin activity, so not for strangers."""
    token = runtime().settings.metrics_token
    if not (may_scrape(token) if token else from_loopback_directly()):
        raise ApiError("unauthorized", "The metrics need Authorization: Bearer <POLLSVC_METRICS_TOKEN> "
                                       "(without that setting, only a client on this host may read them).")
    return metrics.render()


def may_scrape(token: str) -> bool:
    presented = bearer_credential(request.headers.get("Authorization", ""))
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


def from_loopback_directly() -> bool:
    """A client on this host, not relayed by a proxy (which would send X-Forwarded-For): an
    operator's curl or a local Prometheus, never a reader coming through the balancer."""
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
