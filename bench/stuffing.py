"""Ballot stuffing, tried as an attacker would, against `pollsvc serve` with its defaults.

    python -m bench.stuffing [--minutes 4] [--addresses 8]

- A script without a browser asks for a voter token with no proof of work: refused.
- The same script with the `altcha` library's solver, in one process (one core), mints tokens
  and votes from ``--addresses`` addresses of one quiet /24 (127.77.1.x), within the default rate
  limits: accepted ballots per minute, and the cost of its challenges, minute by minute.
- Meanwhile a reader on another quiet network (127.88.x.1, a new /24 each time) asks for a
  challenge every 15 s and votes; and a carrier's NAT (127.90.1.x: many readers behind one /24,
  40 challenges a minute, steadily, also for the hour before the run, seeded into the ledger)
  asks for challenges: the cost each sees, in multiples of the base cost.
- At the end: the integrity report (every attacking ballot flagged?), the bursts voided, and the
  counts checked against the legitimate ballots.

Needs PostgreSQL and Redis as `python -m bench` does (database `pollsvc_bench`, Redis db 14).
Loopback addresses stand for the networks (no proxy is trusted, so the service sees them).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import altcha
import redis
import requests

from bench.servers import REDIS_URL, SECRET, admin_key, drop_database, flush_redis, pollsvc_serve, recreate_database
from bench.servers import service_env as bench_env
from pollsvc.identity import network_hash, network_label
from pollsvc.services.botcheck import expected_work
from pollsvc.testing import LoopbackVoter

BASE_COST = 10_000  # pollsvc's default
CARRIER_RATE = 40  # challenges a minute


def service_env(instance: Path) -> dict[str, str]:
    env = bench_env(instance, postgres=True)
    for name in ("POLLSVC_BOT_CHECK", "POLLSVC_RATE_LIMIT_VOTE", "POLLSVC_RATE_LIMIT_VOTERS",
                 "POLLSVC_RATE_LIMIT_PUBLIC_READ", "POLLSVC_RATE_LIMIT_AUTH_FAILURES"):
        env.pop(name, None)  # the defaults: proof of work on, 10 tokens and 30 votes a minute per IP
    return env


def factor(challenge: dict[str, Any]) -> float:
    return expected_work(challenge) / (256 * BASE_COST)


def attack(port: int, poll: dict[str, Any], addresses: int, seconds: float, out: Any) -> None:
    """One process: mint a token (solving its challenge) and vote with it, address after address."""
    started, n = time.monotonic(), 0
    while time.monotonic() - started < seconds:
        voter = LoopbackVoter(port, f"127.77.1.{1 + n % addresses}")
        n += 1
        status, challenge = voter.call("GET", "/api/v1/voters/challenge")
        if status != 200:
            out.put(("refused", time.monotonic() - started, status))
            time.sleep(1)
            continue
        solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge), timeout=seconds)
        if solution is None:
            break
        payload = altcha.Payload(altcha.Challenge.from_dict(challenge), solution).to_base64()
        status, minted = voter.call("POST", "/api/v1/voters", {"altcha": payload})
        if status != 201:
            out.put(("refused", time.monotonic() - started, status))
            continue
        status, _ = voter.call("POST", f"/api/v1/polls/{poll['id']}/votes",
                               {"option_ids": [poll["options"][2]["id"]]}, {"X-Voter-Token": minted["voter_token"]})
        out.put(("ballot" if status == 201 else "refused", time.monotonic() - started, factor(challenge)))


def seed_carrier_history(label: str) -> None:
    """The carrier's NAT has asked for 40 challenges a minute for the last 70 minutes (and so the
    whole service too)."""
    client = redis.Redis.from_url(REDIS_URL)
    minute = int(time.time() // 60)
    for m in range(minute - 70, minute):
        for name in (label, "*"):
            client.set(f"pollsvc:pow:{{{name}}}:{m}", CARRIER_RATE, ex=80 * 60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=4)
    parser.add_argument("--addresses", type=int, default=8)
    opts = parser.parse_args()
    seconds = opts.minutes * 60
    work = Path(tempfile.mkdtemp(prefix="pollsvc-stuffing-"))
    recreate_database()
    flush_redis()
    env = service_env(work / "instance")
    seed_carrier_history(network_label(network_hash(SECRET, "127.90.1.1")))
    server = pollsvc_serve("pollsvc", env, work, None, 4)
    try:
        key = {"Authorization": f"Bearer {admin_key(env)}"}
        poll = requests.post(server.url + "/api/v1/polls", headers=key, timeout=10, json={
            "article_id": "stuffing", "question": "Who should win?", "results_visibility": "always",
            "options": [{"label": "A"}, {"label": "B"}, {"label": "C"}]}).json()
        port = int(server.url.rsplit(":", 1)[1])
        bare = requests.post(server.url + "/api/v1/voters", timeout=10)
        print(f"a token without a proof of work: {bare.status_code} {bare.json()['error']}")

        results: Any = multiprocessing.Queue()
        attacker = multiprocessing.Process(target=attack, args=(port, poll, opts.addresses, seconds, results))
        observations: dict[str, list[tuple[float, float]]] = {"reader": [], "carrier": []}
        legit = [0]
        begun = time.monotonic()
        attacker.start()

        def challenge_cost(address: str) -> tuple[int, float]:
            """Ask for a challenge from ``address``: the status, and its cost in multiples of the base."""
            voter = LoopbackVoter(port, address)
            status, challenge = voter.call("GET", "/api/v1/voters/challenge")
            voter.connection.close()
            return status, factor(challenge) if status == 200 else 0.0

        def reader() -> None:
            n = 0
            while time.monotonic() - begun < seconds:
                _, cost = challenge_cost(f"127.88.{n % 250 + 1}.1")
                observations["reader"].append((time.monotonic() - begun, cost))
                if LoopbackVoter(port, f"127.88.{n % 250 + 1}.2").vote(poll, 0) == 201:
                    legit[0] += 1
                n += 1
                time.sleep(15)

        def carrier() -> None:
            n = 0
            while time.monotonic() - begun < seconds:
                status, cost = challenge_cost(f"127.90.1.{n % 250 + 1}")
                if status == 200:
                    observations["carrier"].append((time.monotonic() - begun, cost))
                n += 1
                time.sleep(60 / CARRIER_RATE)

        watchers = [threading.Thread(target=reader), threading.Thread(target=carrier)]
        for thread in watchers:
            thread.start()
        attacker.join(seconds + 120)
        for thread in watchers:
            thread.join()
        events = []
        while not results.empty():
            events.append(results.get())
        print("\n| minute | attacker ballots accepted | attacker challenge cost (x base) | quiet reader cost | "
              "carrier NAT cost (median, max) |\n| ---: | ---: | ---: | ---: | ---: |")
        per_minute = []
        for minute in range(int(opts.minutes)):
            ballots = [e for e in events if e[0] == "ballot" and minute * 60 <= e[1] < (minute + 1) * 60]
            costs = [e[2] for e in ballots]
            cost_range = f"{min(costs):.1f}-{max(costs):.1f}" if costs else "-"  # the cost of the ballots accepted
            readers = [f for at, f in observations["reader"] if minute * 60 <= at < (minute + 1) * 60] or [0]
            carriers = [f for at, f in observations["carrier"] if minute * 60 <= at < (minute + 1) * 60] or [0]
            per_minute.append(len(ballots))
            print(f"| {minute + 1} | {len(ballots)} | {cost_range} | {max(readers):.1f} | "
                  f"{statistics.median(carriers):.1f}, {max(carriers):.1f} |")
        refused = [e for e in events if e[0] == "refused"]
        print(f"\nattacker refusals: {len(refused)} ({sorted({e[2] for e in refused})})")
        if len(per_minute) >= 3:
            slowdown = f"{per_minute[0] / per_minute[2]:.1f}x" if per_minute[2] else f"at least {per_minute[0]}x"
            print(f"slowdown, first minute / third: {slowdown}")
        report = requests.get(f"{server.url}/api/v1/polls/{poll['id']}/integrity", headers=key, timeout=30).json()
        attacker_label = network_label(network_hash(SECRET, "127.77.1.1"))
        stuffing = [b for b in report["bursts"] if b["network"] == attacker_label and b["verdict"] == "stuffing"]
        attack_ballots = len([e for e in events if e[0] == "ballot"])
        print(f"integrity report: {report['ballots']} ballots, {report['flagged_ballots']} flagged; attacker's "
              f"ballots {attack_ballots}, in stuffing bursts {sum(b['ballots'] for b in stuffing)}; bursts "
              f"{[(b['network'], b['ballots'], b['verdict']) for b in report['bursts']]}")
        for burst in stuffing:
            requests.post(f"{server.url}/api/v1/polls/{poll['id']}/voids", json={"burst": burst["id"]}, headers=key,
                          timeout=30).raise_for_status()
        after = requests.get(f"{server.url}/api/v1/polls/{poll['id']}/results", headers=key, timeout=10).json()
        print(f"after voiding the bursts: participants {after['participants']} (legitimate ballots {legit[0]}), "
              f"voided {after['voided']}")
        return 0 if after["participants"] == legit[0] else 1
    finally:
        server.stop()
        drop_database()


if __name__ == "__main__":
    sys.exit(main())
