"""The app factory: settings, extensions, the store and runtime, blueprints, the request pipeline."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface, SessionMixin
from flask_smorest import Api

from pollsvc.api import openapi, pipeline
from pollsvc.api.lagging import EXTENSION as LAGGING
from pollsvc.config import Settings
from pollsvc.errors import register_error_handlers
from pollsvc.extensions import db, migrate
from pollsvc.runtime import EXTENSION, Runtime, utcnow
from pollsvc.schemas import ErrorSchema
from pollsvc.services.store import engine_options, make_store
from pollsvc.services.store.replica import lagging_reads

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


class PollsApi(Api):
    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = openapi.DEFAULT_ERROR

    def _register_pagination_header(self) -> None:
        """Nothing: pollsvc pages in its bodies, and flask-smorest's X-Pagination header would leave
        an unused ``PaginationMetadata`` schema in the document."""


class NoSessions(SessionInterface):
    """pollsvc keeps no server-side or cookie session: don't build one for every request."""

    def open_session(self, app: Flask, request: Any) -> SessionMixin | None:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        return None


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app factory. ``config``: lower-case Settings fields and/or Flask config keys.

    ``CLOCK`` (a callable returning an aware datetime) replaces the wall clock, for tests;
    ``VIEW_FLUSH_SECONDS`` (default 2) sets how often buffered views are written, 0 never by
    itself (tests call ``runtime().views.flush()``).
    """
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("POLLSVC_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True, static_folder=None)
    app.session_interface = NoSessions()
    os.makedirs(app.instance_path, exist_ok=True)
    settings = Settings.load(app.instance_path, config)
    clock = settings.extra.pop("CLOCK", None) or utcnow
    app.config.update(settings.extra)
    app.config.update(_flask_config(settings))

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    with app.app_context():
        store = make_store(db.engine, settings.database_prepared_statements)
    app.extensions[EXTENSION] = Runtime.build(settings, store, clock, _redis_client(settings))
    app.extensions[LAGGING] = lagging_reads(store, settings.database_replica_url, settings.replica_max_lag,
                                            settings.database_prepared_statements)

    api = PollsApi(app, spec_kwargs=openapi.spec_options())
    openapi.register_components(api.spec)
    register_error_handlers(app)
    pipeline.install(app, settings)

    from pollsvc.api import audit, integrity, ops, polls, results, views, votes

    for blueprint in (polls.blp, votes.blp, views.blp, results.blp, integrity.blp, audit.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(ops.bp)

    from pollsvc import web

    web.register(app)
    _log_through_server()
    return app


def _log_through_server() -> None:
    """Under a server that configured logging (gunicorn's error log, Granian's), send the
    ``pollsvc`` logger there too; otherwise the library's NullHandler would swallow it."""
    for name in ("gunicorn.error", "_granian"):
        server_log = logging.getLogger(name)
        ours = logging.getLogger("pollsvc")
        if server_log.handlers and not any(h in ours.handlers for h in server_log.handlers):
            for handler in server_log.handlers:
                ours.addHandler(handler)
            ours.setLevel(logging.INFO)
            ours.propagate = False


def _flask_config(settings: Settings) -> dict[str, Any]:
    return {
        "SECRET_KEY": settings.secret_key,
        "MAX_CONTENT_LENGTH": settings.max_body_bytes,
        "SQLALCHEMY_DATABASE_URI": settings.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(settings.database_url, settings.database_prepared_statements),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "API_TITLE": "pollsvc",
        "API_VERSION": openapi.package_version(),
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

