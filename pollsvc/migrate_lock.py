"""``db upgrade`` under a lock, so instances that start together migrate one at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Engine, text

from pollsvc.extensions import db

ADVISORY_LOCK_ID = 0x706F6C6C  # "poll"


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """PostgreSQL: a session advisory lock. SQLite (one host by nature): a lock file beside the db."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(os.path.abspath(database) + ".migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade_database(app: Flask) -> None:
    with app.app_context():
        with migration_lock(db.engine):
            upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()  # no connection is carried into forked workers
