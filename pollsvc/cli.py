"""The ``pollsvc`` command: serve, db upgrade, create-api-key, counts rebuild, purge."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import timedelta

import click
from flask import Flask

from pollsvc import create_app
from pollsvc.extensions import db


def _app() -> Flask:
    return create_app()


@click.group(help="pollsvc: polls and deduplicated votes for news sites.")
def main() -> None:
    pass


@main.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply pending migrations (idempotent; safe from several instances).")
def db_upgrade() -> None:
    from pollsvc.migrate_lock import upgrade_database

    upgrade_database(_app())
    click.echo("database is at the latest schema")


@main.command("create-api-key", help="Create an API key; it is printed once, alone on the last line.")
@click.option("--role", type=click.Choice(["admin", "reporter"]), required=True)
@click.option("--name", default=None, help="Who or what uses the key (shown in the audit log).")
def create_api_key(role: str, name: str | None) -> None:
    from pollsvc.services.apikeys import create_key

    app = _app()
    with app.app_context():
        key = create_key(db.session, role, name, app.extensions["pollsvc"].now())
    click.echo(f"Created a {role} key{f' for {name}' if name else ''}. It is shown only once:")
    click.echo(key)


@main.group("counts", help="Participant and vote counters.")
def counts_group() -> None:
    pass


@counts_group.command("rebuild", help="Recompute every poll's counters from its ballots.")
@click.option("--poll", "poll_ids", type=int, multiple=True, help="Only these polls (repeatable).")
def counts_rebuild(poll_ids: tuple[int, ...]) -> None:
    from pollsvc.services.counts import rebuild

    app = _app()
    with app.app_context():
        done = rebuild(db.session, list(poll_ids) or None)
    click.echo(f"rebuilt the counters of {done} poll(s) with ballots")


@main.command("purge", help="Delete the IP keys of polls closed more than DAYS days ago.")
@click.option("--older-than", "days", type=click.IntRange(min=0), required=True, metavar="DAYS")
def purge(days: int) -> None:
    from pollsvc.services.privacy import purge_ip_keys

    app = _app()
    with app.app_context():
        now = app.extensions["pollsvc"].now()
        polls, keys = purge_ip_keys(db.session, now - timedelta(days=days), now)
    click.echo(f"deleted {keys} IP key(s) of {polls} poll(s); ballots and counts are kept")


def access_log_format(with_ips: bool) -> str:
    return ('%(h)s ' if with_ips else "") + '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'


def gunicorn_argv(app_spec: str, host: str, port: int, workers: int, threads: int,
                  access_format: str) -> list[str]:
    """``python -m gunicorn ...`` arguments of ``serve``; bench/ runs its bare Flask app with the same."""
    return [
        "-m", "gunicorn",
        "--bind", f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", "gthread" if threads > 1 else "sync",
        "--config", "python:pollsvc.gunicorn_conf",
        "--no-control-socket",
        "--access-logfile", "-",
        "--access-logformat", access_format,
        "--timeout", "30",
        "--graceful-timeout", "10",
        app_spec,
    ]


@main.command("serve", help="Apply migrations, then serve with gunicorn.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--workers", default=2, type=click.IntRange(min=1), show_default=True)
@click.option("--threads", default=4, type=click.IntRange(min=1), show_default=True,
              help="Threads per worker.")
@click.option("--demo", is_flag=True, help="Also seed a sample article and poll and print an admin key.")
def serve(host: str, port: int, workers: int, threads: int, demo: bool) -> None:
    from pollsvc.migrate_lock import upgrade_database

    app = _app()
    upgrade_database(app)
    base = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    if demo:
        from pollsvc.demo import seed_demo

        with app.app_context():
            key, poll_id = seed_demo(db.session, app.extensions["pollsvc"].now())
        click.echo(f"Demo article with poll {poll_id}:  {base}/demo")
        click.echo(f"Admin console:  {base}/admin   Dashboard:  {base}/dashboard")
        click.echo(f"Admin API key (shown once):  {key}")
    metrics_dir = tempfile.mkdtemp(prefix="pollsvc-metrics-")
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=metrics_dir, POLLSVC_INSTANCE_PATH=app.instance_path)
    settings = app.extensions["pollsvc"].settings
    access_format = access_log_format(settings.access_log_ips)
    args = [sys.executable, *gunicorn_argv("pollsvc:create_app()", host, port, workers, threads, access_format)]
    click.echo(f"Serving on {base} ({workers} worker(s) x {threads} thread(s))", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, args, env)
    finally:  # only reached if exec failed
        shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    main()
