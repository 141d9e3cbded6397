"""``db upgrade`` under the store's lock, so instances that start together migrate one at a time."""

from __future__ import annotations

from flask import Flask
from flask_migrate import upgrade

from pollsvc.extensions import db
from pollsvc.runtime import runtime


def upgrade_database(app: Flask) -> None:
    with app.app_context():
        with runtime().store.migration_lock():
            upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()  # no connection is carried into the server's worker processes
