"""Votes under load: threads that each mint a voter token and vote with it, as a widget does,
retrying the same token after an answer that is not final (no answer, 5xx) until it gets one.
A 201, or a 409 ``already_voted`` on a retry (the first attempt was stored, its answer lost: a
retry of the reader's, or of the service's own when the database connection broke after the
commit), is an acknowledged ballot: each must be counted once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from drills.client import Answer, Api, call, random_ip

RETRY_PAUSE = 0.2
GIVE_UP_SECONDS = 60.0


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    """Every answer to a vote request, retries included (0: no answer)."""
    errors: Counter[str] = field(default_factory=Counter)
    """Error codes of the 5xx answers (``html`` for a body that is not the contract's JSON)."""
    acknowledged: int = 0
    first_try_409: int = 0
    """409 on a fresh token's first request: the service itself retried a vote whose answer the
    database connection lost (it was stored: acknowledged too, and counted here)."""
    given_up: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    """Other final answers (4xx), by error code: none is expected."""
    timeline: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the start, status) of every answer."""
    side_calls: Counter[str] = field(default_factory=Counter)
    """Statuses of the challenge and view requests made along, by ``path status``."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, answer: Answer) -> None:
        with self.lock:
            self.statuses[answer.status] += 1
            self.timeline.append((time.monotonic() - started, answer.status))
            if answer.status >= 500 or answer.status == 0:
                self.errors[answer.error or ("no answer" if answer.status == 0 else "html")] += 1

    def five_hundreds(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 and status != 503 and status != 502)

    def count(self, *statuses: int) -> int:
        return sum(self.statuses[s] for s in statuses)


class VoteLoad:
    """``threads`` voters on ``poll`` until ``stop()``; each ballot retried until final."""

    def __init__(self, api: Api, poll: dict[str, Any], threads: int = 6, side_calls: bool = True) -> None:
        self.api = api
        self.poll = poll
        self.tally = Tally()
        self.side_calls = side_calls
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]
        self.started = 0.0

    def start(self) -> VoteLoad:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> Tally:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=GIVE_UP_SECONDS + 30)
        return self.tally

    def _run(self, n: int) -> None:
        rounds = 0
        while not self._stop.is_set():
            rounds += 1
            source = random_ip()
            if self.side_calls and rounds % 5 == 0:
                self._side_calls(source)
            token = self._token(source)
            if token is not None:
                self._ballot(token, source)

    def _token(self, source: str) -> str | None:
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while time.monotonic() < deadline:
            token = self.api.token(source)
            if token is not None:
                return token
            if self._stop.is_set():
                return None
            time.sleep(RETRY_PAUSE)
        return None

    def _ballot(self, token: str, source: str) -> None:
        deadline = time.monotonic() + GIVE_UP_SECONDS
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            # A retry comes from another address: the ballot is the token's, and an outage's
            # retries from one address would run into its rate limit (a widget would wait).
            answer = self.api.vote(self.poll, token, source if attempt == 1 else random_ip())
            self.tally.record(self.started, answer)
            if answer.status == 201 or (answer.status == 409 and answer.error == "already_voted"):
                with self.tally.lock:
                    self.tally.acknowledged += 1
                    if answer.status == 409 and attempt == 1:
                        self.tally.first_try_409 += 1
                return
            if 400 <= answer.status < 500:  # final, and not a ballot (429 cannot happen: one vote per address)
                with self.tally.lock:
                    self.tally.refused[f"{answer.status} {answer.error}"] += 1
                return
            time.sleep(RETRY_PAUSE)
        with self.tally.lock:
            self.tally.given_up += 1

    def _side_calls(self, source: str) -> None:
        """A challenge (the proof-of-work ledger in Redis) and a view (the views buffer script)."""
        challenge = call(self.api.port, "GET", "/api/v1/voters/challenge", source=source)
        view = call(self.api.port, "POST", "/api/v1/views", {"polls": [self.poll["id"]]}, source=source)
        with self.tally.lock:
            self.tally.side_calls[f"challenge {challenge.status}"] += 1
            self.tally.side_calls[f"view {view.status}"] += 1
