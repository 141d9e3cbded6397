"""For the test suite and the benchmarks: server processes on loopback (start, wait, stop), and a
voter on a loopback address that pays the proof of work as any client does."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altcha


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


def solve(challenge: dict[str, Any]) -> str:
    """The ALTCHA payload that answers ``challenge`` (the altcha library's own solver)."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    assert solution is not None, "challenge not solved in time"
    return str(altcha.Payload(parsed, solution).to_base64())


class LoopbackVoter:
    """A reader on one loopback address (127.x.y.z): the server, with no trusted proxy, sees that
    address, so a test can put voters on as many networks as it likes."""

    def __init__(self, port: int, source: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        payload = None if body is None else json.dumps(body)
        all_headers = {**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
        self.connection.close()  # a fresh connection: the server may have dropped an idle one meanwhile
        self.connection.request(method, path, body=payload, headers=all_headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"null")

    def vote(self, poll: dict[str, Any], option: int) -> int:
        status, challenge = self.call("GET", "/api/v1/voters/challenge")
        assert status == 200, challenge
        status, minted = self.call("POST", "/api/v1/voters", {"altcha": solve(challenge)})
        assert status == 201, minted
        choice = {"option_ids": [poll["options"][option]["id"]]}
        status, _ = self.call("POST", f"/api/v1/polls/{poll['id']}/votes", choice,
                              {"X-Voter-Token": minted["voter_token"]})
        self.connection.close()
        return int(status)
