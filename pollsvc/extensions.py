"""Extensions: the database and migrations, created unbound and bound to each app in ``create_app``;
the rate limiter, made for each app (its storage and limits are the app's own)."""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from pollsvc.identity import rate_limit_key


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def new_limiter() -> Limiter:
    """A rate limiter for one app (per-app storage and options; limits are installed on its views)."""
    return Limiter(key_func=rate_limit_key)


def current_limiter() -> Limiter:
    limiter: Limiter = current_app.extensions["pollsvc_limiter"]
    return limiter
