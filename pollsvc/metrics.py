"""Prometheus metrics, correct across worker processes (multiprocess mode).

``pollsvc serve`` sets PROMETHEUS_MULTIPROC_DIR before the workers start; each worker writes its
samples there and ``/metrics`` merges them. Without it (tests, a bare WSGI server) the process's
own registry is served.
"""

from __future__ import annotations

import os
import threading

from flask import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

REQUESTS = Counter("pollsvc_http_requests_total", "HTTP requests by endpoint, method and status.",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("pollsvc_http_request_duration_seconds", "Request latency by endpoint.",
                    ["endpoint", "method"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
VOTES = Counter("pollsvc_votes_total", "Votes by outcome: accepted, or the refusal's error code.",
                ["outcome"])
POLL_VOTES = Counter("pollsvc_poll_votes_total", "Accepted votes per poll: rate() of it is votes a minute.",
                     ["poll_id"])
BURSTS = Counter("pollsvc_integrity_bursts_total",
                 "Networks (/24, /48) seen casting a burst of ballots in one minute on one poll (by one worker; "
                 "the integrity report of the poll has the exact picture).")
VIEWS = Counter("pollsvc_views_total", "Views of polls counted: viewable impressions of public polls, each client "
                "IP and poll once per 10 minutes (written to SQL within seconds).")
VOTE_ENDPOINT = "votes.vote"


def observe(endpoint: str, method: str, status: int, seconds: float, error_code: str | None) -> None:
    """Count one answered request (and, for votes, its outcome)."""
    LATENCY.labels(endpoint, method).observe(seconds)
    REQUESTS.labels(endpoint, method, str(status)).inc()
    if endpoint == VOTE_ENDPOINT:
        VOTES.labels("accepted" if status == 201 else error_code or "error").inc()


class BurstWatch:
    """Counts a process's accepted ballots per (poll, network, minute) and reports a network that
    reaches ``threshold`` in a minute once, so an alert can fire while the run goes on."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.minute = -1
        self.counts: dict[tuple[int, str], int] = {}
        self.lock = threading.Lock()

    def ballot(self, poll_id: int, network: str, now: float) -> None:
        POLL_VOTES.labels(str(poll_id)).inc()
        minute = int(now // 60)
        with self.lock:
            if minute != self.minute:
                self.minute, self.counts = minute, {}
            key = (poll_id, network)
            self.counts[key] = count = self.counts.get(key, 0) + 1
        if count == self.threshold:
            BURSTS.inc()


def render() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
