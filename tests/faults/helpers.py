"""Throwaway PostgreSQL and Redis servers that the fault tests may kill and restart at will.

They never touch the shared servers on 5432/6379: each gets a spare port and a temporary
directory. PostgreSQL refuses to run as root, so when the tests run as root the cluster is
created and controlled as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

PG_BIN = Path(os.environ.get("POLLSVC_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def as_postgres(command: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root (initdb and postgres refuse to run as root)."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser: cannot start a throwaway PostgreSQL")
    return [runuser, "-u", "postgres", "--", *command]


@dataclass
class PgCluster:
    """A PostgreSQL cluster on a spare port; ``stop``/``start`` simulate an outage."""

    data_dir: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), *args]),
                              capture_output=True, text=True, check=check, timeout=60)

    def start(self) -> None:
        self._ctl("-l", str(self.log), "-w", "-t", "30", "-o",
                  f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
                  " -c fsync=on -c shared_buffers=32MB", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "30", "stop", check=False)

    def is_running(self) -> bool:
        return self._ctl("status", check=False).returncode == 0


@dataclass
class RedisServer:
    """A redis-server on a spare port; ``kill`` is SIGKILL, ``start`` brings it back on the same port."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("throwaway redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
