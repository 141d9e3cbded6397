"""Voter tokens cost a proof of work (ALTCHA v2): challenges, solutions accepted once, expiry,
the cost that rises for a network minting far above its own usual rate, and token ages."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import text

from pollsvc.services.botcheck import (
    BASE_PREFIX,
    CHALLENGE_TTL,
    HISTORY,
    Load,
    LoadLedger,
    cost_factor,
    difficulty,
    expected_work,
)
from tests.helpers import assert_error, post_vote, solve

BASE = 7


@pytest.fixture
def pow_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(bot_check="pow", pow_base_cost=BASE, rate_limit_voters="10000/minute")
    return app_config


def challenge(client: Any, ip: str = "192.0.2.1") -> dict[str, Any]:
    response = client.get("/api/v1/voters/challenge", environ_base={"REMOTE_ADDR": ip})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.json  # type: ignore[no-any-return]


def redeem(client: Any, payload: Any, ip: str = "192.0.2.1") -> Any:
    return client.post("/api/v1/voters", json={"altcha": payload}, environ_base={"REMOTE_ADDR": ip})


def test_a_solved_challenge_buys_a_token_that_votes(pow_config: dict[str, Any], client: Any, make_poll: Any,
                                                    clock: Any) -> None:
    found = challenge(client)
    parameters = found["parameters"]
    assert parameters["algorithm"] == "PBKDF2/SHA-256" and parameters["keyPrefix"] == BASE_PREFIX
    assert parameters["cost"] == BASE and parameters["expiresAt"] == int(clock().timestamp()) + CHALLENGE_TTL
    assert set(found) == {"parameters", "signature"}
    minted = redeem(client, solve(found))
    assert minted.status_code == 201 and minted.headers["Cache-Control"] == "no-store"
    assert minted.json["expires_at"] == (clock() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    poll = make_poll()
    assert post_vote(client, poll, token=minted.json["voter_token"], ip="192.0.2.1").status_code == 201


def test_no_solution_gets_a_fresh_challenge(pow_config: dict[str, Any], client: Any) -> None:
    bodies: list[dict[str, Any]] = []
    for attempt in (
        lambda: client.post("/api/v1/voters"),
        lambda: client.post("/api/v1/voters", json={}),
        lambda: client.post("/api/v1/voters", data="altcha=x", content_type="application/x-www-form-urlencoded"),
        lambda: redeem(client, "not base64 at all"),
        lambda: redeem(client, base64.b64encode(b'{"challenge": 1}').decode()),
        lambda: redeem(client, 12345),
        lambda: redeem(client, "A" * 5000),
    ):
        body = assert_error(attempt(), 403, "challenge_required")
        assert body["challenge"]["parameters"]["algorithm"] == "PBKDF2/SHA-256"
        bodies.append(body)
    assert len({b["challenge"]["signature"] for b in bodies}) == len(bodies)  # each one fresh


def test_a_solution_is_accepted_once(pow_config: dict[str, Any], client: Any) -> None:
    payload = solve(challenge(client))
    assert redeem(client, payload).status_code == 201
    assert_error(redeem(client, payload), 403, "challenge_required")


def test_wrong_tampered_expired_or_foreign_solutions_are_refused(pow_config: dict[str, Any], client: Any,
                                                                  clock: Any) -> None:
    found = challenge(client)
    payload = json.loads(base64.b64decode(solve(found)))
    wrong = {**payload, "solution": {**payload["solution"], "counter": payload["solution"]["counter"] + 1}}
    cheaper = {**payload, "challenge": {**payload["challenge"], "parameters": {
        **payload["challenge"]["parameters"], "keyPrefix": ""}}}
    hostile = [{**payload, "challenge": {**payload["challenge"], "parameters": {
        **payload["challenge"]["parameters"], "data": data}}} for data in ([1], "network", 7, None)]
    hostile.append({**payload, "challenge": {**payload["challenge"], "signature": 12345}})
    for forged in (wrong, cheaper, *hostile):
        assert_error(redeem(client, base64.b64encode(json.dumps(forged).encode()).decode()), 403,
                     "challenge_required")
    other_network = solve(challenge(client, ip="198.51.100.7"))
    assert_error(redeem(client, other_network, ip="192.0.2.1"), 403, "challenge_required")
    late = solve(challenge(client))
    clock.advance(seconds=CHALLENGE_TTL + 1)
    assert_error(redeem(client, late), 403, "challenge_required")
    assert redeem(client, solve(challenge(client))).status_code == 201  # a fresh one still works


def test_expired_voter_tokens_are_refused(pow_config: dict[str, Any], client: Any, make_poll: Any,
                                          clock: Any) -> None:
    token = redeem(client, solve(challenge(client))).json["voter_token"]
    poll, later = make_poll(), make_poll()
    assert post_vote(client, poll, token=token).status_code == 201
    clock.advance(days=1, seconds=1)
    assert_error(post_vote(client, later, token=token), 400, "invalid_voter_token")


def test_the_bot_check_can_be_turned_off(app_config: dict[str, Any], client: Any) -> None:
    assert app_config["bot_check"] == "off"
    assert client.post("/api/v1/voters").status_code == 201
    assert client.post("/api/v1/voters", json={"altcha": "anything"}).status_code == 201
    assert client.get("/api/v1/voters/challenge").status_code == 200  # clients may always solve one


def test_ballots_keep_the_network_and_the_age_of_the_token(pow_config: dict[str, Any], app: Any, client: Any,
                                                           make_poll: Any, clock: Any) -> None:
    token = redeem(client, solve(challenge(client, ip="192.0.2.44")), ip="192.0.2.44").json["voter_token"]
    clock.advance(minutes=3)
    assert post_vote(client, make_poll(), token=token, ip="192.0.2.99").status_code == 201
    with app.extensions["pollsvc"].store.engine.connect() as connection:
        row = connection.execute(text("SELECT network_hash, token_network, token_age FROM ballots")).one()
        minted = connection.execute(text("SELECT tokens FROM token_mints")).scalar()
    network, token_network, age = row
    assert age == 180 and minted == 1
    assert bytes(network)[:6].hex() == token_network  # minted and cast from the same /24
    assert b"192.0.2" not in bytes(network)


# ---- the cost ----


def loads(net_recent: float, net_usual: float = 0, all_recent: float = 0, all_usual: float = 0) -> float:
    return cost_factor(Load(net_recent, net_usual), Load(all_recent, all_usual))


def test_a_quiet_network_pays_the_base_cost() -> None:
    assert loads(1) == loads(30) == 1.0  # up to 3 a minute over the 10-minute window


def test_a_sudden_run_from_a_quiet_network_gets_exponentially_dearer() -> None:
    costs = [loads(n) for n in (30, 34, 38, 42, 46, 50)]
    assert costs == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # each 4 challenges beyond the expected 30: twice


def test_a_big_steady_network_is_measured_against_its_own_size() -> None:
    assert loads(500, net_usual=50) == 1.0  # a carrier's NAT: 50 readers a minute, every minute
    assert loads(600, net_usual=50) <= 2.0  # a fifth busier than usual
    assert loads(1000, net_usual=50) == 16.0  # twice as busy: dearer, but nothing like a quiet network's


def test_when_the_whole_service_is_busier_so_may_a_network_be() -> None:
    """An article gone viral: everyone three times busier than usual, this carrier's NAT too: it
    pays what a quiet network's reader pays then (the global surge's factor, at most 4)."""
    viral = {"all_recent": 30_000, "all_usual": 1000}
    assert loads(1, **viral) == 4.0
    assert loads(1500, net_usual=50, **viral) == 4.0
    assert loads(90, **viral) == 4.0  # a quiet office reading the viral article
    assert loads(1500, net_usual=50, all_recent=10_000, all_usual=1000) >= 16.0  # busier alone: priced up
    assert loads(4 * 30 + 8, all_recent=10**6, all_usual=1000) == 4.0 * 4  # busier counts 4x at most


def test_a_global_surge_adds_at_most_four_times() -> None:
    assert loads(1, all_recent=600, all_usual=60) == 1.0
    assert loads(1, all_recent=100_000, all_usual=60) == 4.0


def test_difficulty_grows_by_prefix_digits_and_iterations_and_stops_at_the_cap() -> None:
    assert difficulty(1000, 256_000, 1) == ("00", 1000)
    assert difficulty(1000, 256_000, 4) == ("00", 4000)
    assert difficulty(1000, 256_000, 32) == ("000", 2000)
    assert difficulty(1000, 256_000, 10**9) == ("0000", 1000)
    work = [expected_work({"parameters": {"keyPrefix": p, "cost": c}}) for p, c in
            (difficulty(1000, 256_000, f) for f in (1, 3, 17, 300, 10**9))]
    assert work == sorted(work) and work[-1] == 256 * work[0]


def test_the_ledger_prices_each_network_by_its_own_history() -> None:
    now = [1_800_000_000.0]
    ledger = LoadLedger(clock=lambda: now[0])
    for _ in range(HISTORY + 10):  # 70 minutes of a carrier's NAT: 50 readers a minute
        for _ in range(50):
            carrier, _ = ledger.record("carrier")
        now[0] += 60
    assert carrier == Load(recent=500, usual=50) and cost_factor(carrier, Load(0, 0)) == 1.0
    for _ in range(200):  # a quiet network's sudden run
        attacker, _ = ledger.record("quiet")
    assert attacker == Load(recent=200, usual=0) and cost_factor(attacker, Load(0, 0)) > 2**15
    reader, everyone = ledger.record("another quiet")
    assert reader == Load(recent=1, usual=0)
    assert cost_factor(reader, Load(0, 0)) == 1.0 and cost_factor(reader, everyone) <= 4.0


def test_the_challenge_cost_rises_for_the_minting_network_only(pow_config: dict[str, Any], client: Any) -> None:
    first = challenge(client, ip="203.0.113.5")
    for i in range(60):
        challenge(client, ip=f"203.0.113.{i % 250 + 1}")
    attacker = challenge(client, ip="203.0.113.9")
    reader = challenge(client, ip="198.51.100.20")
    assert expected_work(first) == expected_work(reader) == 256 * BASE
    assert expected_work(attacker) >= 8 * expected_work(first)


@pytest.mark.server
def test_a_solution_is_accepted_once_across_processes(serve: Any) -> None:
    first, second = serve(bot_check="pow"), serve(bot_check="pow")
    found = requests.get(first.url + "/api/v1/voters/challenge", timeout=10).json()
    payload = solve(found)
    answers = [requests.post(server.url + "/api/v1/voters", json={"altcha": payload}, timeout=10)
               for server in (second, first, second)]
    assert [a.status_code for a in answers] == [201, 403, 403]
    assert answers[1].json()["error"] == "challenge_required"
