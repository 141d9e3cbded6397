"""The logic, without Flask request objects: each function takes its session and plain values."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy.orm import Session, scoped_session

DbSession: TypeAlias = Session | scoped_session[Any]
"""A session, or Flask-SQLAlchemy's request-scoped proxy for one (``db.session``)."""
