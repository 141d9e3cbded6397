"""Fault-test fixtures: a throwaway PostgreSQL cluster and Redis server (see ``tests.faults.helpers``)
that the fault tests may kill and restart at will, in a temporary directory of their own."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.helpers import PG_BIN, REDIS_SERVER, PgCluster, RedisServer, as_postgres
from tests.helpers import free_port


@pytest.fixture(scope="session")
def faults_tmp() -> Iterator[Path]:
    """Our own temp dir: pytest's numbered basetemp dirs can be pruned by a concurrent pytest run,
    which would pull the data directory from under a running PostgreSQL."""
    path = Path(tempfile.mkdtemp(prefix="pollsvc-faults-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster(faults_tmp: Path) -> Iterator[PgCluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL binaries in {PG_BIN} (set POLLSVC_TEST_PG_BIN)")
    base = faults_tmp / "pg"
    data = base / "data"
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(base, pg.pw_uid, pg.pw_gid)
        os.chown(data, pg.pw_uid, pg.pw_gid)
    subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                 "--no-sync", "-E", "UTF8"]),
                   capture_output=True, text=True, check=True, timeout=120)
    cluster = PgCluster(data, free_port(), base / "postgres.log")
    cluster.start()
    yield cluster
    cluster.stop("immediate")


@pytest.fixture(scope="session")
def redis_server(faults_tmp: Path) -> Iterator[RedisServer]:
    if not Path(REDIS_SERVER).exists():
        pytest.skip("no redis-server binary")
    (faults_tmp / "redis").mkdir()
    server = RedisServer(free_port(), faults_tmp / "redis")
    server.start()
    yield server
    server.kill()
