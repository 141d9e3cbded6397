"""Exactness checks after the measuring: what the API shows, the counter shards and the ballots
stored agree, and every 201 is one ballot. A line starting with ``FAIL`` fails the run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import bindparam, create_engine, text

from bench.scenarios import Client, Scenario, Voter

_ACCEPTED = re.compile(r'^pollsvc_votes_total\{outcome="accepted"\} (\S+)', re.M)
_SERVER_ERROR = re.compile(r'HTTP/[\d.]+" 5\d\d ')  # Granian's and gunicorn's access log lines


def accepted_votes(url: str) -> int | None:
    """The server's ``pollsvc_votes_total{outcome="accepted"}``; None unless /metrics answers 200."""
    answer = requests.get(url + "/metrics", timeout=10)
    if answer.status_code != 200:
        return None
    return sum(int(float(v)) for v in _ACCEPTED.findall(answer.text))


def ballots_in(db_url: str, poll_ids: list[int]) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            query = text("SELECT count(*) FROM ballots WHERE poll_id IN :ids").bindparams(
                bindparam("ids", expanding=True))
            return int(conn.execute(query, {"ids": poll_ids}).scalar_one())
    finally:
        engine.dispose()


def check_counts(label: str, db_url: str, client: Client, poll_ids: list[int]) -> list[str]:
    """Per poll: participants (API) == counter shards == COUNT(*) of ballots; per option: votes
    (API) == option counter shards == selections; total_votes (API) == selections."""
    problems: list[str] = []
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            for poll_id in poll_ids:
                problems += _poll_counts(conn, client, poll_id)
    finally:
        engine.dispose()
    if problems:
        return [f"FAIL {label}: {p}" for p in problems]
    return [f"{label}: participants (API) == counter shards == COUNT(*) of ballots, and option votes (API) == "
            f"option shards == selections, for {len(poll_ids)} poll(s)"]


def _poll_counts(conn: Any, client: Client, poll_id: int) -> list[str]:
    answer = requests.get(f"{client.url}/api/v1/polls/{poll_id}/results", headers=client.auth, timeout=10)
    if answer.status_code != 200:
        return [f"poll {poll_id}: results answered {answer.status_code}"]
    api = answer.json()
    params = {"p": poll_id}
    ballots = conn.execute(text("SELECT count(*) FROM ballots WHERE poll_id = :p"), params).scalar_one()
    shards = conn.execute(text("SELECT coalesce(sum(participants), 0) FROM poll_counter_shards WHERE poll_id = :p"),
                          params).scalar_one()
    selections = dict(conn.execute(text(
        "SELECT s.option_id, count(*) FROM selections s JOIN ballots b ON b.id = s.ballot_id"
        " WHERE b.poll_id = :p GROUP BY s.option_id"), params).all())
    option_shards = dict(conn.execute(text(
        "SELECT option_id, coalesce(sum(votes), 0) FROM option_counter_shards WHERE poll_id = :p"
        " GROUP BY option_id"), params).all())
    api_options = {o["id"]: o["votes"] for o in api["options"]}
    problems = []
    if not api["participants"] == shards == ballots:
        problems.append(f"poll {poll_id}: participants: api {api['participants']}, shards {shards}, "
                        f"ballots {ballots}")
    for option_id, votes in api_options.items():
        if not votes == option_shards.get(option_id, 0) == selections.get(option_id, 0):
            problems.append(f"poll {poll_id} option {option_id}: api {votes}, shards "
                            f"{option_shards.get(option_id, 0)}, selections {selections.get(option_id, 0)}")
    if api["total_votes"] != sum(selections.values()):
        problems.append(f"poll {poll_id}: total_votes {api['total_votes']} != selections {sum(selections.values())}")
    return problems


