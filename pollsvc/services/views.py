"""Viewable impressions of polls: counted once per client and poll in a window, buffered, and
written to SQL in batches, each batch exactly once.

Recording a view costs a request one Redis round trip (a script: the dedup key's SET NX EX,
then HINCRBY of the pending hash field ``"<poll_id>:<hour epoch>"``), or, without Redis and
while it fails, a dict update under a lock. Only polls the public may see (``open``,
``closed``) count, decided from the per-process poll cache, without a query per request.

A flusher thread per process (started at its first view) writes the buffers every
``VIEW_FLUSH_SECONDS``:

- Redis, under a flush lock: one script RENAMEs the pending hash to a batch key and adds the
  batch id to a set of batches; one SQL transaction inserts the id into ``view_batches`` and adds
  the batch's counts; then the batch key and its id are deleted. A batch left behind (a crash or
  an error after the RENAME, or after the commit) is applied by a later flush, unless its id is
  already in ``view_batches``: then it is only deleted. No acknowledged view is counted twice,
  and none that Redis holds is lost.
- Memory: the pending dict becomes a batch with an id, kept until its transaction has committed
  (a retry after a lost acknowledgement is refused by its id). A killed process loses what it had
  not written: its last seconds of views, or everything since the database stopped answering.

Both are flushed when a process stops too.

Dedup keys are keyed hashes of (poll, client IP; IPv6 by its /64) that expire with the window:
no address is kept. The window is measured on the service's clock (the key's value is the end
of its window; Redis' TTL only removes it), so tests can move it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.util
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from redis.exceptions import TimeoutError as RedisTimeoutError

from pollsvc.identity import keyed_hash
from pollsvc.redisbackoff import RedisBackoff
from pollsvc.services.readmodel import PUBLIC_STATUSES
from pollsvc.services.reads import PollCache
from pollsvc.services.store import Store

log = logging.getLogger("pollsvc")

VIEW_DEDUP_SECONDS = 600
"""Views of one poll from one client IP count once in this many seconds."""
VIEW_FLUSH_SECONDS = 2.0
"""How often each process writes the buffered views to SQL (reports lag by less than 10 s)."""
VIEW_BATCHES_KEPT_DAYS = 2
"""``pollsvc purge`` forgets flushed batch ids older than this: a leftover batch is retried within
seconds of Redis and the database answering again, not days later."""
FLUSH_LOCK_SECONDS = 60
MAX_MEMORY_WINDOWS = 1_000_000
"""Live dedup windows one process keeps without Redis (about 100 MB); beyond, new views are not
counted until expired windows are swept."""
SWEEP_SECONDS = 60.0
DEDUP_KEY_BYTES = 16

Slot = tuple[int, int]
"""(poll id, UTC hour as epoch seconds)."""

RECORD_SCRIPT = """
-- KEYS[1]: the pending hash; KEYS[2..]: one dedup key per poll
-- ARGV[1]: end of a new window (epoch s), ARGV[2]: window (s), ARGV[3]: now, ARGV[4]: hour epoch,
-- ARGV[5..]: the poll ids, in the order of their keys
local counted = 0
for i = 2, #KEYS do
    local fresh = redis.call("SET", KEYS[i], ARGV[1], "NX", "EX", ARGV[2])
    if not fresh then
        local ends = tonumber(redis.call("GET", KEYS[i]))
        if ends == nil or ends <= tonumber(ARGV[3]) then
            redis.call("SET", KEYS[i], ARGV[1], "EX", ARGV[2])
            fresh = true
        end
    end
    if fresh then
        redis.call("HINCRBY", KEYS[1], ARGV[i + 3] .. ":" .. ARGV[4], 1)
        counted = counted + 1
    end
end
return counted
"""

CLAIM_SCRIPT = """
-- KEYS[1]: the pending hash, KEYS[2]: the new batch key, KEYS[3]: the set of batch ids; ARGV[1]: the id
if redis.call("EXISTS", KEYS[1]) == 0 then
    return 0
