"""``pollsvc serve``'s process model: N Granian servers of one worker each, on one port.

Granian binds its socket with SO_REUSEPORT, so several servers share the port and the kernel
spreads new connections over them. Each server respawns its own worker when it dies; but when a
respawned worker dies again within seconds, Granian takes it for a crash loop and exits. This
supervisor then restarts that server (after a back-off that grows with repeated failures) while
the other servers go on serving, so killed workers never take the whole service down.

Run as ``python -m pollsvc.supervisor [--remove-on-exit DIR] INSTANCES -- ARGV...`` (``serve``
execs it after the migrations, so it holds no app in memory). SIGINT and SIGTERM are passed on
to every server, which finish the requests in flight and exit; so does the supervisor once they
are gone, removing DIR (the servers' metrics folder) behind it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger("pollsvc.supervisor")

STOP_TIMEOUT = 12.0
"""Seconds the servers get to finish in-flight requests (Granian's own limit is 10) before they
are killed."""
PR_SET_PDEATHSIG = 1
STABLE_AFTER = 30.0
"""A server that ran this long resets its back-off."""


@dataclass
class Instance:
    argv: Sequence[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0

    def start(self) -> None:
        # Its own session, so its worker shares its process group and can be cleaned up with it;
        # and a SIGTERM if the supervisor itself dies, so no server outlives it.
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True,
                                        preexec_fn=_terminate_with_parent)
        self.started = time.monotonic()

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def kill_group(self) -> None:
        """SIGKILL whatever is left of this server (a worker outliving its killed parent)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def backoff(self) -> float:
        if time.monotonic() - self.started > STABLE_AFTER:
            self.failures = 0
        self.failures += 1
        return float(min(0.25 * 2 ** (self.failures - 1), 8.0))


@dataclass
class Supervisor:
    instances: list[Instance]
    stopping: int | None = None
    restarts: dict[int, float] = field(default_factory=dict)
    """Index of a server waiting to be restarted -> when (monotonic)."""

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)
        for instance in self.instances:
            instance.start()
        while True:
            if self.stopping is not None:
                return self._shutdown()
            self._restart_due()
            self._reap()
            time.sleep(0.05)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping is None:
            self.stopping = signum
            for instance in self.instances:
                instance.signal(signum)

    def _reap(self) -> None:
        for index, instance in enumerate(self.instances):
            process = instance.process
            if process is None or index in self.restarts or process.poll() is None:
                continue
            instance.kill_group()
            delay = instance.backoff()
            log.error("server %d (pid %d) exited with %s; restarting it in %.2f s",
                      index + 1, process.pid, process.returncode, delay)
            self.restarts[index] = time.monotonic() + delay

    def _restart_due(self) -> None:
        now = time.monotonic()
        for index, when in list(self.restarts.items()):
            if when <= now:
                del self.restarts[index]
                self.instances[index].start()

    def _shutdown(self) -> int:
        deadline = time.monotonic() + STOP_TIMEOUT
        for instance in self.instances:
            if instance.process is None:
                continue
            try:
                instance.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("server pid %d did not stop in time; killing it", instance.process.pid)
            instance.kill_group()
        return 0


def _terminate_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to this process when its parent dies."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the supervisor's stop still reaches it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: Sequence[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s", stream=sys.stdout)
    parser = argparse.ArgumentParser(prog="python -m pollsvc.supervisor")
    parser.add_argument("instances", type=int)
    parser.add_argument("--remove-on-exit", metavar="DIR")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if options.instances < 1 or not command:
        parser.error("give at least one instance and the command after --")
    env = dict(os.environ)
    try:
        return Supervisor([Instance(command, env) for _ in range(options.instances)]).run()
    finally:
        if options.remove_on_exit:
            shutil.rmtree(options.remove_on_exit, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
