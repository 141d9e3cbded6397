"""Reads that may lag: the replica while its measured staleness is within the bound, the
primary otherwise; and the settings that turn it on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from pollsvc.config import ConfigError, Settings
from pollsvc.services.store.replica import BACKOFF_SECONDS, PROBE_SECONDS, LaggingReads, lsn
from tests.helpers import PG_URL, post_vote


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeStore:
    """Answers the probe's one query: the primary its WAL position, a replica its replayed one."""

    def __init__(self, name: str, position: int | None) -> None:
        self.name = name
        self.position = position
        self.down = False

    def run(self, work: Callable[[Any], Any]) -> Any:
        if self.down:
            raise OperationalError("SELECT", {}, Exception("connection refused"))
        return work(self)

    def exec_driver_sql(self, _sql: str) -> FakeStore:
        return self

    def scalar(self) -> str | None:
        return None if self.position is None else f"{self.position >> 32:X}/{self.position & 0xFFFFFFFF:X}"


def reads(primary_at: int, replica_at: int | None, max_lag: float = 1.0) -> tuple[LaggingReads, FakeStore,
                                                                                   FakeStore, FakeClock]:
    primary, replica, clock = FakeStore("primary", primary_at), FakeStore("replica", replica_at), FakeClock()
    return LaggingReads(primary, replica, max_lag, clock=clock), primary, replica, clock  # type: ignore[arg-type]


def where(router: LaggingReads) -> tuple[str, float | None]:
    result, source = router.read(lambda store: store.name)  # type: ignore[attr-defined]
    return result, source.lag


def test_wal_positions_compare_as_numbers() -> None:
    assert lsn("0/16B3748") == 0x16B3748
    assert lsn("16/B374D848") == (0x16 << 32) + 0xB374D848 > lsn("15/FFFFFFFF")


def test_a_caught_up_replica_answers_with_its_lag() -> None:
    router, _, _, _ = reads(500, 500)
    assert where(router) == ("replica", 0.0)


def test_a_replica_further_behind_than_the_bound_leaves_reads_to_the_primary() -> None:
    router, primary, replica, clock = reads(500, 400, max_lag=1.0)
    assert where(router)[0] == "primary"  # it has not replayed what the primary had when asked
    for step in range(1, 5):  # the primary moves on; the replica replays what it had 0.5 s ago
        clock.now += 0.5
        primary.position = 500 + 100 * step
        replica.position = 500 + 100 * (step - 1)
        name, lag = where(router)
        assert name == "replica" and lag == pytest.approx(0.5)
    clock.now += 0.5  # the replica stops replaying: its staleness grows past the bound
    primary.position += 100
    assert where(router) == ("replica", pytest.approx(1.0))
    clock.now += PROBE_SECONDS
    assert where(router)[0] == "primary"


def test_probes_are_rate_limited_and_the_lag_grows_between_them() -> None:
    router, primary, _, clock = reads(500, 500)
    assert where(router) == ("replica", 0.0)
    primary.position = 900  # not probed again within PROBE_SECONDS: the bound grows with the clock
    clock.now += PROBE_SECONDS / 2
    assert where(router) == ("replica", pytest.approx(PROBE_SECONDS / 2))


def test_a_replica_that_is_down_is_left_alone_for_a_while() -> None:
    router, _, replica, clock = reads(500, 500)
    replica.down = True
    assert where(router) == ("primary", None)
    replica.down = False
    clock.now += BACKOFF_SECONDS / 2
    assert where(router) == ("primary", None)
    clock.now += BACKOFF_SECONDS
    assert where(router) == ("replica", 0.0)


def test_an_error_on_the_replica_mid_read_goes_to_the_primary() -> None:
    router, _, replica, _ = reads(500, 500)

    def work(store: Any) -> str:
        if store is replica:
            raise OperationalError("SELECT", {}, Exception("terminating connection due to conflict with recovery"))
        return str(store.name)

    assert router.read(work)[0] == "primary"
    assert where(router) == ("primary", None)  # and then the backoff


