"""Plain helpers and constants shared by the test modules (fixtures live in the conftest files).

POLLSVC_TEST_DATABASE_URL  e.g. postgresql+psycopg://root@127.0.0.1:5432/pollsvc_test
POLLSVC_TEST_REDIS_URL     e.g. redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pollsvc.testing import ServerProcess, free_port, launch, solve

PG_URL = os.environ.get("POLLSVC_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("POLLSVC_TEST_REDIS_URL", "")
# Each test session has its own PostgreSQL database and Redis key prefix, so that two sessions
# on one machine (a developer's and CI's, say) never wipe each other's data.
SESSION_TAG = f"{os.getpid()}"
REDIS_PREFIX = f"pollsvc-test-{SESSION_TAG}"
TABLES = ("audit_events", "selections", "ballot_keys", "option_counter_shards", "poll_counter_shards",
          "poll_hourly_counts", "ballots", "voids", "options", "polls", "api_keys", "spent_challenges", "token_mints",
          "poll_hourly_views", "view_batches")
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


# ---- the test database ----


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


TEST_SETTINGS = {"bot_check": "off", "pow_base_cost": "1"}
"""Most tests are about something else than the proof of work: voter tokens are free there (the
bot-check tests and the browser tests turn it on, at a tiny cost)."""


def base_config(database_url: str, instance_dir: Path) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(instance_dir),
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "redis_key_prefix": REDIS_PREFIX,
        "secret_key": TEST_SECRET,
        "user_assertion_secret": USER_SECRET,
        "bot_check": TEST_SETTINGS["bot_check"],
        "pow_base_cost": int(TEST_SETTINGS["pow_base_cost"]),
        "TESTING": True,
    }


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


# ---- requests through the Flask test client ----


def poll_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "article_id": "hoi-nghi-ket-luan-57",
        "question": "Bạn thấy hội nghị thế nào?",
        "options": [{"label": "Rất hữu ích"}, {"label": "Bình thường"}, {"label": "Chưa rõ"}],
    }
    body.update(overrides)
    return body


def post_vote(client: Any, poll: dict[str, Any], option_ids: list[Any] | None = None, *, token: str | None = None,
              ip: str = "192.0.2.10", headers: dict[str, str] | None = None) -> Any:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["X-Voter-Token"] = token
    ids = option_ids if option_ids is not None else [poll["options"][0]["id"]]
    return client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": ids}, headers=all_headers,
                       environ_base={"REMOTE_ADDR": ip})


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    body = response.json
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "sqlalchemy", "SELECT ", "/site-packages/", "File \""):
        assert leak not in text
    return body  # type: ignore[no-any-return]


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
    env.update({f"POLLSVC_{k.upper()}": v for k, v in {**TEST_SETTINGS, **settings}.items()})
    return env


def start_server(env: dict[str, str], log_dir: Path, *, workers: int | None = None, port: int | None = None,
                 extra_args: tuple[str, ...] = ()) -> Server:
    """``pollsvc serve``; ``workers`` None: its default (two with Redis, one without)."""
    port = port or free_port()
    argv = [sys.executable, "-m", "pollsvc.cli", "serve", "--port", str(port), *extra_args]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return launch(argv, env, port, log_dir / f"server-{port}.log")


# ---- simultaneous requests to real servers ----


def create_poll(server: Server, key: str, **fields: Any) -> dict[str, Any]:
    body = {"article_id": "bao-dong", "question": "Đồng thời?", "options": [{"label": "Có"}, {"label": "Không"}],
            **fields}
    response = requests.post(server.url + "/api/v1/polls", json=body, headers={"Authorization": f"Bearer {key}"},
                             timeout=10)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def new_token(server: Server) -> str:
    response = requests.post(server.url + "/api/v1/voters", timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["voter_token"]  # type: ignore[no-any-return]


def storm(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run every call in its own thread, released together."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # recorded, asserted below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    return results


def vote_call(server: Server, poll: dict[str, Any], token: str, option: int = 0) -> Callable[[], requests.Response]:
    def call() -> requests.Response:
        return requests.post(f"{server.url}/api/v1/polls/{poll['id']}/votes",
                             json={"option_ids": [poll["options"][option]["id"]]},
                             headers={"X-Voter-Token": token}, timeout=60)

    return call


def results(server: Server, key: str, poll_id: int) -> dict[str, Any]:
    response = requests.get(f"{server.url}/api/v1/polls/{poll_id}/results",
                            headers={"Authorization": f"Bearer {key}"}, timeout=10)
    return response.json()  # type: ignore[no-any-return]


# ---- processes of a running server ----


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def descendant_pids(pid: int) -> list[int]:
    return [grand for child in child_pids(pid) for grand in (child, *descendant_pids(child))]


def process_alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


# ---- proof of work ----


def mint_token_over_http(base_url: str, session: Any = None) -> str:
    """A voter token from a running server, paying its proof of work as a client would."""
    http = session or requests
    challenge = http.get(base_url + "/api/v1/voters/challenge", timeout=10).json()
    response = http.post(base_url + "/api/v1/voters", json={"altcha": solve(challenge)}, timeout=10)
    assert response.status_code == 201, response.text
    return str(response.json()["voter_token"])


def mint_token(client: Any, **kwargs: Any) -> Any:
    """``POST /api/v1/voters`` with a solved challenge, through a Flask test client (``kwargs``:
    ``environ_base``, ``headers``); returns the response."""
    challenge = client.get("/api/v1/voters/challenge", **kwargs).json
    return client.post("/api/v1/voters", json={"altcha": solve(challenge)}, **kwargs)
