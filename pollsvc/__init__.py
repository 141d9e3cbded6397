"""pollsvc: polls and deduplicated votes for news sites."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from flask import Flask, Response, g, request
from flask_cors import CORS
from flask_smorest import Api
from sqlalchemy import event
from sqlalchemy.engine import Engine

from pollsvc import metrics
from pollsvc.api.limits import install_limits, use_one_trip_strategy
from pollsvc.config import Settings
from pollsvc.errors import ApiError, register_error_handlers
from pollsvc.extensions import db, migrate, new_limiter
from pollsvc.runtime import Runtime, utcnow
from pollsvc.schemas import ErrorSchema
from pollsvc.services.snapshots import SnapshotCache

__version__ = "0.1.0"
MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


class PollsApi(Api):
    ERROR_SCHEMA = ErrorSchema


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app factory. ``config``: lower-case Settings fields and/or Flask config keys.

    ``CLOCK`` (a callable returning an aware datetime) replaces the wall clock, for tests.
    """
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("POLLSVC_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True, static_folder=None)
    os.makedirs(app.instance_path, exist_ok=True)
    settings = Settings.load(app.instance_path, config)
    clock = settings.extra.pop("CLOCK", None) or utcnow
    app.config.update(settings.extra)
    app.config.update(_flask_config(settings))

    app.extensions["pollsvc"] = Runtime(
        settings=settings,
        clock=clock,
        redis=_redis_client(settings),
        caches={"snapshots": SnapshotCache(settings.public_cache_seconds)},
    )
    _install_request_hooks(app, settings)  # before the limiter's: 413 comes first

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    limiter = new_limiter()
    limiter.init_app(app)
    app.extensions["pollsvc_limiter"] = limiter
    use_one_trip_strategy(limiter)  # one Redis command per limited request
    api = PollsApi(app, spec_kwargs={"info": {"description": "pollsvc HTTP API v1."}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    app.extensions["pollsvc_api"] = api
    register_error_handlers(app)
    CORS(app, resources={r"/api/v1/*": {"origins": settings.cors_origin_list}},
         allow_headers=["Content-Type", "X-Voter-Token", "X-Poll-User", "Authorization"],
         expose_headers=["ETag", "Location", "Retry-After", "X-RateLimit-Limit",
                         "X-RateLimit-Remaining", "X-RateLimit-Reset"],
         max_age=600)

    from pollsvc.api import audit, ops, polls, results, votes

    for blueprint in (polls.blp, votes.blp, results.blp, audit.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(ops.bp)
    install_limits(app, limiter)
    metrics.install(app)

    from pollsvc import web

    web.register(app)
    _log_through_gunicorn()
    return app


def _log_through_gunicorn() -> None:
    """Under gunicorn, send the ``pollsvc`` logger (500s with their request ids, 503s) to its
    error log; otherwise the library's NullHandler would swallow them."""
    server_log = logging.getLogger("gunicorn.error")
    ours = logging.getLogger("pollsvc")
    if server_log.handlers and not any(h in ours.handlers for h in server_log.handlers):
        for handler in server_log.handlers:
            ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False


def _flask_config(settings: Settings) -> dict[str, Any]:
    url = settings.database_url
    engine: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        engine.update(pool_size=5, max_overflow=5, pool_timeout=3, pool_recycle=1800,
                      connect_args={"connect_timeout": 3, "application_name": "pollsvc"})
    elif url.startswith("sqlite"):
        engine.update(connect_args={"timeout": 15})
    from pollsvc.redis_client import limiter_storage_options, limiter_storage_uri

    storage = limiter_storage_uri(settings.redis_url) if settings.redis_url else "memory://"
    return {
        "SECRET_KEY": settings.secret_key,
        "MAX_CONTENT_LENGTH": settings.max_body_bytes,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_STORAGE_OPTIONS": limiter_storage_options(settings.redis_url, settings.redis_socket_timeout)
        if settings.redis_url else {},
        "RATELIMIT_STRATEGY": "fixed-window",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": bool(settings.redis_url),
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": settings.redis_key_prefix,
        "API_TITLE": "pollsvc",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }


def _redis_client(settings: Settings) -> Any:
    """One pool per process, timeouts short enough that a Redis outage never stalls a request."""
    if not settings.redis_url:
        return None
    from pollsvc.redis_client import client_from_url

    return client_from_url(settings.redis_url, settings.redis_socket_timeout)


def _install_request_hooks(app: Flask, settings: Settings) -> None:
    @app.before_request
    def _refuse_large_bodies() -> None:
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            raise ApiError("payload_too_large",
                           f"The request body is larger than {settings.max_body_bytes} bytes.")

    varies_by_origin = settings.cors_origin_list != "*"

    @app.after_request
    def _common_headers(response: Response) -> Response:
        # Runs after flask-cors's hook (registered later, run earlier).
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if varies_by_origin and request.path.startswith("/api/v1/"):
            # Whether Access-Control-Allow-Origin is sent depends on Origin even with a single
            # allowed origin (flask-cors adds Vary only for several): a CDN must not serve a
            # response cached for one origin, or none, to another.
            names = [v.strip() for value in response.headers.getlist("Vary") for v in value.split(",") if v.strip()]
            if "origin" not in {n.lower() for n in names}:
                names.append("Origin")
            response.headers["Vary"] = ", ".join(dict.fromkeys(names))
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: WAL for concurrent readers, FULL sync so a 201 survives power loss, real FKs."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


logging.getLogger("pollsvc").addHandler(logging.NullHandler())
