"""Reads that may lag (reports, results for API keys, timeseries, CSV) from a streaming replica,
while it is fresh enough; from the primary otherwise.

Freshness is measured, not assumed: a probe reads the primary's current WAL position, then the
replica's replayed one. Every commit the primary had made when it was asked is on the replica
once the replica has replayed past that position, so a read on the replica misses at most what
was committed since the newest primary position it has replayed: its *staleness*, an upper bound
of the lag that an idle primary or a cut-off replica cannot fool. A probe runs when a read needs
one (at most every ``PROBE_SECONDS``, by one thread; the others use the last answer), so an idle
service costs the databases nothing.

Staleness above ``max_lag``, a failed probe or an error on the replica: the read goes to the
primary (the replica is left alone for ``BACKOFF_SECONDS`` after an error).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from pollsvc.services.store import Store, engine_options, make_store

log = logging.getLogger("pollsvc")
T = TypeVar("T")

PROBE_SECONDS = 0.25
BACKOFF_SECONDS = 5.0
REPLICA_POOL = {"pool_size": 3, "max_overflow": 3, "pool_timeout": 1}
REPLICA_CONNECT_TIMEOUT = 2


@dataclass(frozen=True, slots=True)
class Source:
    """Where a read went: ``lag`` is the replica's staleness in seconds, None for the primary."""

    store: Store
    lag: float | None


def lsn(text: str) -> int:
    """A WAL position (``16/B374D848``) as a number."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


class LaggingReads:
    """Chooses the database for reads that may lag; see the module's docstring."""

    def __init__(self, primary: Store, replica: Store | None, max_lag: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag = max_lag
        self.clock = clock
        self._positions: deque[tuple[float, int]] = deque(maxlen=64)
        """(when, the primary's WAL position then), oldest first."""
        self._fresh_at: float | None = None
        """The moment up to which the replica had every commit, at the last probe."""
        self._probed_at = float("-inf")
        self._down_until = float("-inf")
        self._probing = threading.Lock()

    def read(self, work: Callable[[Store], T], *, on_primary_if: Callable[[T], bool] | None = None) -> tuple[T, Source]:
        """``work`` on the replica when fresh enough, else (or when it fails there) on the primary.
        ``on_primary_if(result)``: a replica answer to confirm on the primary (a poll it has not
        seen yet, say)."""
        lag = self.staleness()
        if lag is not None and self.replica is not None:
            try:
                result = work(self.replica)
            except (DBAPIError, PoolTimeoutError) as exc:
                self._failed(exc)
            else:
                if on_primary_if is None or not on_primary_if(result):
                    return result, Source(self.replica, lag)
        return work(self.primary), Source(self.primary, None)

    def staleness(self) -> float | None:
        """The replica's staleness now, or None when reads should go to the primary."""
        if self.replica is None:
            return None
        now = self.clock()
        if now < self._down_until:
            return None
        if now - self._probed_at >= PROBE_SECONDS and self._probing.acquire(blocking=False):
            try:
                self._probe()
            except (DBAPIError, PoolTimeoutError) as exc:
                self._failed(exc)
                return None
            finally:
                self._probing.release()
        if self._fresh_at is None:
            return None
        lag = max(0.0, self.clock() - self._fresh_at)
        return lag if lag <= self.max_lag else None

    def _probe(self) -> None:
        assert self.replica is not None
        asked = self.clock()
        position = self.primary.run(lambda c: c.exec_driver_sql("SELECT pg_current_wal_lsn()::text").scalar())
        self._positions.append((asked, lsn(str(position))))
        replayed = self.replica.run(lambda c: c.exec_driver_sql(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END").scalar())
        self._probed_at = self.clock()
        if replayed is None:  # not (or no longer) a standby: as fresh as a primary
            self._fresh_at = self._probed_at
            return
        done = lsn(str(replayed))
        self._fresh_at = next((when for when, at in reversed(self._positions) if at <= done), None)

    def _failed(self, exc: Exception) -> None:
        if self.clock() >= self._down_until:
            log.warning("replica unavailable (%s): reads that may lag go to the primary for %.0f s",
                        type(exc).__name__, BACKOFF_SECONDS)
        self._down_until = self.clock() + BACKOFF_SECONDS
        self._fresh_at = None
        self._probed_at = float("-inf")


def replica_engine(url: str, prepared_statements: str) -> Engine:
    options = engine_options(url, prepared_statements)
    options.update(REPLICA_POOL)
    options["connect_args"] = {**options.get("connect_args", {}), "connect_timeout": REPLICA_CONNECT_TIMEOUT,
                               "application_name": "pollsvc-reports"}
    return create_engine(url, **options)


def lagging_reads(primary: Store, replica_url: str, max_lag: float, prepared_statements: str) -> LaggingReads:
    """The reads' router: without a replica URL, everything on the primary."""
    replica: Any = (make_store(replica_engine(replica_url, prepared_statements), prepared_statements)
                    if replica_url else None)
    return LaggingReads(primary, replica, max_lag)
