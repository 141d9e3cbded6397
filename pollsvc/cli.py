"""The ``pollsvc`` command: serve, db upgrade, create-api-key, counts rebuild, purge."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import datetime, timedelta

import click
from flask import Flask

from pollsvc import create_app
from pollsvc.extensions import db
from pollsvc.runtime import runtime_of


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
@click.option("--expires-in", "days", type=click.IntRange(min=1), default=None, metavar="DAYS",
              help="The key stops working after DAYS days [default: never].")
def create_api_key(role: str, name: str | None, days: int | None) -> None:
    from pollsvc.services.apikeys import create_key

    app = _app()
    with app.app_context():
        now = runtime_of(app).now()
        key = create_key(db.session, role, name, now, now + timedelta(days=days) if days else None)
    until = f", valid for {days} day(s)" if days else ""
    click.echo(f"Created a {role} key{f' for {name}' if name else ''}{until}. It is shown only once:")
    click.echo(key)


@main.group("api-keys", help="API keys: create, list, revoke.")
def api_keys_group() -> None:
    pass


api_keys_group.add_command(create_api_key, "create")


@api_keys_group.command("list", help="Every key: prefix, role, name, state, created, expires (never the key).")
def api_keys_list() -> None:
    from pollsvc.services.apikeys import list_keys

    app = _app()
    with app.app_context():
        now = runtime_of(app).now()
        rows = [(k.prefix, k.role, k.name or "-", k.state(now), _day(k.created_at),
                 _day(k.expires_at) if k.expires_at else "never") for k in list_keys(db.session)]
    header = ("PREFIX", "ROLE", "NAME", "STATE", "CREATED", "EXPIRES")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@api_keys_group.command("revoke", help="Revoke a key at once, on every instance (PREFIX: from list, or the key).")
@click.argument("prefix")
def api_keys_revoke(prefix: str) -> None:
    from pollsvc.services.apikeys import revoke_key

    app = _app()
    with app.app_context():
        if not revoke_key(db.session, prefix, runtime_of(app).now()):
            raise click.ClickException(f"no active key with prefix {prefix!r}")
    click.echo("revoked")


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@main.group("counts", help="Participant and vote counters.")
def counts_group() -> None:
    pass


@counts_group.command("rebuild", help="Recompute every poll's counters from its ballots.")
@click.option("--poll", "poll_ids", type=int, multiple=True, help="Only these polls (repeatable).")
def counts_rebuild(poll_ids: tuple[int, ...]) -> None:
    app = _app()
    done = runtime_of(app).store.rebuild_counts(list(poll_ids) or None)
    click.echo(f"rebuilt the counters of {done} poll(s) with ballots")


@main.command("purge", help="Delete the IP keys and networks of polls closed more than DAYS days ago, and "
                            "the networks' token counts older than DAYS days (2 at least); also the ids "
                            "of flushed view batches older than 2 days.")
@click.option("--older-than", "days", type=click.IntRange(min=0), required=True, metavar="DAYS")
def purge(days: int) -> None:
    from pollsvc.services.privacy import purge_ip_keys, purge_token_mints
    from pollsvc.services.views import VIEW_BATCHES_KEPT_DAYS

    app = _app()
    with app.app_context():
        now = runtime_of(app).now()
        polls, keys = purge_ip_keys(db.session, now - timedelta(days=days), now)
        mints = purge_token_mints(db.session, now - timedelta(days=days), now)
    batches = runtime_of(app).store.purge_view_batches(now - timedelta(days=VIEW_BATCHES_KEPT_DAYS))
    click.echo(f"deleted {keys} IP key(s) of {polls} poll(s) and {mints} hourly token count(s) of networks; "
               "ballots and counts are kept")
    click.echo(f"forgot {batches} flushed view batch id(s)")


ACCESS_LOG = '[%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'
ACCESS_LOG_WITH_IPS = '%(addr)s ' + ACCESS_LOG


def granian_argv(target: str, host: str, port: int, workers: int, threads: int, *,
                 access_log_ips: bool = False) -> list[str]:
    """``python -m granian ...`` arguments of ``serve``; bench/ serves its bare Flask app with the same.

    Granian reads requests in Rust, asynchronously, and hands only complete requests to the
    app's threads, so slow clients hold no thread; headers must arrive within 10 s.
    """
    return [
        "-m", "granian",
        "--interface", "wsgi",
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
        "--blocking-threads", str(threads),
        "--no-ws",
        "--respawn-failed-workers",
        "--respawn-interval", "0.5",
        "--workers-kill-timeout", "10",
        "--http1-header-read-timeout", "10000",
        "--log-level", "warning",
        "--access-log",
        "--access-log-fmt", ACCESS_LOG_WITH_IPS if access_log_ips else ACCESS_LOG,
        target,
    ]


def serve_argv(target: str, host: str, port: int, workers: int, threads: int, *, access_log_ips: bool = False,
               metrics_dir: str | None = None) -> list[str]:
    """The command ``serve`` runs after migrating: ``workers`` Granian servers of one worker each,
    sharing the port, under ``pollsvc.supervisor`` (bench/ serves its bare Flask app with it too)."""
    server = granian_argv(target, host, port, 1, threads, access_log_ips=access_log_ips)
    cleanup = ["--remove-on-exit", metrics_dir] if metrics_dir else []
    return [sys.executable, "-m", "pollsvc.supervisor", *cleanup, str(workers), "--", sys.executable, *server]


def worker_count(requested: int | None, shared_limits: bool) -> int:
    """Two workers when rate limits are shared through Redis, else one: per-process limits in
    several workers would let each of them grant the whole limit."""
    if requested is None:
        return 2 if shared_limits else 1
    if requested > 1 and not shared_limits:
        raise click.UsageError("--workers above 1 needs POLLSVC_REDIS_URL: without Redis the rate limits live "
                               "in the process, so every worker would grant the whole limit.")
    return requested


@main.command("serve", help="Apply migrations, then serve with Granian.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="Worker processes [default: 2 with POLLSVC_REDIS_URL, else 1].")
@click.option("--threads", default=4, type=click.IntRange(min=1), show_default=True,
              help="Threads per worker that run the app.")
@click.option("--demo", is_flag=True, help="Also seed a sample article and poll and print an admin key.")
def serve(host: str, port: int, workers: int | None, threads: int, demo: bool) -> None:
    from pollsvc.migrate_lock import upgrade_database

    app = _app()
    settings = runtime_of(app).settings
    workers = worker_count(workers, bool(settings.redis_url))
    upgrade_database(app)
    base = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    if demo:
        from pollsvc.demo import seed_demo

        with app.app_context():
            key, poll_id = seed_demo(db.session, runtime_of(app).now(), app.instance_path)
        click.echo(f"Demo article with poll {poll_id}:  {base}/demo")
        click.echo(f"Admin console:  {base}/admin   Dashboard:  {base}/dashboard")
        click.echo(f"Admin API key (demo, the same on every start):  {key}")
    metrics_dir = tempfile.mkdtemp(prefix="pollsvc-metrics-")
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=metrics_dir, POLLSVC_INSTANCE_PATH=app.instance_path)
    args = serve_argv("pollsvc.wsgi:app", host, port, workers, threads, access_log_ips=settings.access_log_ips,
                      metrics_dir=metrics_dir)
    click.echo(f"Serving on {base} ({workers} worker(s) x {threads} thread(s))", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, args, env)
    finally:  # only reached if exec failed
        shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    main()
