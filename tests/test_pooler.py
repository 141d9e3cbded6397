"""Prepared statements and poolers: psycopg's auto-prepare stays on straight to PostgreSQL, is
off with the setting, and a statement a pooler lost is a retried disconnect (a 503 at worst),
after which the process prepares nothing. Through a real PgBouncer: ``tests/scaleout``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from pollsvc.services.store import engine_options, make_store
from pollsvc.services.store.pooler import behind_pooler
from tests.helpers import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="prepared statements are PostgreSQL's")


def _store(url: str, setting: str = "auto") -> Any:
    return make_store(create_engine(url, **engine_options(url, setting)), setting)


def test_straight_to_postgresql_statements_are_prepared(migrated: str) -> None:
    store = _store(migrated)
    with store.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert not behind_pooler(raw)
        assert raw.prepare_threshold is not None
    store.engine.dispose()


def test_the_setting_turns_preparing_off(migrated: str) -> None:
    store = _store(migrated, "off")
    with store.engine.connect() as connection:
        assert connection.connection.driver_connection.prepare_threshold is None
    store.engine.dispose()


def test_a_lost_prepared_statement_is_a_disconnect_and_preparing_stops(migrated: str) -> None:
    store = _store(migrated)
    calls: list[int] = []

    def lost(connection: Any) -> None:
        calls.append(1)
        connection.exec_driver_sql("EXECUTE _pg3_lost_by_a_pooler")  # what a pooler's wrong server says

    with pytest.raises(DBAPIError) as raised:
        store.run(lost)
    assert raised.value.connection_invalidated  # the app's error handler answers 503 for this
    assert len(calls) == 2  # the store retried once on a fresh connection
    assert store.prepared.off
    with store.engine.connect() as connection:
        assert connection.connection.driver_connection.prepare_threshold is None
    assert store.run(lambda c: c.exec_driver_sql("SELECT 1").scalar()) == 1
    store.engine.dispose()


def test_a_lost_prepared_statement_answers_503_not_500(client: Any, app: Any, admin: dict[str, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store = app.extensions["pollsvc"].store

    def lost(poll_ids: Any) -> Any:
        return store.run(lambda c: c.exec_driver_sql("EXECUTE _pg3_lost_by_a_pooler"))

    monkeypatch.setattr(store, "load_polls", lost)
    response = client.get("/api/v1/polls/1/results", headers=admin)
    assert response.status_code == 503 and response.json["error"] == "unavailable"
    assert response.headers["Retry-After"]


def test_on_prepares_without_asking(migrated: str) -> None:
    store = _store(migrated, "on")
    assert not store.prepared.detect
    with store.engine.connect() as connection:
        assert connection.connection.driver_connection.prepare_threshold is not None
    store.engine.dispose()
