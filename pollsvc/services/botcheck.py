"""Proof of work for voter tokens (ALTCHA v2, PBKDF2/SHA-256), with a cost that adapts per network.

A reader's browser solves a challenge in the background (WebCrypto) before it needs a token; a
script pays the same CPU for every token it mints. The cost of the next challenge for a network
(/24, /48) depends on how many challenges that network asked for in the last ``WINDOW`` minutes
against its own usual rate, the median of the hour before: a network that always sends many
readers (a mobile carrier's NAT) is measured against its own size, while a quiet network that
suddenly mints dozens of tokens sees each further one get exponentially dearer, up to the cap.
A global surge adds a smaller factor.

The difficulty grows in two ways: the key prefix the solver must find gets one hex digit longer
per 16x, and the PBKDF2 iterations per attempt make up the rest (1x to 16x). The server checks a
solution with one derivation, so a capped challenge costs the server at most 16x the base to
verify, however hard it is to solve.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import altcha

from pollsvc.identity import network_label
from pollsvc.redisbackoff import RedisBackoff
from pollsvc.services.store import Store

ALGORITHM = "PBKDF2/SHA-256"
BASE_PREFIX = "00"
"""Two hex digits: 256 attempts expected at the base cost."""
CHALLENGE_TTL = 300
"""Seconds a challenge may be solved and redeemed in."""
WINDOW = 10
"""Minutes of recent challenges weighed against the usual rate."""
HISTORY = 60
"""Minutes before the window whose median is the usual rate."""
NETWORK_FLOOR = 3.0
"""Challenges a minute that any network may ask for at the base cost."""
NETWORK_STEP = 4.0
"""Challenges beyond the expected per doubling of the cost, for a quiet network (a busy one: a
quarter of its usual window)."""
GLOBAL_FLOOR = 60.0
GLOBAL_STEP = 64.0
GLOBAL_CAP = 4.0
"""A surge of the whole service at most quadruples the cost."""


@dataclass(frozen=True, slots=True)
class Load:
    """Challenges asked for: in the window, and the median per minute of the hour before it."""

    recent: float
    usual: float


def surge_factor(load: Load, floor: float, step: float, busier: float = 1.0) -> float:
    """2 to the power of (challenges beyond the expected) / step; 1 within the expected. A busy
    network's step is a quarter of its usual window, so the same share of excess costs it alike.
    ``busier``: how many times busier than usual the whole service is, and so may this network be."""
    expected = WINDOW * max(load.usual, floor) * busier
    excess = load.recent - expected
    return float(2 ** (max(0.0, excess) / max(step, WINDOW * load.usual * busier / 4)))


def cost_factor(network: Load, everyone: Load) -> float:
    """The network's surge, measured against a service that may itself be busier than usual (an
    article gone viral brings every network more readers), times the global surge (at most 4)."""
    busier = min(GLOBAL_CAP, max(1.0, everyone.recent / (WINDOW * max(everyone.usual, GLOBAL_FLOOR))))
    return surge_factor(network, NETWORK_FLOOR, NETWORK_STEP, busier) * min(
        GLOBAL_CAP, surge_factor(everyone, GLOBAL_FLOOR, GLOBAL_STEP))


def difficulty(base_cost: int, max_cost: int, factor: float) -> tuple[str, int]:
    """The key prefix and PBKDF2 iterations for ``base_cost x factor`` (capped at ``max_cost``):
    one more hex digit of prefix per 16x, iterations for the rest."""
    total = min(float(max_cost), base_cost * max(1.0, factor))
    digits = 0
    while total >= base_cost * 16 ** (digits + 1):
        digits += 1
    iterations = max(base_cost, round(total / 16**digits))
    return BASE_PREFIX + "0" * digits, iterations


def expected_work(challenge: dict[str, Any]) -> int:
    """PBKDF2 iterations a solver spends on this challenge on average (for tests and metrics)."""
    parameters = challenge["parameters"]
    return int(16 ** len(parameters["keyPrefix"]) * parameters["cost"])


class LoadLedger:
    """Challenges asked for per network and minute, kept ``WINDOW + HISTORY`` minutes: in Redis
    (shared by every process), or in this process's memory."""

    def __init__(self, redis: Any = None, prefix: str = "pollsvc", clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self._minutes: dict[str, dict[int, int]] = {}
        self._lock = threading.Lock()
        self._backoff = RedisBackoff("proof-of-work load", "counting in process memory")

    def record(self, network: str) -> tuple[Load, Load]:
        """Count one challenge for ``network`` (and the whole service); the loads it is priced by."""
        minute = int(self.clock() // 60)
        if self.redis is not None and self._backoff.available():
            try:
                return self._record_redis(network, minute)
            except Exception as exc:  # any Redis failure: this process's memory meanwhile
                self._backoff.failed(exc)
        with self._lock:
            return self._record_memory(network, minute), self._record_memory("*", minute)

    def _keys(self, network: str, minute: int) -> list[str]:
        # One hash tag per network: the window and history of a network live on one Cluster node.
        return [f"{self.prefix}:pow:{{{network}}}:{m}" for m in range(minute - WINDOW - HISTORY + 1, minute + 1)]

    def _record_redis(self, network: str, minute: int) -> tuple[Load, Load]:
        loads = []
        for name in (network, "*"):
            keys = self._keys(name, minute)
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(keys[-1])
            pipe.expire(keys[-1], (WINDOW + HISTORY + 2) * 60)
            pipe.mget(keys)
            counts = [int(c or 0) for c in pipe.execute()[2]]
            loads.append(_load(counts))
        return loads[0], loads[1]

    def _record_memory(self, network: str, minute: int) -> Load:
        minutes = self._minutes.setdefault(network, {})
        minutes[minute] = minutes.get(minute, 0) + 1
        oldest = minute - WINDOW - HISTORY + 1
        for old in [m for m in minutes if m < oldest]:
            del minutes[old]
        if len(self._minutes) > 100_000:  # a sweep of networks that went quiet
            self._minutes = {n: m for n, m in self._minutes.items() if max(m) >= oldest}
        return _load([minutes.get(m, 0) for m in range(oldest, minute + 1)])


def _load(counts: list[int]) -> Load:
    """``counts``: per minute, oldest first, ending with the current one."""
    return Load(recent=float(sum(counts[-WINDOW:])), usual=float(statistics.median(counts[:-WINDOW])))


class BotCheck:
    """Challenges for voter tokens, and the check of their solutions (each accepted once)."""

    def __init__(self, secret: str, base_cost: int, max_cost: int, ledger: LoadLedger, store: Store) -> None:
        self.secret = secret
        self.base_cost = base_cost
        self.max_cost = max_cost
        self.ledger = ledger
        self.store = store
        """Where solutions are marked spent, once for every process, and mints are counted."""

    def challenge(self, network: bytes, now: datetime) -> dict[str, Any]:
        """A fresh challenge for a reader of ``network``, priced by that network's recent load."""
        label = network_label(network)
        mine, everyone = self.ledger.record(label)
        prefix, iterations = difficulty(self.base_cost, self.max_cost, cost_factor(mine, everyone))
        challenge = altcha.create_challenge(
            ALGORITHM, iterations, key_prefix=prefix, expires_at=int(now.timestamp()) + CHALLENGE_TTL,
            data={"network": label}, hmac_secret=self._key(),
        )
        return dict(challenge.to_dict())

    def redeem(self, payload: object, network: bytes, now: datetime) -> bool:
        """Whether ``payload`` solves an unexpired challenge of ours issued to this network, for
        the first time (then the token it buys is counted for the network)."""
        if not isinstance(payload, str) or not payload or len(payload) > 4096:
            return False
        try:
            parsed = altcha.Payload.from_base64(payload)
        except Exception:  # garbled base64 or JSON, missing fields: not a solution
            return False
        parameters = parsed.challenge.parameters
        if (parameters.algorithm != ALGORITHM or not isinstance(parameters.expires_at, int)
                or parameters.expires_at <= now.timestamp()
                or not isinstance(parameters.data, dict)
                or parameters.data.get("network") != network_label(network)
                or not isinstance(parameters.cost, int) or parameters.cost > self.max_cost
                or not isinstance(parsed.challenge.signature, str) or not parsed.challenge.signature):
            return False
        try:
            verified = altcha.verify_solution(parsed, self._key()).verified
        except (TypeError, ValueError, AttributeError, OverflowError):  # a well-formed but hostile payload
            return False
        if not verified:
            return False
        digest = hashlib.sha256(parsed.challenge.signature.encode()).digest()
        return self.store.redeem_solution(digest, datetime.fromtimestamp(parameters.expires_at, UTC), network, now)

    def _key(self) -> str:
        return self.secret + ":altcha"