def test_an_answer_the_replica_cannot_give_yet_is_asked_of_the_primary() -> None:
    router, _, _, _ = reads(500, 500)
    found, source = router.read(lambda store: None if store.name == "replica" else "poll",  # type: ignore[attr-defined]
                                on_primary_if=lambda found: found is None)
    assert found == "poll" and source.lag is None


def test_a_promoted_or_misnamed_replica_counts_as_fresh() -> None:
    router, _, _, _ = reads(500, None)
    assert where(router) == ("replica", 0.0)


def test_without_a_replica_everything_is_on_the_primary() -> None:
    primary = FakeStore("primary", 1)
    router = LaggingReads(primary, None, 1.0)  # type: ignore[arg-type]
    assert where(router) == ("primary", None)


def test_replica_settings_are_checked(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="REPLICA_URL"):
        Settings.load(str(tmp_path), {"database_replica_url": "postgresql+psycopg://r/db"})  # SQLite primary
    with pytest.raises(ConfigError, match="REPLICA_MAX_LAG"):
        Settings.load(str(tmp_path), {"database_url": "postgresql+psycopg://p/db",
                                      "database_replica_url": "postgresql+psycopg://r/db", "replica_max_lag": 0})
    with pytest.raises(ConfigError, match="PREPARED_STATEMENTS"):
        Settings.load(str(tmp_path), {"database_prepared_statements": "sometimes"})
    ok = Settings.load(str(tmp_path), {"database_url": "postgresql+psycopg://p/db",
                                       "database_replica_url": "postgresql+psycopg://r/db"})
    assert ok.replica_max_lag == 1.0 and ok.database_prepared_statements == "auto"


pg_only = pytest.mark.skipif(not PG_URL, reason="a replica is PostgreSQL only")


@pg_only
@pytest.mark.parametrize("path", ["/api/v1/polls/{id}/results", "/api/v1/polls/{id}/results/timeseries",
                                  "/api/v1/polls/{id}/results.csv", "/api/v1/reports/polls"])
def test_reports_come_from_the_replica_with_their_lag(app_config: dict[str, Any], path: str) -> None:
    # The primary itself as the "replica": not in recovery, so as fresh as it gets.
    app_config["database_replica_url"] = app_config["database_url"]
    client, admin, poll = _app_with_poll(app_config)
    assert post_vote(client, poll, token=_token(client)).status_code == 201
    response = client.get(path.format(id=poll["id"]), headers=admin)
    assert response.status_code == 200
    assert 0 <= float(response.headers["X-Replica-Lag"]) <= 1.0
    if path.endswith("/results"):
        assert response.json["participants"] == 1


@pg_only
def test_an_unreachable_replica_leaves_reports_to_the_primary(app_config: dict[str, Any]) -> None:
    from pollsvc.testing import free_port

    app_config["database_replica_url"] = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    client, admin, poll = _app_with_poll(app_config)
    for path in (f"/api/v1/polls/{poll['id']}/results", "/api/v1/reports/polls"):
        response = client.get(path, headers=admin)
        assert response.status_code == 200 and "X-Replica-Lag" not in response.headers
    assert client.get("/api/v1/polls/999999/results", headers=admin).status_code == 404


def _app_with_poll(config: dict[str, Any]) -> tuple[Any, dict[str, str], dict[str, Any]]:
    from pollsvc import create_app
    from pollsvc.extensions import db
    from pollsvc.services.apikeys import create_key
    from tests.helpers import poll_body, wipe

    wipe(config["database_url"])
    app = create_app(config)
    with app.app_context():
        key = create_key(db.session, "admin", "test", app.extensions["pollsvc"].now())
    client = app.test_client()
    admin = {"Authorization": f"Bearer {key}"}
    created = client.post("/api/v1/polls", json=poll_body(), headers=admin)
    assert created.status_code == 201, created.json
    return client, admin, created.json


def _token(client: Any) -> str:
    return str(client.post("/api/v1/voters").json["voter_token"])
