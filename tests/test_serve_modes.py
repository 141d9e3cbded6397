"""``pollsvc serve`` in each mode: limits exact whatever the workers, and votes decided on the
poll's current state across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import descendant_pids, process_alive, server_env

pytestmark = pytest.mark.server


def test_rate_limits_are_exact_in_the_default_mode(serve: Any) -> None:
    """SQLite without Redis runs one process, so its in-memory limits are the whole service's;
    with Redis the two workers share them. Either way: exactly the limit, over new connections
    (which land on every worker)."""
    server = serve(rate_limit_voters="10/minute", rate_limit_vote="1000/minute")
    codes = [requests.post(server.url + "/api/v1/voters", headers={"Connection": "close"}, timeout=10).status_code
             for _ in range(16)]
    assert codes.count(201) == 10 and codes.count(429) == 6, codes


def test_several_workers_without_redis_are_refused(migrated: str, instance_dir: Any) -> None:
    env = server_env(migrated, instance_dir)
    env.pop("POLLSVC_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "pollsvc.cli", "serve", "--port", "1", "--workers", "2"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "POLLSVC_REDIS_URL" in done.stderr


def test_a_close_stops_votes_in_every_process_at_once(serve: Any, server_admin_key: Any) -> None:
    """Process B still has the poll cached as open when A closes it: B's next vote is refused,
    because the vote's own statement reads the poll's row."""
    first, second = serve(), serve()
    key = server_admin_key()
    admin = {"Authorization": f"Bearer {key}"}
    poll = requests.post(first.url + "/api/v1/polls", headers=admin, timeout=10, json={
        "article_id": "close-race", "question": "Đóng?", "results_visibility": "always",
        "options": [{"label": "Có"}, {"label": "Không"}]}).json()

    def vote(server: Any) -> requests.Response:
        token = requests.post(server.url + "/api/v1/voters", timeout=10).json()["voter_token"]
        return requests.post(f"{server.url}/api/v1/polls/{poll['id']}/votes", timeout=10,
                             json={"option_ids": [poll["options"][0]["id"]]}, headers={"X-Voter-Token": token})

    for _ in range(4):  # every worker of B has the poll cached as open
        assert vote(second).status_code == 201
    closed = requests.patch(f"{first.url}/api/v1/polls/{poll['id']}", json={"status": "closed"}, headers=admin,
                            timeout=10)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    refused = [vote(second) for _ in range(4)]
    assert [r.status_code for r in refused] == [409] * 4
    assert {r.json()["error"] for r in refused} == {"poll_closed"}
    assert refused[0].json()["poll"]["status"] == "closed" and refused[0].json()["poll"]["participants"] == 4
    reopened = requests.patch(f"{first.url}/api/v1/polls/{poll['id']}", json={"status": "open"}, headers=admin,
                              timeout=10)
    assert reopened.status_code == 200
    deadline = time.monotonic() + 3  # a reopen reaches every process within about a second
    while (status := vote(second).status_code) != 201 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 201
    results = requests.get(f"{first.url}/api/v1/polls/{poll['id']}/results", headers=admin, timeout=10).json()
    assert results["participants"] == 5



def test_sigterm_stops_every_process_gracefully(serve: Any) -> None:
    """What a container stop does: the servers finish, the supervisor exits 0, nothing is left
    behind (no worker, no metrics folder)."""
    server = serve()
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    supervisor = server.process.pid
    argv = Path(f"/proc/{supervisor}/cmdline").read_bytes().split(b"\0")
    metrics_dir = argv[argv.index(b"--remove-on-exit") + 1].decode()
    tree = descendant_pids(supervisor)
    assert len(tree) >= 2  # Granian servers and their workers
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    deadline = time.monotonic() + 5
    while any(process_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in tree if process_alive(pid)], "a server or worker outlived serve"
    assert not os.path.exists(metrics_dir)
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/healthz", timeout=2)

