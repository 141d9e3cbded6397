"""The integrity report of a poll: where its ballots came from, and the bursts that look like stuffing.

It reads the poll's ballots per network (a keyed hash of the /24 or /48, shown by a label) and
minute, never an address.

- A **network burst** starts in a minute in which one network cast at least ``BURST_MIN``
  ballots and ``BURST_FACTOR`` times its usual rate (the voter tokens it minted per minute over
  the day before the poll's first ballot), and goes on while the network keeps casting above its
  usual rate, pausing ``PAUSE`` at most: an attacker slowed down by the proof of work stays in
  his burst. The minute just before its first is the run's too, if above the usual rate: a run
  that began late in a minute. A carrier's NAT that always sends many readers has a high usual
  rate; a quiet /24 has none.
- A **poll burst** is a minute in which the whole poll took ``BURST_FACTOR`` times its median
  minute (and at least ``POLL_BURST_MIN``): an article going viral, or a run.
- The verdict is **stuffing** when a burst's ballots came with tokens minted minutes before from
  the same network, or one network holds more ballots than ``CONCENTRATION`` typical networks,
  or one network cast over ``4 x BURST_MIN`` in a minute; a poll burst spread over many networks
  is a **surge**. A network that holds more than ``CONCENTRATION`` typical networks' ballots is
  **concentrated** even without a burst (a slow, patient run).

Ballots in stuffing bursts and in concentrated networks are **flagged**. The report decides
nothing: an admin voids (``POST .../voids``) what they judge to be stuffing.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pollsvc.identity import network_label
from pollsvc.services.readmodel import iso
from pollsvc.services.store import MinuteCount, Store

BURST_MIN = 8
BURST_FACTOR = 5
POLL_BURST_MIN = 30
CONCENTRATION = 20
CONCENTRATED_MIN = 30
FRESH_TOKEN = 600
"""Seconds: a token used within ten minutes of being minted is fresh."""
HISTORY = timedelta(days=1)
TOP = 20
MINUTE = timedelta(minutes=1)
PAUSE = timedelta(minutes=5)
"""A network's run goes on across quiet spells up to this long."""


@dataclass
class Network:
    """One network's ballots in the poll."""

    network_hash: bytes | None
    rows: list[MinuteCount] = field(default_factory=list)
    usual_per_minute: float = 0.0

    @property
    def label(self) -> str:
        return network_label(self.network_hash) if self.network_hash else "unknown"

    @property
    def ballots(self) -> int:
        return sum(r.ballots - r.voided for r in self.rows)

    @property
    def voided(self) -> int:
        return sum(r.voided for r in self.rows)

    def counted_minutes(self) -> dict[datetime, MinuteCount]:
        return {r.minute: r for r in self.rows if r.ballots > r.voided}


@dataclass
class Burst:
    start: datetime
    end: datetime
    """The minute after its last one."""
    network: Network | None = None
    """None: a burst of the whole poll."""
    ballots: int = 0
    peak: int = 0
    tokens: int = 0
    """Ballots that came with a voter token..."""
    fresh_here: int = 0
    """...and those whose token was minted minutes before, from this same network."""
    verdict: str = "surge"
    reasons: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.network.label if self.network else 'poll'}-{int(self.start.timestamp())}"


def integrity_report(store: Store, poll_id: int, now: datetime) -> dict[str, Any]:
    rows = store.ballot_minutes(poll_id)
    networks: dict[bytes | None, Network] = {}
    for row in rows:
        key = bytes(row.network_hash) if row.network_hash is not None else None
        networks.setdefault(key, Network(key)).rows.append(row)
    counted = [n for n in networks.values() if n.ballots]
    typical = statistics.median(n.ballots for n in counted) if counted else 0
    first_vote = min((r.minute for r in rows), default=now)
    _learn_usual_rates(store, counted, first_vote)

    bursts = [b for n in counted for b in _network_bursts(n, typical)] + _poll_bursts(rows, networks)
    concentrated = {n.label for n in counted
                    if len(counted) > 1 and n.ballots >= max(CONCENTRATED_MIN, CONCENTRATION * typical)}
    flagged_networks = concentrated | {b.network.label for b in bursts if b.network and b.verdict == "stuffing"}
    flagged = sum(n.ballots for n in counted if n.label in concentrated) + sum(
        b.ballots for b in bursts if b.network and b.verdict == "stuffing" and b.network.label not in concentrated)

    totals = sorted((n.ballots for n in counted), reverse=True)
    top = sorted(counted, key=lambda n: (-n.ballots, n.label))[:TOP]
    last_vote = max((r.minute for r in rows), default=now)
    minted = store.tokens_minted([n.network_hash for n in top if n.network_hash], first_vote, last_vote)
    per_minute: dict[datetime, int] = defaultdict(int)
    for row in rows:
        per_minute[row.minute] += row.ballots - row.voided
    return {
        "poll_id": poll_id,
        "ballots": sum(totals),
        "voided": sum(n.voided for n in networks.values()),
        "networks": len(counted),
        "flagged_ballots": flagged,
        "top_share": {"1": _percent(sum(totals[:1]), sum(totals)), "5": _percent(sum(totals[:5]), sum(totals))},
        "top_networks": [_network_body(n, minted, n.label in flagged_networks) for n in top],
        "bursts": [_burst_body(b) for b in sorted(bursts, key=lambda b: (b.start, b.id))],
        "minutes": [{"start": iso(m), "ballots": n} for m, n in sorted(per_minute.items()) if n],
        "generated_at": iso(now),
    }


