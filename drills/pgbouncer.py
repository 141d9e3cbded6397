"""PgBouncer 1.18 in transaction pooling mode in front of the primary."""

from __future__ import annotations

import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from drills.postgres import DATABASE, PgNode
from drills.procs import Proc, as_postgres, free_port, give_to_postgres, wait_port

CONFIG = """[databases]
{database} = host=127.0.0.1 port={pg_port} dbname={database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {home}/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 5
; a client waits at most this long for a server connection, then gets an error (a 503)
query_wait_timeout = 5
server_login_retry = 1
server_connect_timeout = 3
ignore_startup_parameters = extra_float_digits
admin_users = postgres
pidfile = {home}/pgbouncer.pid
logfile = {home}/pgbouncer.log
"""


@dataclass
class PgBouncer:
    home: Path
    port: int
    proc: Proc

    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        (self.home / "pgbouncer.pid").unlink(missing_ok=True)
        self.proc.start()
        wait_port(self.port, 15, "pgbouncer")

    def stop(self) -> None:
        self.proc.stop(signal.SIGTERM, timeout=10)  # SIGTERM: immediate shutdown


def pgbouncer(base: Path, primary: PgNode) -> PgBouncer:
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    home = base / "pgbouncer"
    home.mkdir()
    give_to_postgres(home)
    port = free_port()
    (home / "userlist.txt").write_text('"postgres" ""\n')
    ini = home / "pgbouncer.ini"
    ini.write_text(CONFIG.format(database=DATABASE, pg_port=primary.port, port=port, home=home))
    proc = Proc(as_postgres([binary, str(ini)]), home / "stdout.log")
    bouncer = PgBouncer(home, port, proc)
    bouncer.start()
    return bouncer
