"""Seeing stuffing and undoing it: the integrity report flags a run from one network, and voiding
it restores the counts to the legitimate votes exactly (and reversibly).

The measured goal runs over real HTTP against a real (in-process, threaded) server whose clock
the test moves through 10 simulated minutes; every voter connects from its own loopback address
(127.x.y.z, ``POLLSVC_TRUSTED_PROXIES=0``), so the service sees 501 distinct /24 networks.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from werkzeug.serving import make_server

from pollsvc import create_app
from pollsvc.identity import network_hash, network_label
from pollsvc.services import audit
from pollsvc.services.integrity import BURST_MIN
from pollsvc.testing import LoopbackVoter
from tests.helpers import TEST_SECRET, assert_error, post_vote, wipe

LEGIT_NETWORKS = 500
LEGIT_VOTERS = 2000
MINUTES = 10
ATTACK = 600
ATTACK_MINUTES = range(4, 10)
_MINUTE = timedelta(minutes=1)


@pytest.fixture
def live_app(app_config: dict[str, Any]) -> Iterator[tuple[Any, int]]:
    """The app (on the test's clock) behind a real threaded HTTP server; the bot check on."""
    wipe(app_config["database_url"])
    app = create_app({**app_config, "bot_check": "pow", "pow_base_cost": 1, "rate_limit_vote": "30/minute",
                      "rate_limit_voters": "10/minute", "rate_limit_public_read": "600/minute"})
    app.extensions["pollsvc"].limiter.reset()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, server.server_port
    server.shutdown()


def legit_address(voter: int) -> str:
    network = voter % LEGIT_NETWORKS
    return f"127.{10 + network // 250}.{network % 250}.{1 + voter // LEGIT_NETWORKS}"


def test_the_report_flags_a_run_and_voiding_it_leaves_the_legitimate_votes(live_app: tuple[Any, int], client: Any,
                                                                           admin: dict[str, str], clock: Any) -> None:
    app, port = live_app
    poll = client.post("/api/v1/polls", headers=admin, json={
        "article_id": "integrity", "question": "Ai nên thắng?", "results_visibility": "always",
        "options": [{"label": "A"}, {"label": "B"}, {"label": "C"}]}).json
    rng = random.Random(9)
    legit_per_minute = LEGIT_VOTERS // MINUTES
    attack_per_minute = ATTACK // len(ATTACK_MINUTES)
    legit_votes = {0: 0, 1: 0, 2: 0}
    start = clock.current = clock.current.replace(second=57)  # the run's first minute straddles two
    for minute in range(MINUTES):
        voters = [("legit", minute * legit_per_minute + i) for i in range(legit_per_minute)]
        if minute in ATTACK_MINUTES:
            voters += [("attack", minute * attack_per_minute + i) for i in range(attack_per_minute)]
        rng.shuffle(voters)
        for second, (kind, n) in enumerate(voters):
            clock.current = start + minute * _MINUTE + second * _MINUTE / (len(voters) + 1)
            if kind == "legit":
                option = rng.choice([0, 0, 1, 2])
                assert LoopbackVoter(port, legit_address(n)).vote(poll, option) == 201
                legit_votes[option] += 1
            else:
                assert LoopbackVoter(port, f"127.200.1.{1 + n % 254}").vote(poll, 2) == 201
    clock.current = start + MINUTES * _MINUTE

    report = client.get(f"/api/v1/polls/{poll['id']}/integrity", headers=admin).json
    attacker = network_label(network_hash(TEST_SECRET, "127.200.1.1"))
    assert report["ballots"] == LEGIT_VOTERS + ATTACK and report["networks"] == LEGIT_NETWORKS + 1
    assert report["top_networks"][0]["network"] == attacker and report["top_networks"][0]["flagged"]
    assert report["top_share"]["1"] == round(100 * ATTACK / (LEGIT_VOTERS + ATTACK), 1)
    stuffing = [b for b in report["bursts"] if b["verdict"] == "stuffing" and b["network"] == attacker]
    flagged_attack = sum(b["ballots"] for b in stuffing)
    flagged_legit = report["flagged_ballots"] - ATTACK if report["top_networks"][0]["flagged"] else 0
    print(f"\nintegrity: {report['ballots']} ballots from {report['networks']} networks; attacker's flagged "
          f"{flagged_attack}/{ATTACK}, legitimate flagged {flagged_legit}/{LEGIT_VOTERS}; bursts "
          f"{[(b['network'], b['ballots'], b['verdict']) for b in report['bursts']]}")
    assert flagged_attack >= 0.95 * ATTACK, report["bursts"]
    assert report["flagged_ballots"] >= 0.95 * ATTACK
    assert flagged_legit <= 0.01 * LEGIT_VOTERS, report["flagged_ballots"]
    assert all(b["network"] in (attacker, None) for b in report["bursts"] if b["verdict"] == "stuffing")
    assert stuffing[0]["reasons"], stuffing

    for burst in stuffing:
        voided = client.post(f"/api/v1/polls/{poll['id']}/voids", json={"burst": burst["id"]}, headers=admin)
        assert voided.status_code == 201, voided.json
    results = client.get(f"/api/v1/polls/{poll['id']}/results", headers=admin).json
    assert results["participants"] == LEGIT_VOTERS and results["voided"] == ATTACK
    assert {o["id"]: o["votes"] for o in results["options"]} == {
        poll["options"][i]["id"]: legit_votes[i] for i in range(3)}
    timeseries = client.get(f"/api/v1/polls/{poll['id']}/results/timeseries", headers=admin).json
    assert sum(b["participants"] for b in timeseries["buckets"]) == LEGIT_VOTERS
    assert app.extensions["pollsvc"].store.rebuild_counts([poll["id"]]) == 1  # what `pollsvc counts rebuild` does
    rebuilt = client.get(f"/api/v1/polls/{poll['id']}/results", headers=admin).json
    assert {k: rebuilt[k] for k in ("participants", "total_votes", "voided", "options")} == {
        k: results[k] for k in ("participants", "total_votes", "voided", "options")}
    after = client.get(f"/api/v1/polls/{poll['id']}/integrity", headers=admin).json
    assert after["voided"] == ATTACK and after["ballots"] == LEGIT_VOTERS


@pytest.fixture
def voted(client: Any, make_poll: Any, admin: dict[str, str], clock: Any, voter_token: Any) -> dict[str, Any]:
    """A poll with 3 ballots from 192.0.2.0/24 (one a minute earlier) and 1 from 198.51.100.0/24."""
    poll = make_poll(results_visibility="always")
    tokens = [voter_token() for _ in range(4)]
    post_vote(client, poll, token=tokens[0], ip="192.0.2.1")
    clock.advance(minutes=1)
    for token, ip in zip(tokens[1:], ("192.0.2.2", "192.0.2.3", "198.51.100.9"), strict=True):
        assert post_vote(client, poll, [poll["options"][1]["id"]], token=token, ip=ip).status_code == 201
    return {**poll, "tokens": tokens, "since": clock.current.isoformat()}


def test_void_by_network_and_window_then_restore(client: Any, voted: dict[str, Any], admin: dict[str, str],
                                                 clock: Any) -> None:
    poll = voted
    label = network_label(network_hash(TEST_SECRET, "192.0.2.1"))
    url = f"/api/v1/polls/{poll['id']}"
    voided = client.post(url + "/voids", headers=admin, json={"network": label, "from": poll["since"]})
    assert voided.status_code == 201
    assert voided.json["ballots"] == 2 and voided.json["network"] == label and voided.json["restored_at"] is None
    results = client.get(url + "/results", headers=admin).json
    assert (results["participants"], results["voided"], results["total_votes"]) == (2, 2, 2)
    assert [o["votes"] for o in results["options"]] == [1, 1, 0]
    assert client.get(url).json["participants"] == 2  # the public count too, at once
    csv_text = client.get(url + "/results.csv", headers=admin).get_data(as_text=True)
    assert "voided,Voided ballots (not counted),2," in csv_text.splitlines()
    report = client.get("/api/v1/reports/polls", headers=admin).json["items"][0]
    assert (report["participants"], report["voided"]) == (2, 2)
    # a voided voter stays a voter: the key is still taken
    again = post_vote(client, poll, token=poll["tokens"][1], ip="192.0.2.2")
    assert again.status_code == 409 and again.json["error"] == "already_voted"

    restored = client.post(f"{url}/voids/{voided.json['id']}/restore", headers=admin)
    assert restored.status_code == 200 and restored.json["restored_at"] is not None
    results = client.get(url + "/results", headers=admin).json
    assert (results["participants"], results["voided"], results["total_votes"]) == (4, 0, 4)
    assert_error(client.post(f"{url}/voids/{voided.json['id']}/restore", headers=admin), 404, "not_found")
    listed = client.get(url + "/voids", headers=admin).json["items"]
    assert [v["id"] for v in listed] == [voided.json["id"]] and listed[0]["restored_by"] == "test admin"
    audit = client.get(f"/api/v1/audit?poll_id={poll['id']}", headers=admin).json["items"]
    assert [e["action"] for e in audit[:2]] == ["restore", "void"]
    assert audit[1]["details"]["ballots"] == 2 and audit[1]["details"]["network"] == label


def test_two_restores_at_once_count_the_void_once(client: Any, voted: dict[str, Any], admin: dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A double click on Restore, or a client's retry: both requests meet before moving a counter."""
    poll = voted
    url = f"/api/v1/polls/{poll['id']}"
    label = network_label(network_hash(TEST_SECRET, "192.0.2.1"))
    voided = client.post(url + "/voids", headers=admin, json={"network": label, "from": poll["since"]}).json
    runtime = client.application.extensions["pollsvc"]
    store, upsert = runtime.store, runtime.store._upsert
    meeting = threading.Barrier(2, timeout=2)

    def upsert_once_both_are_here(*args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other one waits for our lock
            meeting.wait()
        upsert(*args, **kwargs)

    monkeypatch.setattr(store, "_upsert", upsert_once_both_are_here)
    outcomes: list[object] = []

    def restore() -> None:
        now = runtime.now()
        try:
            outcomes.append(store.restore_void(poll_id=poll["id"], void_id=voided["id"], now=now,
                                               audit=audit.event_row(None, "restore", poll["id"], None, now)))
        except Exception as error:  # reported below
            outcomes.append(error)

    threads = [threading.Thread(target=restore) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    monkeypatch.undo()
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(o is not None for o in outcomes) == 1
    results = client.get(url + "/results", headers=admin).json
    assert (results["participants"], results["voided"], results["total_votes"]) == (4, 0, 4)


def test_voiding_a_whole_hour_leaves_the_timeseries_a_rebuild_gives(client: Any, make_poll: Any,
                                                                     admin: dict[str, str], clock: Any,
                                                                     voter_token: Any) -> None:
    poll = make_poll(results_visibility="always")
    since = clock.current.isoformat()
    for n in range(1, 4):
        assert post_vote(client, poll, token=voter_token(), ip=f"192.0.2.{n}").status_code == 201
    clock.advance(hours=2)
    assert post_vote(client, poll, token=voter_token(), ip="198.51.100.9").status_code == 201
    url = f"/api/v1/polls/{poll['id']}"
    label = network_label(network_hash(TEST_SECRET, "192.0.2.1"))
    assert client.post(url + "/voids", headers=admin, json={"network": label, "from": since}).status_code == 201
    live = client.get(url + "/results/timeseries", headers=admin).json
    assert [b["participants"] for b in live["buckets"]] == [1]  # the voided hours took no counted vote
    assert client.application.extensions["pollsvc"].store.rebuild_counts([poll["id"]]) == 1
    assert client.get(url + "/results/timeseries", headers=admin).json == live


def test_bad_void_requests(client: Any, voted: dict[str, Any], admin: dict[str, str], reporter_key: str) -> None:
    url = f"/api/v1/polls/{voted['id']}/voids"
    label = network_label(network_hash(TEST_SECRET, "192.0.2.1"))
    for body in ({}, {"burst": "x", "network": label, "from": voted["since"]}, {"network": label},
                 {"network": "nothex", "from": voted["since"]}, {"burst": "nope-1"},
                 {"network": "0" * 12, "from": voted["since"]},
                 {"network": label, "from": voted["since"], "to": "2001-01-01T00:00:00Z"}):
        assert_error(client.post(url, json=body, headers=admin), 422, "validation_error")
    reporter = {"Authorization": f"Bearer {reporter_key}"}
    assert_error(client.post(url, json={"network": label, "from": voted["since"]}, headers=reporter), 403, "forbidden")
    assert client.get(url, headers=reporter).status_code == 200
    assert client.get(f"/api/v1/polls/{voted['id']}/integrity", headers=reporter).status_code == 200
    assert_error(client.get("/api/v1/polls/999999/integrity", headers=admin), 404, "not_found")
    assert_error(client.get(f"/api/v1/polls/{voted['id']}/integrity"), 401, "unauthorized")



def test_a_slowed_attacker_stays_in_his_burst_and_is_voided_again(client: Any, make_poll: Any,
                                                                   admin: dict[str, str], clock: Any) -> None:
    """The proof of work slows a run down to a trickle; the trickle is still the same burst, and
    after a void his next ballots extend it, so the same burst id voids them too."""
    poll = make_poll(results_visibility="always")
    url = f"/api/v1/polls/{poll['id']}"
    attacker = network_label(network_hash(TEST_SECRET, "203.0.113.1"))
    n = 0

    def attack(ballots: int) -> None:
        nonlocal n
        for _ in range(ballots):
            n += 1
            ip = f"203.0.113.{n}"  # mints its token there and votes with it at once
            token = client.post("/api/v1/voters", environ_base={"REMOTE_ADDR": ip}).json["voter_token"]
            assert post_vote(client, poll, token=token, ip=ip).status_code == 201

    def burst() -> dict[str, Any]:
        report = client.get(url + "/integrity", headers=admin).json
        [found] = [b for b in report["bursts"] if b["network"] == attacker]
        return found

    reader = client.post("/api/v1/voters", environ_base={"REMOTE_ADDR": "198.51.100.7"}).json["voter_token"]
    assert post_vote(client, poll, token=reader, ip="198.51.100.7").status_code == 201
    attack(BURST_MIN + 4)
    for trickle in (3, 0, 0, 1, 2):  # slower and slower, with a pause
        clock.advance(minutes=1)
        attack(trickle)
    first = burst()
    assert first["ballots"] == BURST_MIN + 10 and first["verdict"] == "stuffing"
    assert client.post(url + "/voids", json={"burst": first["id"]}, headers=admin).status_code == 201
    clock.advance(minutes=2)
    attack(2)
    again = burst()
    assert again["id"] == first["id"] and again["ballots"] == 2
    assert client.post(url + "/voids", json={"burst": again["id"]}, headers=admin).status_code == 201
    results = client.get(url + "/results", headers=admin).json
    assert (results["participants"], results["voided"]) == (1, BURST_MIN + 12)


def test_a_run_that_starts_late_in_a_minute_is_flagged_whole(client: Any, make_poll: Any,
                                                              admin: dict[str, str], clock: Any) -> None:
    """A run that begins at 12:00:55 leaves fewer than ``BURST_MIN`` ballots in its first minute;
    they are still the run's, so voiding the burst leaves only the reader's ballot."""
    clock.current = clock.current.replace(second=55)
    poll = make_poll(results_visibility="always")
    url = f"/api/v1/polls/{poll['id']}"
    attacker = network_label(network_hash(TEST_SECRET, "203.0.113.1"))
    reader = client.post("/api/v1/voters", environ_base={"REMOTE_ADDR": "198.51.100.7"}).json["voter_token"]
    assert post_vote(client, poll, token=reader, ip="198.51.100.7").status_code == 201
    for n in range(1, 3 * BURST_MIN):
        if n == BURST_MIN // 2:
            clock.advance(seconds=10)  # into the next minute
        ip = f"203.0.113.{n}"
        token = client.post("/api/v1/voters", environ_base={"REMOTE_ADDR": ip}).json["voter_token"]
        assert post_vote(client, poll, token=token, ip=ip).status_code == 201
    report = client.get(url + "/integrity", headers=admin).json
    [burst] = [b for b in report["bursts"] if b["network"] == attacker]
    assert burst["ballots"] == 3 * BURST_MIN - 1 and burst["verdict"] == "stuffing"
    assert burst["start"] == report["minutes"][0]["start"]
    assert client.post(url + "/voids", json={"burst": burst["id"]}, headers=admin).status_code == 201
    results = client.get(url + "/results", headers=admin).json
    assert (results["participants"], results["voided"]) == (1, 3 * BURST_MIN - 1)


def test_a_run_takes_in_one_minute_before_it_at_most(client: Any, make_poll: Any, admin: dict[str, str],
                                                      clock: Any) -> None:
    """An office /24 whose readers voted one a minute for three minutes, then a run of ten: the
    run holds the minute just before it, not the office's earlier readers."""
    poll = make_poll(results_visibility="always")
    network = network_label(network_hash(TEST_SECRET, "203.0.113.1"))
    n = 0
    for ballots in (1, 1, 1, BURST_MIN + 2):
        clock.advance(minutes=1)
        for _ in range(ballots):
            n += 1
            token = client.post("/api/v1/voters", environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}).json
            assert post_vote(client, poll, token=token["voter_token"], ip=f"203.0.113.{n}").status_code == 201
    report = client.get(f"/api/v1/polls/{poll['id']}/integrity", headers=admin).json
    [burst] = [b for b in report["bursts"] if b["network"] == network]
    assert burst["ballots"] == BURST_MIN + 3 and burst["start"] == report["minutes"][2]["start"]


def test_metrics_count_votes_per_poll_and_bursts(client: Any, make_poll: Any, voter_token: Any) -> None:
    def sample(name: str, **labels: str) -> float:
        for family in REGISTRY.collect():
            for metric in family.samples:
                if metric.name == name and all(metric.labels.get(k) == v for k, v in labels.items()):
                    return float(metric.value)
        return 0.0

    poll = make_poll()
    votes = sample("pollsvc_poll_votes_total", poll_id=str(poll["id"]))
    bursts = sample("pollsvc_integrity_bursts_total")
    for i in range(BURST_MIN + 2):
        assert post_vote(client, poll, token=voter_token(), ip=f"203.0.113.{i + 1}").status_code == 201
    assert sample("pollsvc_poll_votes_total", poll_id=str(poll["id"])) - votes == BURST_MIN + 2
    assert sample("pollsvc_integrity_bursts_total") - bursts == 1  # once per network and minute