def check_votes(label: str, server_urls: list[str], scenarios: list[Scenario], ballots: int, api_votes: int,
                connections: int) -> list[str]:
    """Every 201 is one ballot: the servers' accepted-vote counters add up to the ballots stored,
    and wrk (plus the ``api_votes`` made outside it) saw that many 201s, less at most the requests
    in flight when each run stopped."""
    runs = [r for s in scenarios for r in (*s.warmups, *s.runs)]
    seen_201 = sum(r.count_201 or 0 for r in runs) + api_votes
    other = sum(r.count_other or 0 for r in runs)
    counters = [accepted_votes(url) for url in server_urls]
    lines = [f"{label}: ballots stored {ballots:,}, 201s seen by wrk and the setup {seen_201:,}, "
             f"other statuses {other:,}"]
    if any(c is None for c in counters):
        lines.append(f"{label}: /metrics did not answer 200, so the servers' 201 count is not compared "
                     f"(check skipped)")
    else:
        accepted = sum(c or 0 for c in counters)
        lines[0] += f", 201s answered (servers' counters) {accepted:,}"
        if accepted != ballots:
            lines.append(f"FAIL {label}: the servers counted {accepted:,} accepted votes but {ballots:,} ballots "
                         f"are stored")
    if not seen_201 <= ballots <= seen_201 + connections * len(runs):
        lines.append(f"FAIL {label}: {seen_201:,} 201s seen for {ballots:,} ballots stored")
    if other:
        lines.append(f"FAIL {label}: {other:,} votes were answered with another status than 201")
    return lines


def check_statuses(scenarios: list[Scenario]) -> list[str]:
    """Reads answer 2xx, and no run had socket errors (connect, read, write, timeout)."""
    lines = []
    for s in scenarios:
        runs = [*s.warmups, *s.runs]
        non_2xx = 0 if s.votes else sum(r.non_2xx for r in runs)  # votes: counted by check_votes
        sockets = sum(r.socket_errors for r in runs)
        if non_2xx or sockets:
            lines.append(f"FAIL {s.name}: {non_2xx:,} non-2xx answers, {sockets:,} socket errors")
    return lines


def check_receipt_read(widget: str, voter: Voter) -> list[str]:
    """Outside the timing: the widget's read with the receipt shows the voter's view (has_voted,
    votes), the anonymous read does not (the poll is after_vote), the token read agrees."""
    def seen(headers: dict[str, str]) -> dict[str, Any]:
        body = requests.get(widget, headers=headers, timeout=10).json()
        return next(p for p in body["polls"] if p["id"] == voter.poll_id)

    with_receipt = seen({"X-Poll-Receipt": voter.receipt})
    anonymous = seen({})
    with_token = seen({"X-Voter-Token": voter.token})
    problems = []
    if not (with_receipt["has_voted"] and all(o["votes"] is not None for o in with_receipt["options"])):
        problems.append(f"with the receipt: has_voted {with_receipt['has_voted']}, "
                        f"votes {[o['votes'] for o in with_receipt['options']]}")
    if anonymous["has_voted"] or any(o["votes"] is not None for o in anonymous["options"]):
        problems.append(f"without identity: has_voted {anonymous['has_voted']}, "
                        f"votes {[o['votes'] for o in anonymous['options']]}")
    if not with_token["has_voted"]:
        problems.append("with the voter token: has_voted false")
    if problems:
        return [f"FAIL widget read of an after_vote poll: {p}" for p in problems]
    return ["widget read of the after_vote hot poll: with the receipt has_voted true and votes shown; "
            "without identity has_voted false and votes null; with the token has_voted true"]


def check_logs(logs: list[tuple[str, Path]]) -> list[str]:
    """No server answered a 5xx (in the access logs that exist) or logged a traceback."""
    lines = []
    for label, log in logs:
        errors = tracebacks = 0
        with log.open(errors="replace") as handle:
            for line in handle:
                errors += bool(_SERVER_ERROR.search(line))
                tracebacks += line.startswith("Traceback")
        if errors or tracebacks:
            lines.append(f"FAIL {label}: {errors:,} 5xx answers and {tracebacks:,} tracebacks in its log")
    return lines or [f"no 5xx answer or traceback in the logs of the {len(logs)} servers"]
