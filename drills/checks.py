"""The drills. Each runs under load through the balancer, injects its fault, and checks what the
readers saw against the ballots in the primary."""

from __future__ import annotations

import re
import signal
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from drills.client import Api, random_ip
from drills.load import Tally, VoteLoad
from drills.reporter import Reporter
from drills.topology import VOTE_LIMIT, Instance, Topology, wait_for_balancer
from pollsvc.redisbackoff import REDIS_RETRY_SECONDS


@dataclass
class Row:
    drill: str
    must_hold: str
    observed: str
    ok: bool


@dataclass
class Lags:
    """Replica lag seen along the drills: the API's header, and the primary's ``replay_lag``."""

    header: list[float] = field(default_factory=list)
    replay: list[float] = field(default_factory=list)


def ballots(top: Topology, poll: dict[str, Any]) -> int:
    rows = top.primary.query(f"SELECT count(*) FROM ballots WHERE poll_id = {int(poll['id'])} AND void_id IS NULL")
    return int(rows[0][0])  # type: ignore[call-overload]


def participants(top: Topology, poll: dict[str, Any]) -> int:
    rows = top.primary.query("SELECT coalesce(sum(participants), 0) FROM poll_counter_shards "
                             f"WHERE poll_id = {int(poll['id'])}")
    return int(rows[0][0])  # type: ignore[call-overload]


def votes_per_instance(top: Topology, poll: dict[str, Any]) -> list[int]:
    pattern = re.compile(rf'"POST /api/v1/polls/{int(poll["id"])}/votes ')
    return [len(pattern.findall(i.log.read_text(errors="replace"))) for i in top.instances]


def api(top: Topology) -> Api:
    assert top.api is not None
    return top.api


def sample_replay_lag(top: Topology, lags: Lags, stop: threading.Event) -> None:
    from drills.postgres import replay_lag

    while not stop.wait(0.25):
        try:
            lag = replay_lag(top.primary)
        except Exception:  # the primary is busy or the replica gone: no sample
            continue
        if lag is not None:
            lags.replay.append(lag)


def counted_once(top: Topology, poll: dict[str, Any], tally: Tally) -> tuple[bool, str]:
    stored, counted = ballots(top, poll), participants(top, poll)
    ok = stored == counted == tally.acknowledged and not tally.given_up and not tally.refused
    retried = f" ({tally.first_try_409} by a 409 on the service's own retry)" if tally.first_try_409 else ""
    odd = f"; gave up on {tally.given_up}" if tally.given_up else ""
    odd += f"; refused {dict(tally.refused)}" if tally.refused else ""
    return ok, f"acknowledged {tally.acknowledged}{retried}, ballots {stored}, counted {counted}{odd}"


# ---- the drills ----


