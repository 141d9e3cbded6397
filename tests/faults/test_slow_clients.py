"""Slow clients (slowloris) must not starve the service.

200 connections from one address send a request one header line every 5 seconds and never
finish it (reconnecting whenever the server drops them), for 60 s; meanwhile a reader loads the
widget and the health check over fresh and kept-alive connections. The server reads requests
asynchronously and hands only complete ones to the app, so the reader's p99 stays under 1 s.
``POLLSVC_SLOW_CLIENTS_SECONDS`` shortens the drill for a quick local run.
"""

from __future__ import annotations

import os
import selectors
import socket
import statistics
import threading
import time
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.faults, pytest.mark.server]

SLOW_CONNECTIONS = 200
LINE_EVERY = 5.0
DURATION = float(os.environ.get("POLLSVC_SLOW_CLIENTS_SECONDS", "60"))


class Slowloris:
    """``count`` connections that each trickle one header line every ``LINE_EVERY`` seconds."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.selector = selectors.DefaultSelector()
        self.next_line: dict[socket.socket, float] = {}
        self.stop = threading.Event()
        self.opened = 0
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ)
        self.next_line[sock] = time.monotonic() + LINE_EVERY
        self.opened += 1

    def _drop(self, sock: socket.socket) -> None:
        self.selector.unregister(sock)
        self.next_line.pop(sock, None)
        sock.close()
        self.dropped += 1

    def _run(self) -> None:
        while not self.stop.is_set():
            while len(self.next_line) < self.count and not self.stop.is_set():
                try:
                    self._open()
                except OSError:
                    time.sleep(0.05)
                    break
            for key, _ in self.selector.select(timeout=0.2):  # the server answered or closed
                self._drop(key.fileobj)  # type: ignore[arg-type]
            now = time.monotonic()
            for sock, due in list(self.next_line.items()):
                if due <= now:
                    try:
                        sock.send(b"X-Slow: 1\r\n")
                        self.next_line[sock] = now + LINE_EVERY
                    except OSError:
                        self._drop(sock)
        for sock in list(self.next_line):
            self._drop(sock)

    def __enter__(self) -> Slowloris:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def test_slow_clients_do_not_starve_other_readers(serve: Any, server_admin_key: Any) -> None:
    server = serve()
    key = server_admin_key()
    poll = requests.post(server.url + "/api/v1/polls", headers={"Authorization": f"Bearer {key}"}, timeout=10, json={
        "article_id": "slow-clients", "question": "Chậm?", "options": [{"label": "Có"}, {"label": "Không"}]})
    assert poll.status_code == 201
    port = int(server.url.rsplit(":", 1)[1])
    latencies: list[float] = []
    failures: list[str] = []
    with Slowloris(port, SLOW_CONNECTIONS) as attack:
        time.sleep(min(3.0, DURATION / 4))  # the attack is in place before the reader comes
        kept_alive = requests.Session()
        deadline = time.monotonic() + DURATION
        turn = 0
        while time.monotonic() < deadline:
            turn += 1
            client = kept_alive if turn % 2 else requests  # fresh connections too
            path = "/api/v1/articles/slow-clients/polls" if turn % 3 else "/healthz"
            started = time.monotonic()
            try:
                response = client.get(server.url + path, timeout=5)
                if response.status_code != 200:
                    failures.append(f"{path}: {response.status_code}")
            except requests.RequestException as exc:
                failures.append(f"{path}: {type(exc).__name__}")
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
        holding = len(attack.next_line)
    assert attack.opened >= SLOW_CONNECTIONS and holding >= SLOW_CONNECTIONS * 0.9, "the attack was not in place"
    assert not failures, failures[:10]
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(f"\nslow clients: {attack.opened} opened, {attack.dropped} dropped by the server; reader: "
          f"{len(latencies)} requests, p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    assert p99 < 1.0, f"p99 {p99:.2f}s with {SLOW_CONNECTIONS} slow clients"