end
redis.call("RENAME", KEYS[1], KEYS[2])
redis.call("SADD", KEYS[3], ARGV[1])
return 1
"""

DROP_SCRIPT = """
-- KEYS[1]: the batch key, KEYS[2]: the set of batch ids; ARGV[1]: the id
redis.call("DEL", KEYS[1])
return redis.call("SREM", KEYS[2], ARGV[1])
"""

UNLOCK_SCRIPT = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"""


class ViewBuffer(Protocol):
    """Where views wait for the flush: counts by slot, claimed as batches with ids."""

    def record(self, keys: list[tuple[int, bytes]], now: float, window: int, hour: int) -> int: ...

    def flushing(self) -> contextlib.AbstractContextManager[bool]:
        """Whether this flusher may flush now (no other is at it)."""
        ...

    def outstanding(self) -> list[str]:
        """Ids of batches claimed but not yet dropped (left by a failed or interrupted flush)."""
        ...

    def claim(self) -> str | None:
        """Turn the pending counts into a new batch; its id, or None when nothing is pending."""
        ...

    def read(self, batch_id: str) -> dict[Slot, int]: ...

    def drop(self, batch_id: str) -> None: ...


class MemoryViews:
    """The buffer in this process's memory: windows, pending counts and claimed batches."""

    def __init__(self) -> None:
        self._windows: dict[bytes, float] = {}
        self._pending: dict[Slot, int] = {}
        self._batches: dict[str, dict[Slot, int]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0
        self._full_warned = False

    def record(self, keys: list[tuple[int, bytes]], now: float, window: int, hour: int) -> int:
        counted = 0
        with self._lock:
            if now >= self._next_sweep:
                self._windows = {k: ends for k, ends in self._windows.items() if ends > now}
                self._next_sweep = now + SWEEP_SECONDS
                self._full_warned = False
            for poll_id, key in keys:
                ends = self._windows.get(key)
                if ends is not None and ends > now:
                    continue
                if ends is None and len(self._windows) >= MAX_MEMORY_WINDOWS:
                    if not self._full_warned:
                        self._full_warned = True
                        log.warning("views: %d live dedup windows in memory; new views are not counted "
                                    "until the next sweep", len(self._windows))
                    break
                self._windows[key] = now + window
                slot = (poll_id, hour)
                self._pending[slot] = self._pending.get(slot, 0) + 1
                counted += 1
        return counted

    def flushing(self) -> contextlib.AbstractContextManager[bool]:
        return contextlib.nullcontext(True)  # the counter's own lock keeps this process's flushes apart

    def outstanding(self) -> list[str]:
        with self._lock:
            return list(self._batches)

    def claim(self) -> str | None:
        with self._lock:
            if not self._pending:
                return None
            batch_id = new_batch_id()
            self._batches[batch_id], self._pending = self._pending, {}
        return batch_id

    def read(self, batch_id: str) -> dict[Slot, int]:
        with self._lock:
            return dict(self._batches.get(batch_id, {}))

    def drop(self, batch_id: str) -> None:
        with self._lock:
            self._batches.pop(batch_id, None)


class RedisViews:
    """The buffer in Redis, shared by every process. Its keys share one hash tag, so the scripts
    work on a Redis Cluster too."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.base = f"{prefix}:views:{{{prefix}}}"
        self.pending = f"{self.base}:pending"
        self.batches = f"{self.base}:batches"
        self.lock = f"{self.base}:flush-lock"
        self._record = redis.register_script(RECORD_SCRIPT)
        self._claim = redis.register_script(CLAIM_SCRIPT)
        self._drop = redis.register_script(DROP_SCRIPT)
        self._unlock = redis.register_script(UNLOCK_SCRIPT)

    def batch_key(self, batch_id: str) -> str:
        return f"{self.base}:batch:{batch_id}"

    def record(self, keys: list[tuple[int, bytes]], now: float, window: int, hour: int) -> int:
        dedup_keys = [f"{self.base}:seen:{key.hex()}" for _, key in keys]
        args = [repr(now + window), window, repr(now), hour, *(poll_id for poll_id, _ in keys)]
        return int(self._record(keys=[self.pending, *dedup_keys], args=args))

    @contextlib.contextmanager
    def flushing(self) -> Iterator[bool]:
        token = uuid.uuid4().hex
        if not self.redis.set(self.lock, token, nx=True, ex=FLUSH_LOCK_SECONDS):
            yield False
            return
        try:
            yield True
        finally:
            self._unlock(keys=[self.lock], args=[token])

    def outstanding(self) -> list[str]:
        return sorted(member.decode() if isinstance(member, bytes) else str(member)
                      for member in self.redis.smembers(self.batches))

    def claim(self) -> str | None:
        batch_id = new_batch_id()
        claimed = self._claim(keys=[self.pending, self.batch_key(batch_id), self.batches], args=[batch_id])
        return batch_id if int(claimed) else None

    def read(self, batch_id: str) -> dict[Slot, int]:
        counts: dict[Slot, int] = {}
        for field, value in self.redis.hgetall(self.batch_key(batch_id)).items():
            slot = parse_slot(field.decode() if isinstance(field, bytes) else str(field))
            if slot is None:
                log.warning("views: an unreadable field in batch %s was skipped", batch_id)
                continue
            counts[slot] = counts.get(slot, 0) + int(value)
        return counts

    def drop(self, batch_id: str) -> None:
        self._drop(keys=[self.batch_key(batch_id), self.batches], args=[batch_id])


class ViewCounter:
    """Counts views of public polls once per client and window, and writes them to SQL."""

    def __init__(self, store: Store, polls: PollCache, secret: str, redis: Any = None, prefix: str = "pollsvc",
                 clock: Callable[[], datetime] | None = None, *, flush_seconds: float = VIEW_FLUSH_SECONDS,
                 dedup_seconds: int = VIEW_DEDUP_SECONDS) -> None:
        self.store = store
        self.polls = polls
        self.secret = secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.flush_seconds = flush_seconds
        """Seconds between the flusher thread's flushes; 0: no thread (tests call ``flush``)."""
        self.dedup_seconds = dedup_seconds
        self.memory = MemoryViews()
        self.shared = RedisViews(redis, prefix) if redis is not None else None
        self._backoff = RedisBackoff("views", "buffering in process memory")
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._flusher_pid = 0
        self._failing = False

    # ---- the request ----

    def record(self, poll_ids: Iterable[int], subject: str, now: datetime) -> int:
        """Count a view of each of these polls that the public may see, unless ``subject`` (the
        client's IP, IPv6 by its /64) viewed it within the window; how many were counted."""
        views = self.polls.polls(poll_ids)
        keys = [(poll_id, self.dedup_key(poll_id, subject)) for poll_id, view in views.items()
                if view.status(now) in PUBLIC_STATUSES]
        if not keys:
            return 0
        moment = now.timestamp()
        hour = int(moment // 3600 * 3600)
        counted = None
        if self.shared is not None and self._backoff.available():
            try:
                counted = self.shared.record(keys, moment, self.dedup_seconds, hour)
            except RedisTimeoutError as exc:  # the script may have run: counting again could count twice
                self._redis_failed(exc)
                return 0
            except Exception as exc:  # redis-py raises several families; any of them means "down"
                self._redis_failed(exc)
        if counted is None:
            counted = self.memory.record(keys, moment, self.dedup_seconds, hour)
        self._start_flusher()
        return counted

    def dedup_key(self, poll_id: int, subject: str) -> bytes:
        return keyed_hash(self.secret, "view", f"{poll_id}:{subject}")[:DEDUP_KEY_BYTES]

    # ---- the flush ----

    def flush(self) -> int:
        """Write every buffered view to SQL now; the views written. Each buffer is tried even when
        another fails; the first failure is raised after."""
        failure: Exception | None = None
        written = 0
        with self._flush_lock:
            for buffer in self.buffers():
                try:
                    written += self.flush_buffer(buffer)
                except Exception as exc:
                    failure = failure or exc
        if failure is not None:
            raise failure
        return written

    def buffers(self) -> list[ViewBuffer]:
        return [self.memory] if self.shared is None else [self.shared, self.memory]

    def flush_buffer(self, buffer: ViewBuffer) -> int:
        """Leftover batches first, then the pending counts as a new batch (not while a leftover
        cannot be written: the pending counts keep growing meanwhile, in as many slots as before)."""
        with buffer.flushing() as mine:
            if not mine:
                return 0
            written = sum(self.apply(buffer, batch_id) for batch_id in buffer.outstanding())
            batch_id = buffer.claim()
            if batch_id is not None:
                written += self.apply(buffer, batch_id)
            return written

    def apply(self, buffer: ViewBuffer, batch_id: str) -> int:
        """Write one batch (once, by its id), then drop it from the buffer; the views written."""
        counts = hourly_rows(buffer.read(batch_id))
        written = sum(counts.values()) if counts and self.store.add_views(batch_id, counts, self.clock()) else 0
        buffer.drop(batch_id)
        return written

    def flush_quietly(self) -> None:
        """The flusher's flush: failures are logged once until a flush succeeds again."""
        try:
            self.flush()
        except Exception as exc:
            if not self._failing:
                log.warning("views: flush failed (%s); the views stay buffered and are retried",
                            type(exc).__name__, exc_info=not isinstance(exc, OSError))
            self._failing = True
        else:
            if self._failing:
                log.warning("views: flushing again")
            self._failing = False

    def flush_at_exit(self) -> None:
        """The last flush of a process that stops (also Redis' pending views, which would
        otherwise wait for the next view to start a flusher somewhere)."""
        try:
            self.flush()
        except Exception as exc:
            log.warning("views: the last flush at exit failed (%s)", type(exc).__name__)

    # ---- internals ----

    def _start_flusher(self) -> None:
        """One daemon thread per process (a forked worker starts its own), at its first view."""
        pid = os.getpid()
        if self.flush_seconds <= 0 or self._flusher_pid == pid:
            return
        with self._start_lock:
            if self._flusher_pid == pid:
                return
            self._flusher_pid = pid
            ref = weakref.ref(self)
            threading.Thread(target=_flush_loop, args=(ref, self.flush_seconds), name="pollsvc-views-flusher",
                             daemon=True).start()
            # Run at exit by multiprocessing's own exit hook, which a server's worker processes
            # (multiprocessing children, which skip ``atexit``) run too, as does a plain process.
            multiprocessing.util.Finalize(None, _flush_at_exit, args=(ref,), exitpriority=10)

    def _redis_failed(self, exc: Exception) -> None:
        self._backoff.failed(exc)


def _flush_loop(ref: weakref.ref[ViewCounter], interval: float) -> None:
    """Holds the counter weakly: the thread ends with the app that owned it."""
    while True:
        time.sleep(interval)
        counter = ref()
        if counter is None:
            return
        counter.flush_quietly()
        del counter


def _flush_at_exit(ref: weakref.ref[ViewCounter]) -> None:
    counter = ref()
    if counter is not None:
        counter.flush_at_exit()


def new_batch_id() -> str:
    return uuid.uuid4().hex


def hourly_rows(counts: dict[Slot, int]) -> dict[tuple[int, datetime], int]:
    """A batch's counts as ``Store.add_views`` takes them: by poll and UTC hour."""
    return {(poll_id, datetime.fromtimestamp(hour, UTC)): n for (poll_id, hour), n in counts.items()}


def parse_slot(field: str) -> Slot | None:
    poll_id, _, hour = field.partition(":")
    try:
        return int(poll_id), int(hour)
    except ValueError:
        return None
