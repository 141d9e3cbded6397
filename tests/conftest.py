"""Fixtures: an app on a clean database (SQLite, or PostgreSQL + Redis when the env says so),
a controllable clock, API keys, and real ``pollsvc serve`` processes.

POLLSVC_TEST_DATABASE_URL  e.g. postgresql+psycopg://root@127.0.0.1:5432/pollsvc_test
POLLSVC_TEST_REDIS_URL     e.g. redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pollsvc import create_app
from pollsvc.extensions import current_limiter, db
from pollsvc.migrate_lock import upgrade_database
from pollsvc.services.apikeys import create_key
from pollsvc.testing import ServerProcess, free_port, launch

PG_URL = os.environ.get("POLLSVC_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("POLLSVC_TEST_REDIS_URL", "")
# Each test session has its own PostgreSQL database and Redis key prefix, so that two sessions
# on one machine (a developer's and CI's, say) never wipe each other's data.
SESSION_TAG = f"{os.getpid()}"
REDIS_PREFIX = f"pollsvc-test-{SESSION_TAG}"
TABLES = ("audit_events", "selections", "ballot_keys", "option_counter_shards", "poll_counter_shards",
          "ballots", "options", "polls", "api_keys")
TEST_SECRET = "test-secret-key-for-pollsvc-tests-only"
USER_SECRET = "test-user-assertion-secret"


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def ensure_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": parsed.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


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


def base_config(database_url: str, instance_dir: Path) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(instance_dir),
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "redis_key_prefix": REDIS_PREFIX,
        "secret_key": TEST_SECRET,
        "user_assertion_secret": USER_SECRET,
        "TESTING": True,
    }


@pytest.fixture(scope="session")
def migrated(database_url: str, instance_dir: Path) -> str:
    upgrade_database(create_app(base_config(database_url, instance_dir)))
    return database_url


def wipe(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    if REDIS_URL:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(migrated: str, instance_dir: Path, clock: Clock) -> dict[str, Any]:
    """Edit this in a test (before using ``app``) to change settings. Limits are generous here;
    the rate-limit tests set their own."""
    return {**base_config(migrated, instance_dir), "CLOCK": clock, "rate_limit_voters": "10000/minute",
            "rate_limit_vote": "10000/minute", "rate_limit_public_read": "10000/minute"}


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    wipe(app_config["database_url"])
    application = create_app(app_config)
    with application.app_context():
        current_limiter().reset()
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


def poll_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "article_id": "hoi-nghi-ket-luan-57",
        "question": "Bạn thấy hội nghị thế nào?",
        "options": [{"label": "Rất hữu ích"}, {"label": "Bình thường"}, {"label": "Chưa rõ"}],
    }
    body.update(overrides)
    return body


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


Server = ServerProcess


def server_env(database_url: str, instance_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLLSVC_")}
    env.update({
        "POLLSVC_DATABASE_URL": database_url,
        "POLLSVC_SECRET_KEY": TEST_SECRET,
        "POLLSVC_USER_ASSERTION_SECRET": USER_SECRET,
        "POLLSVC_INSTANCE_PATH": str(instance_dir),
    })
    if REDIS_URL:
        env["POLLSVC_REDIS_URL"] = REDIS_URL
        env["POLLSVC_REDIS_KEY_PREFIX"] = REDIS_PREFIX
    env.update({f"POLLSVC_{k.upper()}": v for k, v in settings.items()})
    return env


def start_server(env: dict[str, str], log_dir: Path, *, workers: int = 2, port: int | None = None,
                 extra_args: tuple[str, ...] = ()) -> Server:
    port = port or free_port()
    argv = [sys.executable, "-m", "pollsvc.cli", "serve", "--port", str(port), "--workers", str(workers),
            *extra_args]
    return launch(argv, env, port, log_dir / f"server-{port}.log")


@pytest.fixture
def serve(migrated: str, instance_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start real ``pollsvc serve`` processes on the test database; all stopped at the end.

    ``serve(workers=2, rate_limit_vote="1000/minute")``: keyword settings become POLLSVC_* env.
    """
    started: list[Server] = []
    wipe(migrated)

    def start(workers: int = 2, **settings: str) -> Server:
        settings.setdefault("rate_limit_voters", "100000/minute")
        settings.setdefault("rate_limit_vote", "100000/minute")
        settings.setdefault("rate_limit_public_read", "100000/minute")
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
