"""Dedup and counts under real concurrency, against real ``pollsvc serve`` processes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests

from tests.helpers import REDIS_URL, create_poll, new_token, results, storm, vote_call

pytestmark = pytest.mark.server


@pytest.mark.parametrize("processes", [1, 2])
def test_forty_simultaneous_votes_with_one_token_give_one_201(serve: Any, server_admin_key: Any,
                                                             processes: int) -> None:
    servers = [serve() for _ in range(processes)]
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
    servers = [serve() for _ in range(processes)]
    key = server_admin_key()
    poll = create_poll(servers[0], key)
    tokens = [new_token(servers[0]) for _ in range(60)]
    responses = storm([vote_call(servers[i % processes], poll, t, i % 2) for i, t in enumerate(tokens)])
    assert Counter(r.status_code for r in responses) == {201: 60}
    counted = results(servers[-1], key, poll["id"])
    assert counted["participants"] == 60
    assert [o["votes"] for o in counted["options"]] == [30, 30]


def test_ip_dedup_holds_across_processes(serve: Any, server_admin_key: Any) -> None:
    servers = [serve(), serve()]
    key = server_admin_key()
    poll = create_poll(servers[0], key, dedup="ip")
    tokens = [new_token(servers[0]) for _ in range(20)]
    responses = storm([vote_call(servers[i % 2], poll, t) for i, t in enumerate(tokens)])
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}


@pytest.mark.skipif(not REDIS_URL, reason="limits are shared between processes only through Redis")
def test_rate_limits_are_shared_by_two_processes_and_a_429_counts_nothing(serve: Any,
                                                                         server_admin_key: Any) -> None:
    servers = [serve(rate_limit_vote="6/minute", rate_limit_voters="10/minute"),
               serve(rate_limit_vote="6/minute", rate_limit_voters="10/minute")]
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
