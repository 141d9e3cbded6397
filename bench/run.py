"""pollsvc side by side with a bare Flask app, on the same gunicorn settings, in one run.

    python bench/run.py [--duration 10] [--reps 2] [--connections 16] [--workers 2] [--threads 4]

Starts ``pollsvc serve`` on a fresh PostgreSQL database (``pollsvc_bench``, dropped at the end)
and Redis db 14 (flushed), and ``bench/bare_app.py`` under the same gunicorn arguments; drives
both with ``wrk -t1`` on loopback; checks that counts equal the ballots stored; measures the
widget read of a poll with 1M ballots against one with 1k; then the SQLite default mode. Prints
a Markdown report and writes it to ``--out``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from seed import seed_ballots  # noqa: E402
from wrkrun import Summary, WrkRun, run_wrk  # noqa: E402

from pollsvc.cli import access_log_format, gunicorn_argv  # noqa: E402
from pollsvc.identity import issue_voter_token  # noqa: E402
from pollsvc.testing import ServerProcess, free_port, launch  # noqa: E402

PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"
PG_DB = "pollsvc_bench"
PG_DSN = f"postgresql://root@127.0.0.1:5432/{PG_DB}"
REDIS_URL = "redis://127.0.0.1:6379/14"
SECRET = "bench-secret-key-not-for-production-0123456789"
GENEROUS = "1000000/minute"
SPREAD_POLLS = 20
VOTE_SCRIPT = BENCH / "vote.lua"


# ---- servers ----


Server = ServerProcess


def start(name: str, argv: list[str], env: dict[str, str], port: int, log: Path) -> Server:
    return launch(argv, env, port, log, name=name, cwd=BENCH.parent)


def service_env(instance: Path, *, postgres: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLLSVC_")}
    env.update({
        "POLLSVC_SECRET_KEY": SECRET,
        "POLLSVC_INSTANCE_PATH": str(instance),
        "POLLSVC_RATE_LIMIT_VOTE": GENEROUS,
        "POLLSVC_RATE_LIMIT_VOTERS": GENEROUS,
        "POLLSVC_RATE_LIMIT_PUBLIC_READ": GENEROUS,
        "POLLSVC_RATE_LIMIT_AUTH_FAILURES": GENEROUS,
    })
    if postgres:
        env["POLLSVC_DATABASE_URL"] = f"postgresql+psycopg://root@127.0.0.1:5432/{PG_DB}"
        env["POLLSVC_REDIS_URL"] = REDIS_URL
    return env


def start_service(name: str, env: dict[str, str], opts: argparse.Namespace, work: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "pollsvc.cli", "serve", "--port", str(port),
            "--workers", str(opts.workers), "--threads", str(opts.threads)]
    return start(name, argv, env, port, work / f"{name}.log")


def start_bare(opts: argparse.Namespace, work: Path) -> Server:
    port = free_port()
    argv = [sys.executable, *gunicorn_argv("bench.bare_app:app", "127.0.0.1", port, opts.workers,
                                           opts.threads, access_log_format(False))]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLLSVC_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(work / "bare-metrics")  # the same gunicorn config file
    (work / "bare-metrics").mkdir()
    return start("bare", argv, env, port, work / "bare.log")


def admin_key(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "pollsvc.cli", "create-api-key", "--role", "admin",
                          "--name", "bench"], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


# ---- data ----


def recreate_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def drop_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def create_poll(server: Server, key: str, article: str, options: int = 3) -> dict[str, Any]:
    body = {"article_id": article, "question": f"Bench poll of {article}?", "results_visibility": "always",
            "options": [{"label": f"Option {i + 1}"} for i in range(options)]}
    response = requests.post(server.url + "/api/v1/polls", json=body,
                             headers={"Authorization": f"Bearer {key}"}, timeout=10)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def write_tokens(path: Path, count: int) -> Path:
    path.write_text("\n".join(issue_voter_token(SECRET) for _ in range(count)) + "\n")
    return path


def write_targets(path: Path, polls: list[dict[str, Any]]) -> Path:
    """One line per (poll, option), polls interleaved, so consecutive votes go to different polls."""
    lines = [f"{poll['id']} {poll['options'][i % len(poll['options'])]['id']}"
             for i in range(6) for poll in polls]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- scenarios ----


@dataclass
class Scenario:
    name: str
    run: Callable[[], WrkRun]
    ratio: bool = True  # quoted as a ratio to the bare Flask figure
    runs: list[WrkRun] = field(default_factory=list)

    @property
    def summary(self) -> Summary:
        return Summary(self.runs)


class VoteFiles:
    """A fresh token file for every vote run, so every token votes once."""

    def __init__(self, work: Path, per_run: int) -> None:
        self.work, self.per_run, self.made = work, per_run, 0

    def next(self) -> str:
        self.made += 1
        return str(write_tokens(self.work / f"tokens-{self.made}.txt", self.per_run))


def read(url: str, opts: argparse.Namespace, headers: dict[str, str] | None = None) -> Callable[[], WrkRun]:
    return lambda: run_wrk(url, duration=opts.duration, connections=opts.connections, headers=headers)


def vote(base: str, targets: Path, tokens: VoteFiles, opts: argparse.Namespace) -> Callable[[], WrkRun]:
    return lambda: run_wrk(base, duration=opts.duration, connections=opts.connections, script=VOTE_SCRIPT,
                           script_args=[tokens.next(), str(targets)])


def measure(scenarios: list[Scenario], reps: int) -> None:
    """Repetitions interleaved (A B C A B C), so a noisy moment does not hit one scenario only."""
    for rep in range(reps):
        for scenario in scenarios:
            scenario.runs.append(scenario.run())
            s = scenario.runs[-1]
            print(f"  [{rep + 1}/{reps}] {scenario.name}: {s.requests_per_s:,.0f} req/s, "
                  f"p50 {s.p50_ms:.2f} ms, p99 {s.p99_ms:.2f} ms", file=sys.stderr, flush=True)


# ---- checks ----


def accepted_votes(server: Server) -> int:
    text = requests.get(server.url + "/metrics", timeout=10).text
    return sum(int(float(v)) for v in re.findall(r'^pollsvc_votes_total\{outcome="accepted"\} (\S+)', text, re.M))


def check_counts_pg(server: Server, key: str, polls: list[dict[str, Any]]) -> list[str]:
    """API participants == counter shards == COUNT(*) of ballots, per poll; and per option."""
    problems = []
    with psycopg.connect(PG_DSN) as conn:
        for poll in polls:
            pid = poll["id"]
            api = requests.get(f"{server.url}/api/v1/polls/{pid}/results",
                               headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
            ballots = conn.execute("SELECT count(*) FROM ballots WHERE poll_id = %s", (pid,)).fetchone()[0]
            shards = conn.execute("SELECT coalesce(sum(participants), 0) FROM poll_counter_shards"
                                  " WHERE poll_id = %s", (pid,)).fetchone()[0]
            per_option = dict(conn.execute(
                "SELECT s.option_id, count(*) FROM selections s JOIN ballots b ON b.id = s.ballot_id"
                " WHERE b.poll_id = %s GROUP BY s.option_id", (pid,)).fetchall())
            api_options = {o["id"]: o["votes"] for o in api["options"]}
            if not api["participants"] == shards == ballots:
                problems.append(f"poll {pid}: api {api['participants']}, shards {shards}, ballots {ballots}")
            if any(api_options[o] != per_option.get(o, 0) for o in api_options):
                problems.append(f"poll {pid}: option votes {api_options} != selections {per_option}")
    return problems


def ballots_in(polls: list[dict[str, Any]], sqlite_path: Path | None = None) -> int:
    ids = [p["id"] for p in polls]
    if sqlite_path is not None:
        import sqlite3

        with sqlite3.connect(sqlite_path) as conn:
            marks = ",".join("?" * len(ids))
            return int(conn.execute(f"SELECT count(*) FROM ballots WHERE poll_id IN ({marks})", ids).fetchone()[0])
    with psycopg.connect(PG_DSN) as conn:
        return int(conn.execute("SELECT count(*) FROM ballots WHERE poll_id = ANY(%s)", (ids,)).fetchone()[0])


def vote_check(name: str, server: Server, scenarios: list[Scenario], ballots: int, connections: int) -> list[str]:
    """Every 201 is one ballot: the server's accepted-vote counter equals the ballots stored, and
    wrk saw that many 201s less at most the requests still in flight when each run stopped."""
    runs = [r for s in scenarios for r in s.runs]
    seen_201 = sum(r.count_201 or 0 for r in runs)
    other = sum(r.count_other or 0 for r in runs)
    accepted = accepted_votes(server)
    lines = [f"{name}: ballots stored {ballots}, 201s answered (server counter) {accepted}, "
             f"201s seen by wrk {seen_201}, other statuses seen {other}"]
    if accepted != ballots:
        lines.append(f"FAIL {name}: server counted {accepted} accepted votes but {ballots} ballots are stored")
    if not seen_201 <= ballots <= seen_201 + connections * len(runs):
        lines.append(f"FAIL {name}: wrk saw {seen_201} 201s for {ballots} ballots")
    if other:
        lines.append(f"FAIL {name}: {other} votes were not 201")
    return lines


# ---- report ----


def machine() -> list[str]:
    def cmd(*args: str) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"

    import gunicorn

    with psycopg.connect(PG_ADMIN) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    info = redis.Redis.from_url(REDIS_URL).info("server")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    wrk = (cmd("wrk", "-v").splitlines() or ["wrk"])[0]
    return [
        f"- CPU: {os.cpu_count()} cores ({cpu}); {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, gunicorn {gunicorn.__version__}, "
        f"PostgreSQL {pg}, Redis {info['redis_version']}, {wrk}",
    ]


def table(scenarios: list[Scenario], bare_rps: float) -> list[str]:
    lines = ["| scenario | req/s (median) | p50 ms | p99 ms | × bare Flask | runs (req/s) | errors |",
             "| --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for s in scenarios:
        summary = s.summary
        ratio = f"{summary.requests_per_s / bare_rps:.2f}" if s.ratio else "—"
        per_run = ", ".join(f"{r.requests_per_s:,.0f}" for r in s.runs)
        lines.append(f"| {s.name} | {summary.requests_per_s:,.0f} | {summary.p50_ms:.2f} | "
                     f"{summary.p99_ms:.2f} | {ratio} | {per_run} | {summary.errors} |")
    return lines


# ---- main ----


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--reps", type=int, default=2, help="repetitions per scenario; medians (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4)")
    parser.add_argument("--big", type=int, default=1_000_000, help="ballots of the big poll (default 1M)")
    parser.add_argument("--small", type=int, default=1_000, help="ballots of the small poll (default 1k)")
    parser.add_argument("--tokens", type=int, default=60_000, help="voter tokens per vote run")
    parser.add_argument("--skip-big", action="store_true", help="skip the 1M-ballot read")
    parser.add_argument("--skip-sqlite", action="store_true", help="skip the SQLite reference")
    parser.add_argument("--out", type=Path, default=BENCH / "last-run.md", help="where to write the report")
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="pollsvc-bench-"))
    servers: list[Server] = []
    report = ["# pollsvc benchmark", "", f"Command: `{' '.join(['python', 'bench/run.py', *sys.argv[1:]])}`", ""]
    report += machine()
    report += [f"- gunicorn: {opts.workers} workers × {opts.threads} threads "
               f"({'gthread' if opts.threads > 1 else 'sync'}), the same for the bare Flask app; "
               f"wrk -t1 -c{opts.connections} -d{opts.duration:g}s on loopback; {opts.reps} repetition(s), medians",
               "- rate limiter on (Redis, fixed window) with POLLSVC_RATE_LIMIT_*=1000000/minute", ""]
    checks: list[str] = []
    try:
        recreate_database()
        redis.Redis.from_url(REDIS_URL).flushdb()
        pg_env = service_env(work / "instance-pg", postgres=True)
        bare = start_bare(opts, work)
        servers.append(bare)
        svc = start_service("pollsvc-pg", pg_env, opts, work)
        servers.append(svc)
        key = admin_key(pg_env)
        hot = create_poll(svc, key, "bench-hot")
        spread = [create_poll(svc, key, f"bench-spread-{i}") for i in range(SPREAD_POLLS)]
        reader = issue_voter_token(SECRET)
        tokens = VoteFiles(work, opts.tokens)
        hot_targets = write_targets(work / "hot.txt", [hot])
        spread_targets = write_targets(work / "spread.txt", spread)
        widget = f"{svc.url}/api/v1/articles/bench-hot/polls"

        print("warming up", file=sys.stderr, flush=True)
        for url in (bare.url + "/api/v1/articles/bench-hot/polls", widget):
            run_wrk(url, duration=2, connections=opts.connections)
        warm = Scenario("warm-up votes", vote(svc.url, hot_targets, tokens, with_changes(opts, duration=2)))
        warm.runs.append(warm.run())

        scenarios = [
            Scenario("bare Flask (jsonify)", read(bare.url + "/api/v1/articles/bench-hot/polls", opts), ratio=True),
            Scenario("widget read, no identity", read(widget, opts)),
            Scenario("widget read, voter token (has_voted looked up)",
                     read(widget, opts, {"X-Voter-Token": reader})),
            Scenario("poll read", read(f"{svc.url}/api/v1/polls/{hot['id']}", opts)),
            Scenario("results (admin key)", read(f"{svc.url}/api/v1/polls/{hot['id']}/results", opts,
                                                 {"Authorization": f"Bearer {key}"})),
            Scenario("vote, one hot poll", vote(svc.url, hot_targets, tokens, opts)),
            Scenario(f"vote, spread over {SPREAD_POLLS} polls", vote(svc.url, spread_targets, tokens, opts)),
        ]
        print("PostgreSQL + Redis", file=sys.stderr, flush=True)
        measure(scenarios, opts.reps)
        bare_rps = scenarios[0].summary.requests_per_s
        by_name = {s.name: s for s in scenarios}
        hot_s = by_name["vote, one hot poll"].summary
        spread_s = by_name[f"vote, spread over {SPREAD_POLLS} polls"].summary

        time.sleep(1.5)  # the snapshot caches expire
        problems = check_counts_pg(svc, key, [hot, *spread])
        vote_runs = [warm, by_name["vote, one hot poll"], by_name[f"vote, spread over {SPREAD_POLLS} polls"]]
        checks += vote_check("PostgreSQL", svc, vote_runs, ballots_in([hot, *spread]), opts.connections)
        checks += [f"FAIL {p}" for p in problems] or [
            f"PostgreSQL: participants (API) == counter shards == COUNT(*) of ballots, and option votes == "
            f"selections, for all {1 + SPREAD_POLLS} polls"]

        report += ["## PostgreSQL + Redis", "", *table(scenarios, bare_rps), ""]
        report += [f"- hot poll / spread over {SPREAD_POLLS} polls: "
                   f"**{hot_s.requests_per_s / spread_s.requests_per_s:.2f}** (req/s)",
                   f"- vote p99 at {opts.connections} connections: hot {hot_s.p99_ms:.1f} ms, "
                   f"spread {spread_s.p99_ms:.1f} ms", ""]

        if not opts.skip_big:
            report += big_ballots(svc, key, pg_env, opts, bare_rps)

        svc.stop()
        if not opts.skip_sqlite:
            sqlite_env = service_env(work / "instance-sqlite", postgres=False)
            lite = start_service("pollsvc-sqlite", sqlite_env, opts, work)
            servers.append(lite)
            lite_key = admin_key(sqlite_env)
            lite_hot = create_poll(lite, lite_key, "bench-hot")
            lite_targets = write_targets(work / "lite-hot.txt", [lite_hot])
            lite_widget = f"{lite.url}/api/v1/articles/bench-hot/polls"
            run_wrk(lite_widget, duration=2, connections=opts.connections)
            lite_scenarios = [
                Scenario("SQLite: widget read, no identity", read(lite_widget, opts)),
                Scenario("SQLite: vote, one hot poll", vote(lite.url, lite_targets, tokens, opts)),
            ]
            print("SQLite, in-process limits", file=sys.stderr, flush=True)
            measure(lite_scenarios, opts.reps)
            report += ["## SQLite default mode (in-process limits), for reference", ""]
            report += [*table(lite_scenarios, bare_rps), ""]
            time.sleep(1.5)
            lite_db = work / "instance-sqlite" / "pollsvc.sqlite3"
            checks += vote_check("SQLite", lite, lite_scenarios[1:], ballots_in([lite_hot], lite_db),
                                 opts.connections)
            lite.stop()
        report += ["## Checks", ""] + [f"- {c}" for c in checks] + [""]
        report += [f"Total time: {time.time() - started:.0f} s.", ""]
    finally:
        for server in servers:
            server.stop()
        try:
            drop_database()
        except psycopg.Error as exc:
            print(f"could not drop {PG_DB}: {exc}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(report)
    print(text)
    opts.out.write_text(text)
    return 1 if any(c.startswith("FAIL") for c in checks) else 0


def with_changes(opts: argparse.Namespace, **changes: Any) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(opts), **changes})


def big_ballots(svc: Server, key: str, env: dict[str, str], opts: argparse.Namespace, bare_rps: float) -> list[str]:
    """The widget read (and results) of a poll with ``--big`` ballots against one with ``--small``."""
    print(f"seeding {opts.big:,} and {opts.small:,} ballots", file=sys.stderr, flush=True)
    small = create_poll(svc, key, "bench-1k", options=2)
    big = create_poll(svc, key, "bench-1m", options=2)
    began = time.monotonic()
    for poll, count in ((small, opts.small), (big, opts.big)):
        seed_ballots(PG_DSN, poll["id"], [o["id"] for o in poll["options"]], count)
    subprocess.run([sys.executable, "-m", "pollsvc.cli", "counts", "rebuild", "--poll", str(small["id"]),
                    "--poll", str(big["id"])], env=env, check=True, capture_output=True)
    seeded = time.monotonic() - began
    time.sleep(1.5)
    participants = [requests.get(f"{svc.url}/api/v1/polls/{p['id']}", timeout=10).json()["participants"]
                    for p in (small, big)]
    scenarios = [
        Scenario(f"widget read, {opts.small:,} ballots", read(f"{svc.url}/api/v1/articles/bench-1k/polls", opts)),
        Scenario(f"widget read, {opts.big:,} ballots", read(f"{svc.url}/api/v1/articles/bench-1m/polls", opts)),
        Scenario(f"results, {opts.small:,} ballots", read(f"{svc.url}/api/v1/polls/{small['id']}/results", opts,
                                                          {"Authorization": f"Bearer {key}"})),
        Scenario(f"results, {opts.big:,} ballots", read(f"{svc.url}/api/v1/polls/{big['id']}/results", opts,
                                                        {"Authorization": f"Bearer {key}"})),
    ]
    print("big vs small", file=sys.stderr, flush=True)
    measure(scenarios, opts.reps)
    widget_ratio = scenarios[1].summary.requests_per_s / scenarios[0].summary.requests_per_s
    results_ratio = scenarios[3].summary.requests_per_s / scenarios[2].summary.requests_per_s
    return [f"## {opts.big:,} ballots stored vs {opts.small:,}", "",
            f"Seeded with SQL and `pollsvc counts rebuild` in {seeded:.0f} s; participants shown: "
            f"{participants[0]:,} and {participants[1]:,}.", "", *table(scenarios, bare_rps), "",
            f"- widget read, {opts.big:,} / {opts.small:,} ballots: **{widget_ratio:.2f}**",
            f"- results, {opts.big:,} / {opts.small:,} ballots: **{results_ratio:.2f}**", ""]


if __name__ == "__main__":
    sys.exit(main())