def _learn_usual_rates(store: Store, networks: list[Network], first_vote: datetime) -> None:
    """Each network's usual rate: the tokens it minted per minute over the day before the poll."""
    candidates = [n for n in networks if n.network_hash and any(r.ballots >= BURST_MIN for r in n.rows)]
    if not candidates:
        return
    minted = store.tokens_minted([n.network_hash for n in candidates if n.network_hash],
                                 first_vote - HISTORY, first_vote - timedelta(hours=1))
    for network in candidates:
        network.usual_per_minute = minted.get(network.network_hash or b"", 0) / (HISTORY / MINUTE)


def _network_bursts(network: Network, typical: float) -> list[Burst]:
    """The network's runs: one starts in a minute at the burst threshold and goes on while the
    network keeps casting above its usual rate, across pauses of up to ``PAUSE``. A run that
    began late in a minute leaves only a few ballots in it: the minute right before a run's
    first is the run's too if it was above the usual rate. A run is found on all its ballots,
    voided ones included, so that an attacker who carries on slowly after a void extends the same
    burst (same id) and can be voided again; it reports its counted ballots."""
    if network.network_hash is None:
        return []
    usual = network.usual_per_minute
    threshold = max(BURST_MIN, BURST_FACTOR * usual)
    runs: list[list[MinuteCount]] = []
    previous: MinuteCount | None = None
    for row in sorted(network.rows, key=lambda r: r.minute):
        if runs and row.minute - runs[-1][-1].minute - MINUTE <= PAUSE and row.ballots > usual:
            runs[-1].append(row)
        elif row.ballots >= threshold:
            run = [row]
            if previous and previous.minute == row.minute - MINUTE and previous.ballots > usual:
                run.insert(0, previous)  # the run began late in that minute
            runs.append(run)
        previous = row
    return [b for b in (_run_burst(network, run, typical) for run in runs) if b.ballots]


def _run_burst(network: Network, run: list[MinuteCount], typical: float) -> Burst:
    burst = Burst(run[0].minute, run[-1].minute + MINUTE, network)
    total = 0
    for row in run:
        burst.ballots += row.ballots - row.voided
        burst.peak, total = max(burst.peak, row.ballots), total + row.ballots
        burst.tokens += row.token_ages
        if row.token_ages and row.token_age_sum / row.token_ages < FRESH_TOKEN:
            burst.fresh_here += min(row.token_ages, row.minted_here)
    if burst.tokens and burst.fresh_here >= burst.tokens / 2:
        burst.reasons.append("tokens minted minutes before from the same network")
    if total >= max(CONCENTRATED_MIN, CONCENTRATION * typical):
        burst.reasons.append(f"more ballots than {CONCENTRATION} typical networks of this poll")
    if burst.peak >= 4 * BURST_MIN:
        burst.reasons.append(f"{burst.peak} ballots in one minute from one network")
    burst.verdict = "stuffing" if burst.reasons else "surge"
    return burst


def _poll_bursts(rows: list[MinuteCount], networks: dict[bytes | None, Network]) -> list[Burst]:
    per_minute: dict[datetime, dict[bytes | None, int]] = defaultdict(dict)
    for row in rows:
        if row.ballots > row.voided:
            key = bytes(row.network_hash) if row.network_hash is not None else None
            per_minute[row.minute][key] = row.ballots - row.voided
    if len(per_minute) < 3:
        return []
    usual = statistics.median(sum(m.values()) for m in per_minute.values())
    bursts = []
    for minute, by_network in sorted(per_minute.items()):
        total = sum(by_network.values())
        if total < max(POLL_BURST_MIN, BURST_FACTOR * usual):
            continue
        leader, most = max(by_network.items(), key=lambda item: item[1])
        burst = Burst(minute, minute + MINUTE, None, total, total)
        if most > total / 2:
            burst.reasons.append(f"{_percent(most, total)}% from one network ({networks[leader].label})")
            burst.verdict = "stuffing"
        bursts.append(burst)
    return bursts


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _network_body(network: Network, minted: dict[bytes, int], flagged: bool) -> dict[str, Any]:
    counted = network.counted_minutes()
    ages = sum(r.token_ages for r in network.rows)
    return {
        "network": network.label,
        "ballots": network.ballots,
        "voided": network.voided,
        "first_vote_at": iso(min(counted)) if counted else None,
        "last_vote_at": iso(max(counted) + MINUTE) if counted else None,
        "tokens_minted": minted.get(network.network_hash or b"", 0),
        "mean_token_age_seconds": round(sum(r.token_age_sum for r in network.rows) / ages) if ages else None,
        "flagged": flagged,
    }


def _burst_body(burst: Burst) -> dict[str, Any]:
    return {
        "id": burst.id,
        "network": burst.network.label if burst.network else None,
        "start": iso(burst.start),
        "end": iso(burst.end),
        "ballots": burst.ballots,
        "peak_per_minute": burst.peak,
        "verdict": burst.verdict,
        "reasons": burst.reasons,
    }
