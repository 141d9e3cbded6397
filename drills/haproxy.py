"""HAProxy in front of the instances: round robin, health checks on ``/healthz`` (a live process;
an instance whose database is down still answers the contract's 503 itself), ``X-Forwarded-For``
added, connection failures retried on another instance, and its own 503 (no instance up) in the
contract's JSON shape."""

from __future__ import annotations

import json
import shutil
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

from drills.procs import Proc, free_port, wait_port

CONFIG = """global
    maxconn 2000
    stats socket {home}/haproxy.sock level user

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout queue 5s
    retries 2
    option redispatch
    # connection failures only: a request that reached an instance is never sent twice
    retry-on conn-failure
    errorfile 502 {home}/502.http
    errorfile 503 {home}/503.http
    errorfile 504 {home}/504.http

frontend polls
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /healthz
    default-server check inter 500ms fall 2 rise 2
{servers}
"""

ERRORS = {
    502: ("Bad Gateway", "The instance answering this request stopped. Try again shortly."),
    503: ("Service Unavailable", "No instance is available. Try again shortly."),
    504: ("Gateway Timeout", "The instance did not answer in time. Try again shortly."),
}


def error_file(status: int) -> str:
    """HAProxy's own errors in the contract's JSON shape (``errorfile``: a raw HTTP response)."""
    reason, message = ERRORS[status]
    body = json.dumps({"error": "unavailable", "message": message}) + "\n"
    return (f"HTTP/1.0 {status} {reason}\r\nCache-Control: no-store\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nRetry-After: 2\r\n\r\n{body}")


@dataclass
class HAProxy:
    home: Path
    port: int
    proc: Proc

    def servers_up(self) -> int:
        """How many instances the balancer sends requests to now (its stats socket)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.home / "haproxy.sock"))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = [line.split(",") for line in data.decode().splitlines() if line and not line.startswith("#")]
        return sum(1 for row in rows if row[0] == "instances" and row[1] not in ("BACKEND", "FRONTEND")
                   and row[17].startswith("UP"))

    def stop(self) -> None:
        self.proc.stop(signal.SIGTERM, timeout=10)


def haproxy(base: Path, backend_ports: list[int]) -> HAProxy:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    home = base / "haproxy"
    home.mkdir()
    port = free_port()
    for status in ERRORS:
        (home / f"{status}.http").write_text(error_file(status))
    servers = "\n".join(f"    server i{n} 127.0.0.1:{p}" for n, p in enumerate(backend_ports, 1))
    (home / "haproxy.cfg").write_text(CONFIG.format(home=home, port=port, servers=servers))
    proc = Proc([binary, "-db", "-f", str(home / "haproxy.cfg")], home / "haproxy.log").start()
    wait_port(port, 15, "haproxy")
    return HAProxy(home, port, proc)
