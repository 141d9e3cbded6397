"""Fixtures: an app on a clean database (SQLite, or PostgreSQL + Redis when the env says so),
a controllable clock, API keys, and real ``pollsvc serve`` processes.

POLLSVC_TEST_DATABASE_URL  e.g. postgresql+psycopg://root@127.0.0.1:5432/pollsvc_test
POLLSVC_TEST_REDIS_URL     e.g. redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from pollsvc import create_app
from pollsvc.extensions import db
from pollsvc.migrate_lock import upgrade_database
from pollsvc.services.apikeys import create_key
from tests.helpers import (
    PG_URL,
    SESSION_TAG,
    Clock,
    Server,
    base_config,
    drop_postgres_database,
    ensure_postgres_database,
    poll_body,
    server_env,
    start_server,
    wipe,
)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """POLLSVC_TEST_DATABASE_URL names the server and a base name: this session's database is
    ``<name>_<pid>``, created empty and dropped at the end."""
    if not PG_URL:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "pollsvc-test.sqlite3")
        return
    parsed = make_url(PG_URL)
    url = parsed.set(database=f"{parsed.database}_{SESSION_TAG}").render_as_string(hide_password=False)
    drop_postgres_database(url)
    ensure_postgres_database(url)
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def migrated(database_url: str, instance_dir: Path) -> str:
    upgrade_database(create_app(base_config(database_url, instance_dir)))
    return database_url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(migrated: str, instance_dir: Path, clock: Clock) -> dict[str, Any]:
    """Edit this in a test (before using ``app``) to change settings. Limits are generous here;
    the rate-limit tests set their own."""
    return {**base_config(migrated, instance_dir), "CLOCK": clock, "rate_limit_voters": "10000/minute",
            "rate_limit_vote": "10000/minute", "rate_limit_public_read": "10000/minute",
            "rate_limit_views": "10000/minute"}


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    wipe(app_config["database_url"])
    application = create_app(app_config)
    application.extensions["pollsvc"].limiter.reset()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


def _key(app: Any, role: str) -> str:
    with app.app_context():
        return create_key(db.session, role, f"test {role}", datetime.now(UTC))


@pytest.fixture
def admin_key(app: Any) -> str:
    return _key(app, "admin")


@pytest.fixture
def reporter_key(app: Any) -> str:
    return _key(app, "reporter")


@pytest.fixture
def admin(admin_key: str) -> dict[str, str]:
    """Headers of an admin request."""
    return {"Authorization": f"Bearer {admin_key}"}


@pytest.fixture
def make_poll(client: Any, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        response = client.post("/api/v1/polls", json=poll_body(**overrides), headers=admin)
        assert response.status_code == 201, response.json
        return response.json  # type: ignore[no-any-return]

    return make


@pytest.fixture
def voter_token(client: Any) -> Callable[[], str]:
    def issue() -> str:
        response = client.post("/api/v1/voters")
        assert response.status_code == 201
        return response.json["voter_token"]  # type: ignore[no-any-return]

    return issue


# ---- real server processes ----


@pytest.fixture
def serve(migrated: str, instance_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start real ``pollsvc serve`` processes on the test database; all stopped at the end.

    ``serve(rate_limit_vote="1000/minute")``: keyword settings become POLLSVC_* env; ``workers``
    defaults to serve's own default (two with Redis, one without).
    """
    started: list[Server] = []
    wipe(migrated)

    def start(workers: int | None = None, **settings: str) -> Server:
        settings.setdefault("rate_limit_voters", "100000/minute")
        settings.setdefault("rate_limit_vote", "100000/minute")
        settings.setdefault("rate_limit_public_read", "100000/minute")
        settings.setdefault("rate_limit_views", "100000/minute")
        server = start_server(server_env(migrated, instance_dir, **settings), tmp_path, workers=workers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server_admin_key(migrated: str, instance_dir: Path) -> Callable[[], str]:
    """An admin key made through the CLI, as an operator would."""

    def make() -> str:
        out = subprocess.run(
            [sys.executable, "-m", "pollsvc.cli", "create-api-key", "--role", "admin", "--name", "tests"],
            env=server_env(migrated, instance_dir), capture_output=True, text=True, check=True,
        )
        return out.stdout.strip().splitlines()[-1]

    return make
