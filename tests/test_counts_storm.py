"""After a storm of simultaneous votes, the counters equal the ballots: a rebuild changes nothing."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import create_poll, new_token, results, server_env, storm

pytestmark = pytest.mark.server


def vote(server: Any, poll: dict[str, Any], token: str, picks: list[int]) -> Any:
    def call() -> requests.Response:
        return requests.post(f"{server.url}/api/v1/polls/{poll['id']}/votes",
                             json={"option_ids": [poll["options"][i]["id"] for i in picks]},
                             headers={"X-Voter-Token": token}, timeout=60)

    return call


def test_a_rebuild_after_a_vote_storm_changes_no_count(serve: Any, server_admin_key: Any, migrated: str,
                                                       instance_dir: Path) -> None:
    servers = [serve(), serve()]
    key = server_admin_key()
    single = create_poll(servers[0], key)
    multi = create_poll(servers[0], key, max_choices=2,
                        options=[{"label": "A"}, {"label": "B"}, {"label": "C"}])
    both = create_poll(servers[0], key, dedup="token_and_ip")  # one IP here: one ballot, the rest refused
    tokens = [new_token(servers[0]) for _ in range(30)]
    calls = []
    for i, token in enumerate(tokens):
        server = servers[i % 2]
        calls.append(vote(server, single, token, [i % 2]))
        calls.append(vote(server, single, token, [i % 2]))  # the same voter twice, at once
        calls.append(vote(server, multi, token, [0, 2] if i % 3 else [1]))
        calls.append(vote(server, both, token, [0]))
    responses = storm(calls)
    codes = Counter((r.request.url.split("/")[-2], r.status_code) for r in responses)
    assert codes[(str(single["id"]), 201)] == 30 and codes[(str(single["id"]), 409)] == 30
    assert codes[(str(multi["id"]), 201)] == 30
    assert codes[(str(both["id"]), 201)] == 1 and codes[(str(both["id"]), 409)] == 29
    assert all(r.json()["error"] == "already_voted" for r in responses if r.status_code == 409)
    for response in responses:  # each 201 shows counts that include its own ballot
        if response.status_code == 201:
            assert response.json()["poll"]["participants"] >= 1

    before = {p["id"]: results(servers[0], key, p["id"]) for p in (single, multi, both)}
    assert before[single["id"]]["participants"] == 30
    assert [o["votes"] for o in before[single["id"]]["options"]] == [15, 15]
    assert before[multi["id"]]["participants"] == 30 and before[multi["id"]]["total_votes"] == 50
    assert [o["votes"] for o in before[multi["id"]]["options"]] == [20, 10, 20]
    assert before[both["id"]]["participants"] == 1

    rebuilt = subprocess.run([sys.executable, "-m", "pollsvc.cli", "counts", "rebuild"],
                             env=server_env(migrated, instance_dir), capture_output=True, text=True, check=True)
    assert "rebuilt the counters of 3 poll(s)" in rebuilt.stdout
    after = {p["id"]: results(servers[1], key, p["id"]) for p in (single, multi, both)}
    assert after == before
