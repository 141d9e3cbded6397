"""Server processes on loopback for the test suite and the benchmark: start, wait, stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        """SIGINT: the server stops taking requests, finishes those in flight and exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def launch(argv: list[str], env: dict[str, str], port: int, log: Path, *, name: str = "pollsvc serve",
           cwd: Path | None = None, timeout: float = 60) -> ServerProcess:
    """Start ``argv`` (a server on 127.0.0.1:``port``) and return once ``/healthz`` answers 200."""
    process = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=cwd)
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log, env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:  # not up yet, or too busy to answer within a second
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not come up:\n{log.read_text()[-3000:]}")
