"""Redis URL forms: each gives the right redis-py client, with short timeouts and no retries.
No real Sentinel or Cluster is needed."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import pytest
import redis
from redis.sentinel import SentinelConnectionPool

from pollsvc import create_app, redis_client
from pollsvc.migrate_lock import upgrade_database
from pollsvc.redis_client import client_from_url
from tests.helpers import solve


def _kwargs(client: redis.Redis) -> dict[str, Any]:
    return client.connection_pool.connection_kwargs  # type: ignore[no-any-return]


def test_plain_tls_and_unix_urls() -> None:
    plain = client_from_url("redis://:s3cret@cache.internal:6380/4", 0.1)
    assert type(plain) is redis.Redis
    kwargs = _kwargs(plain)
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == ("cache.internal", 6380, 4, "s3cret")
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.1
    tls = client_from_url("rediss://cache.internal:6390/0", 0.1)
    assert issubclass(tls.connection_pool.connection_class, redis.SSLConnection)
    unix = client_from_url("unix:///run/redis/redis.sock?db=2", 0.1)
    assert issubclass(unix.connection_pool.connection_class, redis.UnixDomainSocketConnection)
    assert _kwargs(unix)["path"] == "/run/redis/redis.sock" and _kwargs(unix)["db"] == 2


def test_sentinel_url_gives_a_master_client_through_the_sentinels() -> None:
    client = client_from_url("redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26380,10.0.0.3/polls-master", 0.1)
    assert isinstance(client, redis.Redis)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "polls-master"
    sentinels = [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
                 for s in pool.sentinel_manager.sentinels]
    assert sentinels == [("10.0.0.1", 26379), ("10.0.0.2", 26380), ("10.0.0.3", 26379)]
    assert all(s.connection_pool.connection_kwargs["socket_timeout"] == 0.1 for s in pool.sentinel_manager.sentinels)
    assert pool.connection_kwargs["password"] == "pw" and pool.connection_kwargs["socket_timeout"] == 0.1
    default = client_from_url("redis+sentinel://10.0.0.1:26379", 0.1)
    assert default.connection_pool.service_name == "mymaster"


def test_cluster_url_gives_a_cluster_client_over_every_node(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}

    class FakeCluster:
        def __init__(self, **kwargs: Any) -> None:
            built.update(kwargs)

    monkeypatch.setattr(redis_client, "RedisCluster", FakeCluster)
    client = client_from_url("redis+cluster://:pw@10.0.1.1:7000,10.0.1.2:7001,10.0.1.3", 0.1)
    assert isinstance(client, FakeCluster)
    assert [(n.host, n.port) for n in built["startup_nodes"]] == [("10.0.1.1", 7000), ("10.0.1.2", 7001),
                                                                  ("10.0.1.3", 6379)]
    assert built["password"] == "pw" and built["socket_timeout"] == built["socket_connect_timeout"] == 0.1


def test_no_form_retries_with_back_off() -> None:
    """redis-py retries 3 times with up to 14 s of back-off by default (per Sentinel, too)."""
    sentinel = client_from_url("redis+sentinel://10.0.0.1:26379/m", 0.1)
    clients = [client_from_url("redis://h:1/0", 0.1), sentinel,
               *sentinel.connection_pool.sentinel_manager.sentinels]
    for client in clients:
        assert client.connection_pool.connection_kwargs["retry"].get_retries() == 0


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "unix:///nonexistent/redis.sock",
                                 "redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster"])
def test_the_app_serves_fast_with_every_form_even_when_unreachable(url: str) -> None:
    app = create_app({"INSTANCE_PATH": tempfile.mkdtemp(prefix="pollsvc-redis-url-"), "secret_key": "x",
                      "redis_url": url, "rate_limit_voters": "3/minute", "pow_base_cost": 1})
    upgrade_database(app)  # a solution is marked spent in the database
    client = app.test_client()
    codes = []
    for _ in range(4):
        started = time.monotonic()
        challenge = client.get("/api/v1/voters/challenge")  # priced by the ledger, in memory meanwhile
        if challenge.status_code != 200:
            codes.append(challenge.status_code)
            continue
        codes.append(client.post("/api/v1/voters", json={"altcha": solve(challenge.json)}).status_code)
        assert time.monotonic() - started < 1.0, "a request waited on an unreachable Redis"
    assert codes == [201, 201, 201, 429]  # limits held in memory meanwhile
    started = time.monotonic()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["redis"] == "degraded"
    assert time.monotonic() - started < 1.0
