"""Processes of the drills: spare ports, commands run as ``postgres`` when we are root, and
servers in their own process group (so a SIGKILL takes a server with all its workers)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pollsvc.testing import free_port

__all__ = ["Proc", "as_postgres", "free_port", "give_to_postgres", "wait_for", "wait_port"]


def as_postgres(command: list[str]) -> list[str]:
    """initdb, postgres and pgbouncer refuse to run as root: run them as ``postgres`` then."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root without runuser: cannot start PostgreSQL or PgBouncer")
    return [runuser, "-u", "postgres", "--", *command]


def give_to_postgres(*paths: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, timeout: float, what: str) -> None:
    wait_for(lambda: port_open(port), timeout, what)


@dataclass
class Proc:
    """A server process in a process group of its own."""

    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, sig: int) -> None:
        """``sig`` to the group (its workers too, even when the leader is gone)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL to the whole group: the server and every worker, at once."""
        self.send(signal.SIGKILL)
        self.wait(10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        self.send(sig)
        if not self.wait(timeout):
            self.kill()

    def wait(self, timeout: float) -> bool:
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
