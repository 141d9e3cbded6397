"""The servers of a run (start on a free loopback port, wait for /healthz, stop) and their stores.

Every server is started from the repository root, so ``bench.bare_app`` and ``pollsvc`` import
as packages. The databases and Redis are the machine's: a fresh PostgreSQL database
``pollsvc_bench`` (dropped at the end) and Redis db 14 (flushed at the start).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import psycopg
import redis

from pollsvc.cli import serve_argv
from pollsvc.testing import ServerProcess, free_port, launch

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"
PG_DB = "pollsvc_bench"
PG_DSN = f"postgresql://root@127.0.0.1:5432/{PG_DB}"
PG_URL = f"postgresql+psycopg://root@127.0.0.1:5432/{PG_DB}"
REDIS_URL = "redis://127.0.0.1:6379/14"
SECRET = "bench-secret-key-not-for-production-0123456789"
GENEROUS = "1000000/minute"  # the limiter stays on and costs what it costs; it never answers 429
BARE_APP = "bench.bare_app:app"
POLLSVC_APP = "pollsvc.wsgi:app"


# ---- stores ----


def recreate_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def drop_database() -> None:
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    except psycopg.Error as exc:
        print(f"could not drop {PG_DB}: {exc}", file=sys.stderr)


def flush_redis() -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()


# ---- environments ----


def clean_env() -> dict[str, str]:
    """This process's environment without any pollsvc or Prometheus setting."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("POLLSVC_") and k != "PROMETHEUS_MULTIPROC_DIR"}


def service_env(instance: Path, *, postgres: bool) -> dict[str, str]:
    """pollsvc's settings: PostgreSQL + Redis, or the SQLite default (in-process limits)."""
    env = clean_env()
    env.update({
        "POLLSVC_SECRET_KEY": SECRET,
        "POLLSVC_INSTANCE_PATH": str(instance),
        "POLLSVC_BOT_CHECK": "off",
        "POLLSVC_RATE_LIMIT_VOTE": GENEROUS,
        "POLLSVC_RATE_LIMIT_VOTERS": GENEROUS,
        "POLLSVC_RATE_LIMIT_PUBLIC_READ": GENEROUS,
        "POLLSVC_RATE_LIMIT_VIEWS": GENEROUS,
        "POLLSVC_RATE_LIMIT_AUTH_FAILURES": GENEROUS,
    })
    if postgres:
        env["POLLSVC_DATABASE_URL"] = PG_URL
        env["POLLSVC_REDIS_URL"] = REDIS_URL
    return env


def database_url(env: dict[str, str]) -> str:
    """The SQLAlchemy URL of the database a service environment uses."""
    return env.get("POLLSVC_DATABASE_URL") or f"sqlite:///{Path(env['POLLSVC_INSTANCE_PATH']) / 'pollsvc.sqlite3'}"


def admin_key(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "pollsvc.cli", "create-api-key", "--role", "admin",
                          "--name", "bench"], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1]


def rebuild_counts(env: dict[str, str], poll_ids: list[int]) -> None:
    args = [arg for poll_id in poll_ids for arg in ("--poll", str(poll_id))]
    subprocess.run([sys.executable, "-m", "pollsvc.cli", "counts", "rebuild", *args], env=env, check=True,
                   capture_output=True, cwd=ROOT)


# ---- servers ----


def _start(name: str, argv: list[str], env: dict[str, str], port: int, work: Path) -> ServerProcess:
    return launch(argv, env, port, work / f"{name}.log", name=name, cwd=ROOT)


def pollsvc_serve(name: str, env: dict[str, str], work: Path, workers: int | None, threads: int) -> ServerProcess:
    """``pollsvc serve`` (Granian); ``workers=None`` leaves it to serve's default."""
    port = free_port()
    argv = [sys.executable, "-m", "pollsvc.cli", "serve", "--host", HOST, "--port", str(port),
            "--threads", str(threads)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return _start(name, argv, env, port, work)


def pollsvc_gunicorn(env: dict[str, str], work: Path, workers: int, threads: int) -> ServerProcess:
    """The pollsvc app on gunicorn gthread, with an access log as serve has; the database must be
    migrated already (start it after ``pollsvc serve``)."""
    port = free_port()
    metrics = work / "pollsvc-gunicorn-metrics"
    metrics.mkdir()
    argv = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", str(threads),
            "--no-control-socket", "--access-logfile", "-", "-b", f"{HOST}:{port}", POLLSVC_APP]
    return _start("pollsvc-gunicorn", argv, {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}, port, work)


def bare_gunicorn(work: Path, workers: int) -> ServerProcess:
    """Baseline 1: bare Flask on gunicorn sync workers, gunicorn's defaults otherwise."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--no-control-socket",
            "-b", f"{HOST}:{port}", BARE_APP]
    return _start("bare-gunicorn", argv, clean_env(), port, work)


def bare_granian(work: Path, workers: int, threads: int) -> ServerProcess:
    """Baseline 2: bare Flask served exactly as ``pollsvc serve`` serves pollsvc (its supervisor of
    one-worker Granian servers on one port, the same arguments)."""
    port = free_port()
    argv = serve_argv(BARE_APP, HOST, port, workers, threads)
    return _start("bare-granian", argv, clean_env(), port, work)


def command(server: ServerProcess) -> str:
    """The server's command line as one would type it."""
    args = server.process.args
    parts = [str(a) for a in args] if isinstance(args, list | tuple) else [str(args)]
    return shlex.join("python" if a == sys.executable else a for a in parts)
