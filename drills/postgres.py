"""A PostgreSQL primary and its streaming replica (``pg_basebackup -R``), each a cluster of its
own in a temporary directory, on a spare port."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

from drills.procs import as_postgres, free_port, give_to_postgres

PG_BIN = Path(os.environ.get("POLLSVC_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "pollsvc"


@dataclass
class PgNode:
    data: Path
    port: int
    log: Path

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]),
                              capture_output=True, text=True, check=check, timeout=90)

    def start(self) -> None:
        self._ctl("-l", str(self.log), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c max_connections=200"
                  " -c shared_buffers=64MB -c max_wal_senders=5 -c wal_level=replica -c hot_standby=on"
                  " -c hot_standby_feedback=on", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "60", "stop", check=False)

    def running(self) -> bool:
        return self._ctl("status", check=False).returncode == 0

    def query(self, sql: str, database: str = DATABASE) -> list[tuple[object, ...]]:
        with psycopg.connect(self.dsn(database), autocommit=True, connect_timeout=3) as conn:
            cursor = conn.execute(sql)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []


def _node_dir(base: Path, name: str) -> tuple[Path, Path]:
    home = base / name
    home.mkdir(parents=True)
    give_to_postgres(home)
    return home, home / "data"


def primary(base: Path) -> PgNode:
    home, data = _node_dir(base, "primary")
    subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                "--no-sync", "-E", "UTF8"]), capture_output=True, text=True, check=True, timeout=120)
    node = PgNode(data, free_port(), home / "postgres.log")
    node.start()
    node.query(f'CREATE DATABASE "{DATABASE}"', database="postgres")
    return node


def replica(base: Path, source: PgNode) -> PgNode:
    """A hot standby of ``source``, streaming from it (``-R`` writes its primary_conninfo)."""
    home, data = _node_dir(base, "replica")
    subprocess.run(as_postgres([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(source.port), "-U",
                                "postgres", "-D", str(data), "-R", "-X", "stream", "--no-sync", "-c", "fast"]),
                   capture_output=True, text=True, check=True, timeout=120)
    node = PgNode(data, free_port(), home / "postgres.log")
    node.start()
    return node


def replay_lag(source: PgNode) -> float | None:
    """The primary's view of its standby's replay lag, in seconds (None: no standby streaming)."""
    rows = source.query("SELECT coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication "
                        "WHERE state = 'streaming'")
    return float(rows[0][0]) if rows else None  # type: ignore[arg-type]
