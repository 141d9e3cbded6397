"""pollsvc side by side with a bare Flask app, in one run: ``python -m bench`` (from the repo root).

Starts bare Flask (bench/bare_app.py) on gunicorn sync and on Granian with pollsvc serve's
arguments, ``pollsvc serve`` on a fresh PostgreSQL database (``pollsvc_bench``, dropped at the end)
and Redis db 14 (flushed), and the pollsvc app on gunicorn gthread; drives them with ``wrk -t1`` on
loopback, repetitions interleaved; checks that every count equals the ballots stored; measures
reads of a poll with 1M ballots against one with 1k; then the SQLite default mode. Prints a
Markdown report and writes it to ``--out``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench import checks, report, servers
from bench import scenarios as sc
from bench.report import Baselines
from bench.scenarios import Client, Load, Scenario, VoteFiles
from bench.seed import seed_ballots
from pollsvc.testing import ServerProcess

BENCH = Path(__file__).resolve().parent
QUICK = {"duration": 2.0, "reps": 1, "warmup": 1.0, "big": 20_000, "tokens": 20_000, "skip_sqlite": True}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per scenario, interleaved (default 3)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of one unrecorded run first (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of every server (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker of pollsvc and bare Granian "
                        "(default 4)")
    parser.add_argument("--big", type=int, default=1_000_000, help="ballots of the big poll (default 1M)")
    parser.add_argument("--small", type=int, default=1_000, help="ballots of the small poll (default 1k)")
    parser.add_argument("--tokens", type=int, default=60_000, help="voter tokens per vote run (default 60k)")
    parser.add_argument("--skip-big", action="store_true", help="skip the big/small poll comparison")
    parser.add_argument("--skip-sqlite", action="store_true", help="skip the SQLite default mode")
    parser.add_argument("--skip-gunicorn", action="store_true", help="skip pollsvc on gunicorn gthread")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 s runs, 1 repetition, 20k big poll, no SQLite (options given win)")
    parser.add_argument("--out", type=Path, default=BENCH / "last-run.md",
                        help="where to write the report (default bench/last-run.md)")
    opts = parser.parse_args(argv)
    if opts.quick:
        parser.set_defaults(**QUICK)
        opts = parser.parse_args(argv)
    return opts


@dataclass
class Run:
    """What one run collects: its scenarios by key, report sections, check lines, servers."""

    opts: argparse.Namespace
    work: Path
    results: dict[str, Scenario] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    logs: list[tuple[str, Path]] = field(default_factory=list)
    base: Baselines = field(default_factory=lambda: Baselines(0.0, 0.0))

    @property
    def load(self) -> Load:
        return Load(self.opts.duration, self.opts.connections, self.opts.reps, self.opts.warmup)

    def start(self, stack: ExitStack, label: str, server: ServerProcess) -> ServerProcess:
        stack.callback(server.stop)
        self.servers.append(f"- {label}: `{servers.command(server)}`")
        self.logs.append((label, server.log))
        return server

    def measure(self, label: str, group: list[Scenario]) -> None:
        sc.measure(label, group, self.load)
        self.results.update((s.key, s) for s in group)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    began = time.monotonic()
    head = ["# pollsvc benchmark", "", f"Command: `{shlex.join(['python', '-m', 'bench', *argv])}`", "",
            "## Machine and settings", "", *report.machine(),
            f"- load average (1, 5, 15 min) at start: {report.load_average()}"]
    run = Run(opts, Path(tempfile.mkdtemp(prefix="pollsvc-bench-")))
    try:
        with ExitStack() as stack:
            postgres(run, stack)
        if not opts.skip_sqlite:
            with ExitStack() as stack:
                sqlite(run, stack)
        run.checks += checks.check_logs(run.logs)  # the servers have stopped
    finally:
        shutil.rmtree(run.work, ignore_errors=True)
    run.checks += checks.check_statuses(list(run.results.values()))
    text = render(run, head, began)
    print(text)
    opts.out.write_text(text)
    return 1 if any(line.startswith("FAIL") for line in run.checks) else 0


def postgres(run: Run, stack: ExitStack) -> None:
    """The baselines, pollsvc serve on PostgreSQL + Redis and pollsvc on gunicorn, measured together."""
    opts, work = run.opts, run.work
    servers.recreate_database()
    stack.callback(servers.drop_database)
    servers.flush_redis()
    env = servers.service_env(work / "instance-pg", postgres=True)
    bare_gunicorn = run.start(stack, "bare Flask, gunicorn sync", servers.bare_gunicorn(work, opts.workers))
    bare_granian = run.start(stack, "bare Flask, Granian",
                             servers.bare_granian(work, opts.workers, opts.threads))
    svc = run.start(stack, "pollsvc serve, PostgreSQL + Redis (+ POLLSVC_* env)",
                    servers.pollsvc_serve("pollsvc-pg", env, work, opts.workers, opts.threads))
    gunicorn = None if opts.skip_gunicorn else run.start(
        stack, "pollsvc app on gunicorn gthread (same env)",
        servers.pollsvc_gunicorn(env, work, opts.workers, opts.threads))  # after serve: it migrated
    client = Client(svc.url, servers.admin_key(env))
    hot = client.create_poll(sc.HOT_ARTICLE, visibility="after_vote")
    spread = [client.create_poll(f"bench-spread-{i}") for i in range(sc.SPREAD_POLLS)]
    voter = client.vote_with_receipt(hot)
    run.checks += checks.check_receipt_read(sc.widget_url(svc.url), voter)
    tokens = VoteFiles(work, opts.tokens)
    hot_targets = sc.write_targets(work / "hot.txt", [hot])
    spread_targets = sc.write_targets(work / "spread.txt", spread)
    main_group = [*sc.baselines(bare_gunicorn.url, bare_granian.url),
                  *sc.pollsvc_scenarios(client, hot, voter, hot_targets, spread_targets, tokens)]
    compared = [] if gunicorn is None else sc.gunicorn_scenarios(gunicorn.url, hot_targets, tokens)
    run.measure("PostgreSQL + Redis", main_group + compared)
    run.base = Baselines(run.results[sc.BARE_GUNICORN].summary.requests_per_s,
                         run.results[sc.BARE_GRANIAN].summary.requests_per_s)
    time.sleep(1)  # votes still in flight when wrk stopped
    poll_ids = [hot["id"], *(p["id"] for p in spread)]
    vote_urls = [svc.url] + ([gunicorn.url] if gunicorn else [])
    run.checks += checks.check_counts("PostgreSQL", servers.PG_URL, client, poll_ids)
    run.checks += checks.check_votes("PostgreSQL", vote_urls, [s for s in main_group + compared if s.votes],
                                     checks.ballots_in(servers.PG_URL, poll_ids), 1, opts.connections)
    run.sections += postgres_section(run, main_group)
    if compared:
        run.sections += comparison_section(run, compared)
    if not opts.skip_big:
        big_group(run, client, env)


def postgres_section(run: Run, group: list[Scenario]) -> list[str]:
    hot, spread = run.results[sc.VOTE_HOT].summary, run.results[sc.VOTE_SPREAD].summary
    return report.group(
        f"PostgreSQL + Redis, {run.opts.workers} workers × {run.opts.threads} threads", group, run.base, [
            f"- vote, hot poll / spread over {sc.SPREAD_POLLS} polls: "
            f"**{report.per(run.results, sc.VOTE_HOT, sc.VOTE_SPREAD):.2f}** (req/s)",
            f"- vote p99 at {run.opts.connections} connections: hot {hot.p99_ms:.1f} ms, "
            f"spread {spread.p99_ms:.1f} ms",
            "- the hot poll is `after_vote`: the anonymous widget read shows no votes; the receipt and "
            "the token read are of a reader who voted (has_voted true, votes shown)"])


def comparison_section(run: Run, compared: list[Scenario]) -> list[str]:
    pairs = [(run.results[s.key.removeprefix(sc.GUNICORN_PREFIX)], s) for s in compared]
    rows = [s for pair in pairs for s in pair]
    ratios = ", ".join(f"{granian.name} {s.summary.requests_per_s / granian.summary.requests_per_s:.2f}"
                       for granian, s in pairs)
    return report.group(
        "Server comparison: pollsvc on gunicorn gthread vs pollsvc serve (Granian)", rows, run.base, [
            f"- gunicorn gthread / Granian (req/s): {ratios}",
            "- measured in the same interleaved rounds as the group above; the Granian rows are its rows"])


def big_group(run: Run, client: Client, env: dict[str, str]) -> None:
    """Reads of a poll with ``--big`` ballots against one with ``--small`` (seeded with SQL)."""
    opts = run.opts
    print(f"seeding {opts.big:,} and {opts.small:,} ballots", file=sys.stderr, flush=True)
    small = client.create_poll("bench-small", options=2)
    big = client.create_poll("bench-big", options=2)
    began = time.monotonic()
    for poll, count in ((small, opts.small), (big, opts.big)):
        seed_ballots(servers.PG_DSN, poll["id"], [o["id"] for o in poll["options"]], count)
    servers.rebuild_counts(env, [small["id"], big["id"]])
    seeded = time.monotonic() - began
    time.sleep(1.5)  # public caches expire
    shown = [public_participants(client, p) for p in (small, big)]
    if shown != [opts.small, opts.big]:
        run.checks.append(f"FAIL seeded polls: participants shown {shown}, seeded {[opts.small, opts.big]}")
    run.checks += checks.check_counts("PostgreSQL, seeded polls", servers.PG_URL, client, [small["id"], big["id"]])
    group = sc.big_scenarios(client, small, big, opts.small, opts.big)
    run.measure(f"{opts.big:,} ballots vs {opts.small:,}", group)
    ratio = f"{opts.big:,} / {opts.small:,} ballots"
    run.sections += report.group(f"{opts.big:,} ballots stored vs {opts.small:,}", group, run.base, [
        f"- seeded with SQL and `pollsvc counts rebuild` in {seeded:.0f} s; participants shown: "
        f"{shown[0]:,} and {shown[1]:,}",
        f"- widget read, {ratio}: **{report.per(run.results, sc.WIDGET_BIG, sc.WIDGET_SMALL):.2f}**",
        f"- results, {ratio}: **{report.per(run.results, sc.RESULTS_BIG, sc.RESULTS_SMALL):.2f}**",
        "- ratios to bare Flask are to the figures of the PostgreSQL + Redis group"])


def public_participants(client: Client, poll: dict[str, Any]) -> int:
    return int(requests.get(f"{client.url}/api/v1/polls/{poll['id']}", timeout=10).json()["participants"])


def sqlite(run: Run, stack: ExitStack) -> None:
    """pollsvc serve without Redis (its default: 1 worker, in-process limits), for reference."""
    opts, work = run.opts, run.work
    env = servers.service_env(work / "instance-sqlite", postgres=False)
    lite = run.start(stack, "pollsvc serve, SQLite default",
                     servers.pollsvc_serve("pollsvc-sqlite", env, work, None, opts.threads))
    client = Client(lite.url, servers.admin_key(env))
    hot = client.create_poll(sc.HOT_ARTICLE)
    group = sc.sqlite_scenarios(lite.url, sc.write_targets(work / "sqlite-hot.txt", [hot]),
                                VoteFiles(work, opts.tokens))
    run.measure("SQLite default mode", group)
    time.sleep(1)
    db_url = servers.database_url(env)
    run.checks += checks.check_counts("SQLite", db_url, client, [hot["id"]])
    run.checks += checks.check_votes("SQLite", [lite.url], [s for s in group if s.votes],
                                     checks.ballots_in(db_url, [hot["id"]]), 0, opts.connections)
    run.sections += report.group(
        "SQLite default mode (pollsvc serve without Redis: 1 worker, in-process limits), for reference",
        group, run.base, ["- ratios to bare Flask are to the figures of the PostgreSQL + Redis group"])


def render(run: Run, head: list[str], began: float) -> str:
    opts = run.opts
    found = report.goals(run.results, run.base, opts.connections,
                         None if opts.skip_big else f"{opts.big:,} / {opts.small:,}")
    warmup = f" after a {opts.warmup:g} s warm-up run of each" if opts.warmup > 0 else ""
    lines = [
        *head,
        f"- load average (1, 5, 15 min) at end: {report.load_average()}",
        f"- wrk -t1 -c{opts.connections} -d{opts.duration:g}s --latency on loopback; {opts.reps} repetition(s) "
        f"interleaved (A B C … A B C){warmup}; medians of req/s, p50 and p99; spread = (max − min) / median "
        f"of the repetitions' req/s, ⚠ above {report.SPREAD_LIMIT:.0%}",
        "- rate limiter on (Redis with PostgreSQL) with POLLSVC_RATE_LIMIT_*=1000000/minute: it never answers 429",
        "- × bare gunicorn: ratio to bare Flask's jsonify route on gunicorn sync with its defaults (what a Flask "
        "user deploys); × bare Granian: to the same route on Granian with the arguments of `pollsvc serve`",
        "- servers:", *(f"  {line}" for line in run.servers), "",
        "## Goals vs measured", "", "Ratios to bare Flask on gunicorn sync.", "", *report.goal_table(found), "",
        *run.sections,
        "## Checks", "", *(f"- {c}" for c in run.checks), "",
        f"Total time: {time.monotonic() - began:.0f} s.", "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