def race(top: Topology, lags: Lags) -> Row:
    """40 requests with one voter token, released together, spread over the instances."""
    poll = api(top).create_poll()
    token = api(top).token()
    barrier = threading.Barrier(40)
    answers: list[int] = []

    def vote() -> None:
        barrier.wait()
        answers.append(api(top).vote(poll, token).status)

    threads = [threading.Thread(target=vote) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    spread = votes_per_instance(top, poll)
    created, refused, stored = answers.count(201), answers.count(409), ballots(top, poll)
    ok = created == 1 and refused == 39 and stored == 1 and all(spread)
    return Row("one voter token raced over 3 instances (40 requests)", "exactly one 201",
               f"201: {created}, 409: {refused}, ballots {stored}; per instance {spread}", ok)


def shared_limit(top: Topology, lags: Lags, label: str = "3 instances share per-IP limits") -> Row:
    """One client address, 3x the vote limit, each request with a forged X-Forwarded-For: the
    limit holds once for all instances; an ``ip`` poll takes one ballot from it."""
    poll = api(top).create_poll(dedup="ip")
    source = random_ip()
    statuses: list[int] = []
    lock = threading.Lock()

    def send(n: int) -> None:
        for _ in range(n):
            answer = api(top).vote(poll, None, source, {"X-Forwarded-For": random_ip()})
            with lock:
                statuses.append(answer.status)

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(VOTE_LIMIT // 2,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    took = time.monotonic() - started
    passed = [s for s in statuses if s != 429]
    spread = votes_per_instance(top, poll)
    ok = (len(passed) == VOTE_LIMIT and passed.count(201) == 1 and set(passed) <= {201, 409}
          and ballots(top, poll) == 1 and all(spread) and took < 60)
    return Row(f"{label} (limit {VOTE_LIMIT}/minute)", "the limit is global, within one window",
               f"{len(statuses)} requests in {took:.1f} s: {len(passed)} let through (201: {passed.count(201)}, "
               f"409: {passed.count(409)}), 429: {statuses.count(429)}; per instance {spread}", ok)


def instance_killed(top: Topology, lags: Lags) -> Row:
    poll = api(top).create_poll()
    load = VoteLoad(api(top), poll).start()
    reporter = Reporter(api(top), poll).start()
    time.sleep(3)
    victim = top.instances[1]
    victim.proc.send(signal.SIGKILL)
    killed_at = time.monotonic() - load.started
    victim.proc.wait(10)
    time.sleep(5)
    tally = load.stop()
    reads = reporter.stop()
    lags.header += reads.lags
    ok, counts = counted_once(top, poll, tally)
    after = [s for t, s in tally.timeline if t > killed_at + 2]
    failed_after = sum(1 for s in after if s != 201)
    ok = ok and failed_after == 0 and tally.five_hundreds() == 0 and len(after) > 0
    observed = (f"{counts}; in flight at the kill: {tally.count(0, 502, 503, 504)} without a final answer, retried; "
                f"from 2 s after it: {len(after)} votes, {failed_after} failed")
    restart(top, victim)
    return Row("one instance SIGKILLed", "routed around; every acknowledged ballot counted once", observed, ok)


def restart(top: Topology, instance: Instance) -> None:
    instance.start()
    wait_for_balancer(top, len(top.instances))


def redis_master_killed(top: Topology, lags: Lags) -> Row:
    poll = api(top).create_poll()
    load = VoteLoad(api(top), poll).start()
    time.sleep(2)
    victim = top.redis.masters()[0]
    victim.proc.kill()
    killed = time.monotonic()
    top.redis.wait_failover(masters=3)
    failover = time.monotonic() - killed
    time.sleep(3)
    tally = load.stop()
    victim.start()  # back as a replica of the promoted one
    top.redis.wait_healthy(30)
    recovered = time.monotonic()
    ok, counts = counted_once(top, poll, tally)
    fell_back = sum(log_mentions(i, "Redis unavailable") for i in top.instances)
    causes = sorted({m for i in top.instances for m in re.findall(r"Redis unavailable \((\w+)\)", i.log.read_text())})
    errors = sum(n for status, n in tally.statuses.items() if status >= 500 or status == 0)
    side_errors = {k: n for k, n in tally.side_calls.items() if not k.endswith((" 200", " 202", " 204"))}
    limit = shared_limit(top, lags, "after the failover")
    for _ in range(3):  # a worker that failed last keeps to memory for REDIS_RETRY_SECONDS
        if limit.ok:
            break
        time.sleep(REDIS_RETRY_SECONDS / 2)
        limit = shared_limit(top, lags, "after the failover")
    back_after = time.monotonic() - recovered
    ok = ok and errors == 0 and not side_errors and fell_back > 0 and limit.ok
    return Row("one Redis Cluster master killed", "votes go on; limits fall back and come back; no 5xx",
               f"{counts}; 5xx or no answer: {errors}; failover in {failover:.1f} s; fallback logged by "
               f"{fell_back} worker(s) {causes}; challenges/views: {dict(tally.side_calls)}; the per-IP limit is "
               f"{f'global again {back_after:.1f} s after' if limit.ok else 'NOT global: ' + limit.observed}", ok)


def log_mentions(instance: Instance, text: str) -> int:
    return instance.log.read_text(errors="replace").count(text)


def pgbouncer_restarted(top: Topology, lags: Lags) -> Row:
    poll = api(top).create_poll()
    load = VoteLoad(api(top), poll).start()
    time.sleep(2)
    stopped_at = time.monotonic() - load.started
    top.bouncer.stop()
    time.sleep(3)
    top.bouncer.start()
    back_at = time.monotonic() - load.started
    time.sleep(6)
    tally = load.stop()
    ok, counts = counted_once(top, poll, tally)
    unavailable = [t for t, s in tally.timeline if s == 503]
    first_201_after = min((t for t, s in tally.timeline if s == 201 and t > back_at), default=None)
    json_503 = tally.errors.get("unavailable", 0)
    ok = (ok and tally.five_hundreds() == 0 and json_503 == len(unavailable) and first_201_after is not None
          and first_201_after - back_at < 5)
    span = f"{min(unavailable) - stopped_at:.1f}-{max(unavailable) - stopped_at:.1f} s" if unavailable else "none"
    recovered = "never" if first_201_after is None else f"{first_201_after - back_at:.1f} s after it was back"
    return Row("PgBouncer restarted (down 3 s)", "clear 503s for seconds, then recovery, no pollsvc restart",
               f"{counts}; 503 unavailable (JSON, Retry-After): {len(unavailable)}, within {span} of the stop; "
               f"500: {tally.five_hundreds()}; first 201 {recovered}", ok)


def replica_stopped(top: Topology, lags: Lags) -> Row:
    poll = api(top).create_poll()
    load = VoteLoad(api(top), poll, side_calls=False).start()
    reporter = Reporter(api(top), poll).start()
    time.sleep(3)
    stopped_at = time.monotonic() - reporter.started
    top.replica.stop("fast")
    time.sleep(4)
    top.replica.start()
    back_at = time.monotonic() - reporter.started
    wait_for_replica_reads(reporter, back_at)
    time.sleep(1)
    tally = load.stop()
    reads = reporter.stop()
    lags.header += reads.lags
    ok, counts = counted_once(top, poll, tally)
    during = [(s, lag) for t, s, lag in reads.timeline if stopped_at + 0.5 < t < back_at]
    on_primary = sum(1 for s, lag in during if s == 200 and lag is None)
    bad_reads = sum(1 for s, _ in during if s not in (200, 503))
    back = [t for t, s, lag in reads.timeline if t > back_at and lag is not None]
    ok = (ok and tally.statuses.keys() <= {201} and bad_reads == 0 and on_primary == len(during) > 0 and bool(back))
    return Row("the replica stopped (4 s)", "reports fall back to the primary; votes unaffected",
               f"{counts}; vote answers {dict(tally.statuses)}; reads while it was down: {len(during)}, "
               f"{on_primary} from the primary; back on the replica "
               f"{(min(back) - back_at) if back else float('nan'):.1f} s after its restart", ok)


def wait_for_replica_reads(reporter: Reporter, since: float, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(t > since and lag is not None for t, _, lag in list(reporter.reads.timeline)):
            return
        time.sleep(0.2)


DRILLS = (race, shared_limit, instance_killed, redis_master_killed, pgbouncer_restarted, replica_stopped)


def lag_summary(lags: Lags) -> str:
    def describe(values: list[float]) -> str:
        if not values:
            return "no samples"
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return (f"median {statistics.median(ordered) * 1000:.0f} ms, 95th {p95 * 1000:.0f} ms, "
                f"max {ordered[-1] * 1000:.0f} ms ({len(ordered)} samples)")

    return f"X-Replica-Lag: {describe(lags.header)}; replay_lag on the primary: {describe(lags.replay)}"


__all__ = ["DRILLS", "Lags", "Row", "lag_summary", "sample_replay_lag"]
