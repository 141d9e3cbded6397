"""A dashboard under load: results and the report read in a loop through the balancer, noting
each answer's status and ``X-Replica-Lag`` (absent: answered by the primary)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from drills.client import Api


@dataclass
class Reads:
    statuses: Counter[int] = field(default_factory=Counter)
    lags: list[float] = field(default_factory=list)
    """``X-Replica-Lag`` of the answers from the replica, in seconds."""
    from_primary: int = 0
    timeline: list[tuple[float, int, float | None]] = field(default_factory=list)


class Reporter:
    def __init__(self, api: Api, poll: dict[str, Any], pause: float = 0.1) -> None:
        self.api = api
        self.poll = poll
        self.pause = pause
        self.reads = Reads()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = 0.0

    def start(self) -> Reporter:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> Reads:
        self._stop.set()
        self._thread.join(timeout=60)
        return self.reads

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            answer = self.api.report() if n % 5 == 0 else self.api.results(self.poll["id"])
            lag = answer.headers.get("x-replica-lag")
            self.reads.statuses[answer.status] += 1
            self.reads.timeline.append((time.monotonic() - self.started, answer.status,
                                        None if lag is None else float(lag)))
            if answer.status == 200:
                if lag is None:
                    self.reads.from_primary += 1
                else:
                    self.reads.lags.append(float(lag))
            time.sleep(self.pause)
