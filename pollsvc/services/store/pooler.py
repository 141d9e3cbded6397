"""Prepared statements and connection poolers.

psycopg 3 prepares a statement on the server after it ran a few times on one connection. That
halves the vote statement's cost on PostgreSQL (it is planned once, not per vote: see
bench/pgvote.py), but a pooler that hands each transaction to any server connection (PgBouncer
1.18 in transaction mode) loses them: ``prepared statement "_pg3_0" does not exist``, or worse,
another client's statement of the same name.

With ``POLLSVC_DATABASE_PREPARED_STATEMENTS=auto`` (the default) each new connection asks the
server for its backend pid: PostgreSQL announces the same pid at login, a pooler announces its
own, so a connection through a pooler never prepares. ``off`` never prepares; ``on`` always does
(a pooler that keeps them: session pooling, or PgBouncer 1.21+ with ``max_prepared_statements``).
Should a pooler still lose a statement, the error invalidates the connection (the store retries
once on a fresh one; a request answers 503, never 500) and the process stops preparing.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg.errors
from sqlalchemy import Engine, event

log = logging.getLogger("pollsvc")

LOST_STATEMENT = (psycopg.errors.InvalidSqlStatementName, psycopg.errors.DuplicatePreparedStatement)


def connect_args(prepared_statements: str) -> dict[str, Any]:
    """psycopg connect arguments for the setting (``off``: never prepare)."""
    return {"prepare_threshold": None} if prepared_statements == "off" else {}


def behind_pooler(dbapi_connection: Any) -> bool:
    """True when the session's backend is not the one announced at login: a pooler is between."""
    announced = dbapi_connection.info.backend_pid
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    dbapi_connection.rollback()
    return row is None or int(row[0]) != int(announced)


class PreparedStatements:
    """Keeps psycopg's auto-prepare off on the connections of an engine that reaches PostgreSQL
    through a pooler; see the module's docstring."""

    def __init__(self, engine: Engine) -> None:
        self.detect = True
        """Ask each new connection whether a pooler is between (``auto``); False: ``on``."""
        self.off = False
        """Set once a pooler lost a statement: no connection of this engine prepares again."""
        event.listen(engine, "connect", self._on_connect)
        event.listen(engine, "checkout", self._on_checkout)
        event.listen(engine, "handle_error", self._on_error)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection.prepare_threshold is None:
            return
        if self.off or (self.detect and behind_pooler(dbapi_connection)):
            dbapi_connection.prepare_threshold = None

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if self.off:
            dbapi_connection.prepare_threshold = None

    def _on_error(self, context: Any) -> None:
        error = context.original_exception
        lost = isinstance(error, LOST_STATEMENT) or (
            isinstance(error, psycopg.errors.ProtocolViolation) and "prepared statement" in str(error))
        if not lost:
            return
        context.is_disconnect = True  # the connection is dropped; the store retries on a new one
        if not self.off:
            self.off = True
            log.error("the database connection lost a prepared statement: a pooler in transaction mode? "
                      "Prepared statements are now off in this process; set "
                      "POLLSVC_DATABASE_PREPARED_STATEMENTS=off")
