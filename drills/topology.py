"""The whole scale-out topology on loopback: a PostgreSQL primary and its streaming replica,
PgBouncer (transaction mode) in front of the primary, a Redis Cluster (3 masters, 3 replicas),
``instances`` x ``pollsvc serve`` sharing one secret, and HAProxy in front of them."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from drills.client import Api
from drills.haproxy import HAProxy, haproxy
from drills.pgbouncer import PgBouncer, pgbouncer
from drills.postgres import PgNode, primary, replica
from drills.procs import Proc, free_port, wait_for
from drills.rediscluster import RedisCluster, redis_cluster

VOTE_LIMIT = 20
"""Votes per minute per client IP in the drills (the per-IP drill spends it three times over)."""


@dataclass
class Instance:
    port: int
    proc: Proc

    @property
    def log(self) -> Path:
        return self.proc.log

    def start(self) -> None:
        self.proc.start()
        wait_for(lambda: _healthy(self.port), 90, f"pollsvc on {self.port}", interval=0.2)


def _healthy(port: int) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
        return answer.status == 200


@dataclass
class Topology:
    base: Path
    primary: PgNode
    replica: PgNode
    bouncer: PgBouncer
    redis: RedisCluster
    instances: list[Instance] = field(default_factory=list)
    balancer: HAProxy | None = None
    api: Api | None = None
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for stop in ([self.balancer.stop] if self.balancer else []) + [i.proc.kill for i in self.instances] + [
                self.bouncer.stop, self.redis.stop, lambda: self.replica.stop("immediate"),
                lambda: self.primary.stop("immediate")]:
            with contextlib.suppress(Exception):
                stop()


def service_env(top: Topology, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLLSVC_")}
    env.update({
        "POLLSVC_DATABASE_URL": top.bouncer.url(),
        "POLLSVC_DATABASE_REPLICA_URL": top.replica.dsn().replace("postgresql://", "postgresql+psycopg://", 1),
        "POLLSVC_REDIS_URL": top.redis.url(),
        "POLLSVC_REDIS_KEY_PREFIX": "drills",
        "POLLSVC_SECRET_KEY": secret,
        "POLLSVC_TRUSTED_PROXIES": "1",
        "POLLSVC_BOT_CHECK": "off",
        "POLLSVC_RATE_LIMIT_VOTE": f"{VOTE_LIMIT}/minute",
        "POLLSVC_RATE_LIMIT_VOTERS": "100000/minute",
        "POLLSVC_RATE_LIMIT_PUBLIC_READ": "100000/minute",
        "POLLSVC_RATE_LIMIT_VIEWS": "100000/minute",
        "POLLSVC_INSTANCE_PATH": str(top.base / "instance"),
    })
    return env


def new_instance(top: Topology, n: int, workers: int) -> Instance:
    port = free_port()
    argv = [sys.executable, "-m", "pollsvc.cli", "serve", "--port", str(port), "--workers", str(workers)]
    return Instance(port, Proc(argv, top.base / f"instance-{n}.log", top.env))


def admin_key(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "pollsvc.cli", "create-api-key", "--role", "admin", "--name",
                          "drills"], env=env, capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def topology(instances: int = 3, workers: int = 1) -> Iterator[Topology]:
    """Start everything (stopped again on the way out, also when a part fails to start)."""
    base = Path(tempfile.mkdtemp(prefix="pollsvc-drills-"))
    os.chmod(base, 0o755)
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, base, ignore_errors=True)
        with ThreadPoolExecutor(1) as pool:
            cluster = pool.submit(redis_cluster, base)
            try:
                pg = primary(base)
                stack.callback(pg.stop, "immediate")
                standby = replica(base, pg)
                stack.callback(standby.stop, "immediate")
                bouncer = pgbouncer(base, pg)
                stack.callback(bouncer.stop)
            finally:
                stack.callback(_stop_cluster, cluster)
            top = Topology(base, pg, standby, bouncer, cluster.result())
        stack.callback(top.stop)
        top.env = service_env(top, secrets.token_urlsafe(32))
        top.instances = [new_instance(top, n, workers) for n in range(1, instances + 1)]
        with ThreadPoolExecutor(instances) as pool:  # they migrate at once, one at a time by the lock
            list(pool.map(Instance.start, top.instances))
        top.balancer = haproxy(base, [i.port for i in top.instances])
        wait_for_balancer(top, instances)
        top.api = Api(top.balancer.port, admin_key(top.env))
        yield top


def wait_for_balancer(top: Topology, instances: int, timeout: float = 20) -> None:
    assert top.balancer is not None
    balancer = top.balancer
    wait_for(lambda: balancer.servers_up() == instances, timeout, f"{instances} instances up in HAProxy", 0.2)


def _stop_cluster(cluster: Future[RedisCluster]) -> None:
    with contextlib.suppress(Exception):
        cluster.result().stop()
