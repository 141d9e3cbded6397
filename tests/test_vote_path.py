"""Round trips on the hot paths: SQL (pings, BEGIN, statements, COMMIT/ROLLBACK) and Redis commands.

Run with ``-s`` to see the numbers. The bounds are the design, not a benchmark: a vote is one
SQL round trip on PostgreSQL (one autocommit statement) and the rate limit one Redis command.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import event

from pollsvc.extensions import db
from tests.helpers import REDIS_URL


@dataclass
class RoundTrips:
    sql: Counter[str] = field(default_factory=Counter)
    redis: Counter[str] = field(default_factory=Counter)

    @property
    def sql_total(self) -> int:
        return sum(self.sql.values())

    @property
    def redis_total(self) -> int:
        return sum(self.redis.values())


@contextlib.contextmanager
def counting(app: Any) -> Iterator[RoundTrips]:
    """Count what goes to the database and to Redis while the block runs.

    psycopg sends BEGIN as its own round trip before a transaction's first statement, and skips
    ROLLBACK on an idle connection; SQLite has no network, but its counts show the same shape.
    """
    trips = RoundTrips()
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect
    in_tx: dict[int, bool] = {}

    def before_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi = conn.connection.dbapi_connection
        autocommit = bool(getattr(dbapi, "autocommit", False)) or conn.get_isolation_level() == "AUTOCOMMIT"
        if not autocommit and not in_tx.get(id(dbapi)):
            in_tx[id(dbapi)] = True
            trips.sql["BEGIN"] += 1
        trips.sql[statement.split(None, 1)[0].upper()] += 1

    def on_commit(conn: Any) -> None:
        if in_tx.pop(id(conn.connection.dbapi_connection), False):
            trips.sql["COMMIT"] += 1

    def on_rollback(conn: Any) -> None:
        if conn.connection is not None and in_tx.pop(id(conn.connection.dbapi_connection), False):
            trips.sql["ROLLBACK"] += 1

    def on_reset(dbapi: Any, _record: Any, _state: Any) -> None:
        if in_tx.pop(id(dbapi), False):
            trips.sql["ROLLBACK"] += 1

    original_ping = dialect.do_ping

    def ping(dbapi: Any) -> bool:
        trips.sql["ping"] += 1
        return bool(original_ping(dbapi))

    original_command = redis.Redis.execute_command

    def command(self: Any, *args: Any, **options: Any) -> Any:
        trips.redis[str(args[0]).upper()] += 1
        return original_command(self, *args, **options)

    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    event.listen(engine.pool, "reset", on_reset)
    dialect.do_ping = ping  # type: ignore[method-assign]
    redis.Redis.execute_command = command  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        redis.Redis.execute_command = original_command  # type: ignore[method-assign]
        dialect.do_ping = original_ping  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", before_execute)
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)
        event.remove(engine.pool, "reset", on_reset)


def _report(name: str, trips: RoundTrips) -> None:
    print(f"\n{name}: SQL {trips.sql_total} {dict(trips.sql)}; Redis {trips.redis_total} {dict(trips.redis)}")


def test_a_vote_is_one_sql_round_trip_and_one_redis_command(app: Any, client: Any, make_poll: Any,
                                                            voter_token: Any) -> None:
    poll = make_poll(results_visibility="always")
    token = voter_token()
    url = f"/api/v1/polls/{poll['id']}/votes"
    client.get(f"/api/v1/polls/{poll['id']}")  # the snapshot is cached, as under load
    with counting(app) as trips:
        response = client.post(url, json={"option_ids": [poll["options"][1]["id"]]},
                               headers={"X-Voter-Token": token})
    _report("vote", trips)
    assert response.status_code == 201
    assert response.json["poll"]["participants"] == 1
    assert response.json["poll"]["options"][1]["votes"] == 1
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert trips.sql_total == 1, trips.sql  # the vote statement, autocommit: no ping, no BEGIN
        assert trips.sql["BEGIN"] == 0 and trips.sql["COMMIT"] == 0
    if REDIS_URL:
        assert trips.redis_total == 1, trips.redis


def test_a_refused_duplicate_writes_nothing_and_costs_no_extra_statement(app: Any, client: Any, make_poll: Any,
                                                                        voter_token: Any) -> None:
    poll = make_poll(results_visibility="always")
    token = voter_token()
    url = f"/api/v1/polls/{poll['id']}/votes"
    body = {"option_ids": [poll["options"][0]["id"]]}
    assert client.post(url, json=body, headers={"X-Voter-Token": token}).status_code == 201
    with counting(app) as trips:
        response = client.post(url, json=body, headers={"X-Voter-Token": token})
    _report("duplicate vote", trips)
    assert response.status_code == 409
    assert response.json["error"] == "already_voted"
    assert response.json["poll"]["participants"] == 1
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert trips.sql_total == 1, trips.sql


def test_a_cached_widget_read_touches_no_database(app: Any, client: Any, make_poll: Any) -> None:
    poll = make_poll()
    url = f"/api/v1/articles/{poll['article_id']}/polls"
    first = client.get(url)
    with counting(app) as trips:
        second = client.get(url)
    _report("widget read (cached)", trips)
    assert second.status_code == 200 and second.data == first.data
    assert trips.sql_total == 0, trips.sql
    if REDIS_URL:
        assert trips.redis_total == 1, trips.redis
