"""A Redis Cluster of three masters, each with a replica: ``redis-server --cluster-enabled yes``
six times, then ``redis-cli --cluster create``. A short node timeout, so that a replica takes
over a killed master within seconds."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import redis

from drills.procs import Proc, free_port, wait_for, wait_port

NODE_TIMEOUT_MS = 1000


@dataclass
class RedisNode:
    port: int
    home: Path
    proc: Proc

    def start(self) -> None:
        self.proc.start()
        wait_port(self.port, 15, f"redis-server on {self.port}")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)


@dataclass
class RedisCluster:
    nodes: list[RedisNode] = field(default_factory=list)

    def url(self) -> str:
        """The URL pollsvc gets: any reachable node lets it discover the rest."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def masters(self) -> list[RedisNode]:
        found = []
        for node in self.nodes:
            if node.proc.running:
                try:
                    if node.client().execute_command("ROLE")[0] in (b"master", "master"):  # type: ignore[no-untyped-call]
                        found.append(node)
                except redis.RedisError:
                    pass
        return found

    def healthy(self) -> bool:
        """Every slot served, as each live node sees it."""
        return all(_state(node.client().execute_command("CLUSTER", "INFO")) == "ok"  # type: ignore[no-untyped-call]
                   for node in self.nodes if node.proc.running)

    def wait_healthy(self, timeout: float = 30) -> None:
        wait_for(self.healthy, timeout, "the Redis Cluster to serve every slot", interval=0.2)

    def wait_failover(self, masters: int, timeout: float = 30) -> None:
        """Until a replica has taken over each dead master's slots."""
        wait_for(lambda: len(self.masters()) == masters and self.healthy(), timeout, "the failover", interval=0.1)

    def stop(self) -> None:
        for node in self.nodes:
            node.proc.kill()


def _state(info: object) -> str:
    if isinstance(info, dict):
        return str(info.get("cluster_state"))
    text = info.decode() if isinstance(info, bytes) else str(info)
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("cluster_state:")), "")


def redis_cluster(base: Path, masters: int = 3, replicas: int = 1) -> RedisCluster:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    cluster = RedisCluster()
    try:
        _start(cluster, base, binary, masters * (1 + replicas), replicas)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start(cluster: RedisCluster, base: Path, binary: str, count: int, replicas: int) -> None:
    for _ in range(count):
        port = free_port()
        home = base / f"redis-{port}"
        home.mkdir()
        proc = Proc([binary, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                     "--cluster-port", str(free_port()),
                     "--cluster-config-file", str(home / "nodes.conf"), "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                     "--save", "", "--appendonly", "no", "--dir", str(home), "--protected-mode", "no"],
                    home / "redis.log")
        node = RedisNode(port, home, proc)
        node.start()
        cluster.nodes.append(node)
    subprocess.run([shutil.which("redis-cli") or "/usr/bin/redis-cli", "--cluster", "create",
                    *(f"127.0.0.1:{n.port}" for n in cluster.nodes), "--cluster-replicas", str(replicas),
                    "--cluster-yes"], capture_output=True, text=True, check=True, timeout=60)
    cluster.wait_healthy()
