"""The process's Redis client, from the same URL forms that Flask-Limiter's storage accepts."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel


def client_from_url(url: str, timeout: float) -> Any:
    """``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://host:port[,host:port]/service``
    and ``redis+cluster://host:port[,host:port]``, all with short socket timeouts."""
    timeouts = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if url.startswith("redis+sentinel://"):
        parsed = urlparse(url)
        hosts = [_host_port(h) for h in parsed.netloc.rpartition("@")[2].split(",")]
        service = parsed.path.strip("/") or parse_qs(parsed.query).get("service_name", ["mymaster"])[0]
        sentinel = Sentinel(hosts, sentinel_kwargs=timeouts, password=parsed.password, **timeouts)
        return sentinel.master_for(service)
    if url.startswith("redis+cluster://"):
        parsed = urlparse(url)
        nodes = [redis.cluster.ClusterNode(*_host_port(h))
                 for h in parsed.netloc.rpartition("@")[2].split(",")]
        return RedisCluster(startup_nodes=nodes, password=parsed.password, **timeouts)
    return redis.Redis.from_url(url, health_check_interval=30, **timeouts)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.partition(":")
    return host, int(port or 26379)
