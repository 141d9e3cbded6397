"""Every scale-out drill, once: 3 instances behind HAProxy, PgBouncer in transaction mode, a
streaming replica and a Redis Cluster, all started here on loopback ports (about a minute).
Runs with the PostgreSQL + Redis suite; needs haproxy, pgbouncer, the PostgreSQL binaries and
redis-server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drills.__main__ import run, table
from drills.postgres import PG_BIN
from tests.helpers import PG_URL

MISSING = [name for name in ("haproxy", "pgbouncer", "redis-server", "redis-cli")
           if not (shutil.which(name) or Path("/usr/sbin", name).exists())]
if not (PG_BIN / "pg_basebackup").exists():
    MISSING.append("PostgreSQL binaries")

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.server,
    pytest.mark.skipif(not PG_URL, reason="the scale-out drills run with the PostgreSQL + Redis suite"),
    pytest.mark.skipif(bool(MISSING), reason=f"missing: {', '.join(MISSING)}"),
]


def test_every_scale_out_drill_holds() -> None:
    rows, _, _ = run()
    assert len(rows) == 6
    assert all(row.ok for row in rows), table(rows)
