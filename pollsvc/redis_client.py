"""The process's Redis client (rate limits, and caches), from any of the usual Redis URL forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel


def client_from_url(url: str, timeout: float) -> Any:
    """``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://host:port[,host:port]/service``
    and ``redis+cluster://host:port[,host:port]``, all with short socket timeouts.

    A cluster client discovers the slots when it is built, so a Redis Cluster must be reachable
    when a process starts; the other forms connect lazily.
    """
    timeouts = _fail_fast(timeout)
    if url.startswith("redis+sentinel://"):
        parsed = urlparse(url)
        hosts = [_host_port(h) for h in parsed.netloc.rpartition("@")[2].split(",")]
        service = parsed.path.strip("/") or parse_qs(parsed.query).get("service_name", ["mymaster"])[0]
        auth = {"password": parsed.password} if parsed.password else {}
        sentinel = Sentinel(hosts, sentinel_kwargs={**timeouts, **auth}, **auth, **timeouts)
        return sentinel.master_for(service)
    if url.startswith("redis+cluster://"):
        parsed = urlparse(url)
        nodes = [redis.cluster.ClusterNode(*_host_port(h, 6379))
                 for h in parsed.netloc.rpartition("@")[2].split(",")]
        return RedisCluster(startup_nodes=nodes, password=parsed.password, **timeouts)
    return redis.Redis.from_url(url, health_check_interval=30, **timeouts)


def _fail_fast(timeout: float) -> dict[str, Any]:
    """Short socket timeouts and no retries: redis-py's default retries with back-off (up to
    14 s per Sentinel) would hold a request; the caller has a fallback instead."""
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout, "retry": Retry(NoBackoff(), 0)}


def _host_port(text: str, default_port: int = 26379) -> tuple[str, int]:
    """``host:port`` (sentinels default to 26379, cluster nodes to 6379)."""
    host, _, port = text.partition(":")
    return host, int(port or default_port)
