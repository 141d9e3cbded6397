"""Scenarios (one wrk load on one URL), their interleaved measuring, and the polls and voters
they need.

A read scenario is ``wrk`` on a URL (with headers); a vote scenario is ``wrk`` with
``bench/vote.lua``, a file of target (poll, option) lines, and a fresh file of voter tokens for
every run, so every token votes once and every vote should be a 201.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.servers import SECRET
from bench.wrkrun import Summary, WrkRun, run_wrk
from pollsvc.identity import issue_voter_token

VOTE_SCRIPT = Path(__file__).with_name("vote.lua")
VIEW_SCRIPT = Path(__file__).with_name("view.lua")
SPREAD_POLLS = 20
HOT_ARTICLE = "bench-hot"

# scenario keys, used by the summary of goals
BARE_GUNICORN = "bare-gunicorn"
BARE_GRANIAN = "bare-granian"
HEALTHZ = "healthz"
WIDGET = "widget"
WIDGET_RECEIPT = "widget-receipt"
WIDGET_TOKEN = "widget-token"
POLL = "poll"
VIEW = "view"
RESULTS = "results"
VOTE_HOT = "vote-hot"
VOTE_SPREAD = "vote-spread"
GUNICORN_PREFIX = "gunicorn-"
WIDGET_SMALL, WIDGET_BIG = "widget-small", "widget-big"
RESULTS_SMALL, RESULTS_BIG = "results-small", "results-big"
SQLITE_WIDGET, SQLITE_VOTE = "sqlite-widget", "sqlite-vote-hot"


@dataclass(frozen=True)
class Load:
    duration: float  # seconds per run
    connections: int
    reps: int
    warmup: float  # seconds of one unrecorded run of each scenario first (0: none)


class VoteFiles:
    """A fresh token file for every vote run, so every token votes once."""

    def __init__(self, work: Path, per_run: int) -> None:
        self.work, self.per_run, self.made = work, per_run, 0
        self.last: Path | None = None

    def next(self) -> Path:
        """A new file; the previous one (its run is over) is deleted."""
        if self.last is not None:
            self.last.unlink(missing_ok=True)
        self.made += 1
        path = self.last = self.work / f"tokens-{self.made}.txt"
        now = time.time()
        path.write_text("\n".join(issue_voter_token(SECRET, now) for _ in range(self.per_run)) + "\n")
        return path


@dataclass
class Scenario:
    key: str
    name: str
    url: str
    headers: dict[str, str] | None = None
    targets: Path | None = None  # a vote scenario: vote.lua over these (poll, option) lines
    tokens: VoteFiles | None = None
    script_args: list[str] | None = None  # a view scenario: view.lua with this body
    runs: list[WrkRun] = field(default_factory=list)
    warmups: list[WrkRun] = field(default_factory=list)

    @property
    def votes(self) -> bool:
        return self.targets is not None

    @property
    def summary(self) -> Summary:
        return Summary(self.runs)

    def run(self, seconds: float, connections: int) -> WrkRun:
        if self.script_args is not None:
            return run_wrk(self.url, duration=seconds, connections=connections, script=VIEW_SCRIPT,
                           script_args=self.script_args)
        if self.targets is None or self.tokens is None:
            return run_wrk(self.url, duration=seconds, connections=connections, headers=self.headers)
        return run_wrk(self.url, duration=seconds, connections=connections, script=VOTE_SCRIPT,
                       script_args=[str(self.tokens.next()), str(self.targets)])


def measure(label: str, scenarios: list[Scenario], load: Load) -> None:
    """A warm-up run of each, then repetitions interleaved (A B C ... A B C), so that a noisy
    moment of the machine does not hit one scenario only."""
    print(f"== {label}", file=sys.stderr, flush=True)
    if load.warmup > 0:
        for scenario in scenarios:
            scenario.warmups.append(scenario.run(load.warmup, load.connections))
    for rep in range(load.reps):
        for scenario in scenarios:
            scenario.runs.append(scenario.run(load.duration, load.connections))
            s = scenario.runs[-1]
            print(f"  [{rep + 1}/{load.reps}] {scenario.name}: {s.requests_per_s:,.0f} req/s, "
                  f"p50 {s.p50_ms:.2f} ms, p99 {s.p99_ms:.2f} ms", file=sys.stderr, flush=True)


# ---- the polls and voters ----


@dataclass(frozen=True)
class Voter:
    """A reader who voted through the API: their token and the receipt of their vote."""

    token: str
    receipt: str
    poll_id: int


@dataclass(frozen=True)
class Client:
    """A pollsvc server and its admin key."""

    url: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def create_poll(self, article: str, *, options: int = 3, visibility: str = "always") -> dict[str, Any]:
        body: dict[str, Any] = {
            "article_id": article, "question": f"Bench poll of {article}?", "results_visibility": visibility,
            "options": [{"label": f"Option {i + 1}"} for i in range(options)]}
        response = requests.post(self.url + "/api/v1/polls", json=body, headers=self.auth, timeout=10)
        response.raise_for_status()
        poll: dict[str, Any] = response.json()
        return poll

    def vote_with_receipt(self, poll: dict[str, Any]) -> Voter:
        """What the widget does: a voter token, a vote with it, the 201's receipt."""
        answer = requests.post(self.url + "/api/v1/voters", timeout=10)
        if answer.status_code != 201:
            raise RuntimeError(f"POST /api/v1/voters answered {answer.status_code}: {answer.text[:300]}")
        token = answer.json()["voter_token"]
        answer = requests.post(f"{self.url}/api/v1/polls/{poll['id']}/votes", timeout=10,
                               json={"option_ids": [poll["options"][0]["id"]]}, headers={"X-Voter-Token": token})
        if answer.status_code != 201 or not answer.json().get("receipt"):
            raise RuntimeError(f"the vote answered {answer.status_code} without a receipt: {answer.text[:300]}")
        return Voter(token, answer.json()["receipt"], poll["id"])


