"""Dedup and counts under real concurrency, against real ``pollsvc serve`` processes."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.conftest import REDIS_URL, Server

pytestmark = pytest.mark.server


def create_poll(server: Server, key: str, **fields: Any) -> dict[str, Any]:
    body = {"article_id": "bao-dong", "question": "Đồng thời?", "options": [{"label": "Có"}, {"label": "Không"}],
            **fields}
    response = requests.post(server.url + "/api/v1/polls", json=body, headers={"Authorization": f"Bearer {key}"},
                             timeout=10)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def new_token(server: Server) -> str:
    response = requests.post(server.url + "/api/v1/voters", timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["voter_token"]  # type: ignore[no-any-return]


def storm(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run every call in its own thread, released together."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # recorded, asserted below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    return results


def vote_call(server: Server, poll: dict[str, Any], token: str, option: int = 0) -> Callable[[], requests.Response]:
    def call() -> requests.Response:
        return requests.post(f"{server.url}/api/v1/polls/{poll['id']}/votes",
                             json={"option_ids": [poll["options"][option]["id"]]},
                             headers={"X-Voter-Token": token}, timeout=60)

    return call


def results(server: Server, key: str, poll_id: int) -> dict[str, Any]:
    response = requests.get(f"{server.url}/api/v1/polls/{poll_id}/results",
                            headers={"Authorization": f"Bearer {key}"}, timeout=10)
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("processes", [1, 2])
def test_forty_simultaneous_votes_with_one_token_give_one_201(serve: Any, server_admin_key: Any,
                                                             processes: int) -> None:
    servers = [serve(workers=2) for _ in range(processes)]
    key = server_admin_key()
    poll = create_poll(servers[0], key)
    token = new_token(servers[0])
    responses = storm([vote_call(servers[i % processes], poll, token) for i in range(40)])
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 409: 39}, codes
    assert all(r.json()["error"] == "already_voted" for r in responses if r.status_code == 409)
    counted = results(servers[-1], key, poll["id"])
    assert counted["participants"] == 1 and counted["total_votes"] == 1


@pytest.mark.parametrize("processes", [1, 2])
def test_sixty_distinct_voters_give_sixty_participants(serve: Any, server_admin_key: Any, processes: int) -> None:
    servers = [serve(workers=2) for _ in range(processes)]
    key = server_admin_key()
    poll = create_poll(servers[0], key)
    tokens = [new_token(servers[0]) for _ in range(60)]
    responses = storm([vote_call(servers[i % processes], poll, t, i % 2) for i, t in enumerate(tokens)])
    assert Counter(r.status_code for r in responses) == {201: 60}
    counted = results(servers[-1], key, poll["id"])
    assert counted["participants"] == 60
    assert [o["votes"] for o in counted["options"]] == [30, 30]


def test_ip_dedup_holds_across_processes(serve: Any, server_admin_key: Any) -> None:
    servers = [serve(workers=2), serve(workers=2)]
    key = server_admin_key()
    poll = create_poll(servers[0], key, dedup="ip")
    tokens = [new_token(servers[0]) for _ in range(20)]
    responses = storm([vote_call(servers[i % 2], poll, t) for i, t in enumerate(tokens)])
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}


@pytest.mark.skipif(not REDIS_URL, reason="limits are shared between processes only through Redis")
def test_rate_limits_are_shared_by_two_processes_and_a_429_counts_nothing(serve: Any,
                                                                         server_admin_key: Any) -> None:
    servers = [serve(workers=2, rate_limit_vote="6/minute", rate_limit_voters="10/minute"),
               serve(workers=2, rate_limit_vote="6/minute", rate_limit_voters="10/minute")]
    key = server_admin_key()
    poll = create_poll(servers[0], key)
    token_codes = []
    tokens = []
    for i in range(12):
        response = requests.post(servers[i % 2].url + "/api/v1/voters", timeout=10)
        token_codes.append(response.status_code)
        if response.status_code == 201:
            tokens.append(response.json()["voter_token"])
    assert token_codes == [201] * 10 + [429] * 2
    votes = [vote_call(servers[i % 2], poll, tokens[i])().status_code for i in range(10)]
    assert votes == [201] * 6 + [429] * 4
    assert results(servers[0], key, poll["id"])["participants"] == 6
