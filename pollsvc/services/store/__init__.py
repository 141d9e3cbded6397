"""The database behind the vote, the reads and the counters: one ``Store`` per dialect, chosen
once at startup from the database URL. Dialect differences live here and nowhere else."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from pollsvc.services.store import pooler
from pollsvc.services.store.base import (
    BallotRequest,
    BallotSignals,
    CastResult,
    MinuteCount,
    OptionsChanged,
    PollState,
    Store,
)
from pollsvc.services.store.postgres import PostgresStore
from pollsvc.services.store.sqlite import SqliteStore
from pollsvc.services.store.voids import VoidRecord

STORES: dict[str, type[Store]] = {"postgresql": PostgresStore, "sqlite": SqliteStore}

__all__ = ["BallotRequest", "BallotSignals", "CastResult", "MinuteCount", "OptionsChanged", "PollState", "Store",
           "VoidRecord", "engine_options", "make_store"]


def _store_class(url: str) -> type[Store]:
    for prefix, store in STORES.items():
        if url.startswith(prefix):
            return store
    raise ValueError(f"unsupported database (use postgresql+psycopg:// or sqlite://): {url.split(':', 1)[0]}")


def engine_options(url: str, prepared_statements: str = "auto") -> dict[str, Any]:
    """SQLAlchemy engine options for the store that ``url`` will get (``prepared_statements``:
    the setting, see ``pooler``)."""
    options = _store_class(url).engine_options()
    if url.startswith("postgresql"):
        options["connect_args"] = {**options.get("connect_args", {}), **pooler.connect_args(prepared_statements)}
    return options


def make_store(engine: Engine, prepared_statements: str = "auto") -> Store:
    store = _store_class(engine.url.drivername)(engine)
    if isinstance(store, PostgresStore):
        store.prepared.detect = prepared_statements == "auto"
    return store