def write_targets(path: Path, polls: list[dict[str, Any]]) -> Path:
    """One line per (poll, option), polls interleaved, so consecutive votes go to different polls."""
    lines = [f"{poll['id']} {poll['options'][i % len(poll['options'])]['id']}"
             for i in range(6) for poll in polls]
    path.write_text("\n".join(lines) + "\n")
    return path


def widget_url(base: str, article: str = HOT_ARTICLE) -> str:
    return f"{base}/api/v1/articles/{article}/polls"


# ---- the groups ----


def baselines(bare_gunicorn: str, bare_granian: str) -> list[Scenario]:
    """bare_app's jsonify route, which every ratio is to."""
    return [Scenario(BARE_GUNICORN, "bare Flask, gunicorn sync (jsonify)", widget_url(bare_gunicorn)),
            Scenario(BARE_GRANIAN, "bare Flask, Granian as serve (jsonify)", widget_url(bare_granian))]


def pollsvc_scenarios(client: Client, hot: dict[str, Any], voter: Voter, hot_targets: Path,
                      spread_targets: Path, tokens: VoteFiles) -> list[Scenario]:
    base, widget = client.url, widget_url(client.url)
    return [
        Scenario(HEALTHZ, "/healthz", base + "/healthz"),
        Scenario(WIDGET, "widget read, no identity", widget),
        Scenario(WIDGET_RECEIPT, "widget read for a voter (X-Poll-Receipt)", widget,
                 {"X-Poll-Receipt": voter.receipt}),
        Scenario(WIDGET_TOKEN, "API client read with a voter token (has_voted looked up)", widget,
                 {"X-Voter-Token": voter.token}),
        Scenario(POLL, "poll read", f"{base}/api/v1/polls/{hot['id']}"),
        # one reader's views of one poll: after the first, each is deduplicated (the same script
        # step as a counted view: one Redis round trip)
        Scenario(VIEW, "view beacon (POST /api/v1/views)", base, script_args=[f'{{"polls":[{hot["id"]}]}}']),
        Scenario(RESULTS, "results (admin key)", f"{base}/api/v1/polls/{hot['id']}/results", client.auth),
        Scenario(VOTE_HOT, "vote, one hot poll", base, targets=hot_targets, tokens=tokens),
        Scenario(VOTE_SPREAD, f"vote, spread over {SPREAD_POLLS} polls", base, targets=spread_targets,
                 tokens=tokens),
    ]


def gunicorn_scenarios(base: str, hot_targets: Path, tokens: VoteFiles) -> list[Scenario]:
    """The pollsvc app on gunicorn gthread: the counterparts of HEALTHZ, WIDGET and VOTE_HOT."""
    return [
        Scenario(GUNICORN_PREFIX + HEALTHZ, "gunicorn: /healthz", base + "/healthz"),
        Scenario(GUNICORN_PREFIX + WIDGET, "gunicorn: widget read, no identity", widget_url(base)),
        Scenario(GUNICORN_PREFIX + VOTE_HOT, "gunicorn: vote, one hot poll", base, targets=hot_targets,
                 tokens=tokens),
    ]


def big_scenarios(client: Client, small: dict[str, Any], big: dict[str, Any], n_small: int,
                  n_big: int) -> list[Scenario]:
    base = client.url
    return [
        Scenario(WIDGET_SMALL, f"widget read, {n_small:,} ballots", widget_url(base, small["article_id"])),
        Scenario(WIDGET_BIG, f"widget read, {n_big:,} ballots", widget_url(base, big["article_id"])),
        Scenario(RESULTS_SMALL, f"results, {n_small:,} ballots", f"{base}/api/v1/polls/{small['id']}/results",
                 client.auth),
        Scenario(RESULTS_BIG, f"results, {n_big:,} ballots", f"{base}/api/v1/polls/{big['id']}/results",
                 client.auth),
    ]


def sqlite_scenarios(base: str, hot_targets: Path, tokens: VoteFiles) -> list[Scenario]:
    return [Scenario(SQLITE_WIDGET, "SQLite: widget read, no identity", widget_url(base)),
            Scenario(SQLITE_VOTE, "SQLite: vote, one hot poll", base, targets=hot_targets, tokens=tokens)]
