"""The vote statement's ceiling on one PostgreSQL: pgbench runs pollsvc's own ``CAST_VOTE`` (the
whole vote is that one autocommit statement), on one hot poll and spread over many polls, in
pgbench's simple protocol (parsed and planned every time: what psycopg does with
``prepare_threshold=None``, as behind PgBouncer in transaction mode) and prepared (what psycopg's
auto-prepare does after a few executions on a connection).

    python -m bench.pgvote --dsn postgresql://root@127.0.0.1:5432/pollsvc_pgvote --seconds 15

The database is created if needed, migrated, and gets its polls; ballots pile up in it (drop it
after). ``--dsn`` may point at a PgBouncer too.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from pollsvc.services.store.postgres import CAST_VOTE

PG_BIN = Path(os.environ.get("POLLSVC_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))

# Each parameter as pgbench writes it: a random key per vote (a new voter), a random shard.
PARAMS = {
    "poll_id": ":poll",
    "now": "now()",
    "hour": "date_trunc('hour', now(), 'UTC')",
    "shard": ":shard",
    "dedup": "'token'",
    "max_choices": "1",
    "kinds": "ARRAY['token']",
    "hashes": "ARRAY[decode(md5(:voter::text || ':' || :client_id::text), 'hex')]",
    "key_count": "1",
    "option_ids": "ARRAY[:option]",
    "choices": "1",
    "network_hash": "NULL",
    "token_network": "NULL",
    "token_age": "NULL",
}


@dataclass(frozen=True)
class Run:
    label: str
    polls: int
    mode: str
    clients: int
    tps: float
    latency_ms: float


def pgbench_script(first_poll: int, polls: int, first_option: int) -> str:
    """The statement with pgbench variables; polls are consecutive, each with two options."""
    statement = re.sub(r"%\((\w+)\)s", lambda m: PARAMS[m.group(1)], CAST_VOTE).strip()
    statement = " ".join(line.strip() for line in statement.splitlines())  # pgbench: one line
    return "\n".join([
        f"\\set p random(0, {polls - 1})",
        f"\\set poll {first_poll} + :p",
        f"\\set option {first_option} + 2 * :p + random(0, 1)",
        "\\set shard random(0, 15)",
        "\\set voter random(1, 2000000000)",
        statement + ";",
        "",
    ])


def prepare(dsn: str, polls: int) -> tuple[int, int]:
    """Create the database (if missing) and ``polls`` open polls with two options each."""
    base, _, name = dsn.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "POLLSVC_DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg://", 1)}
    subprocess.run(["pollsvc", "db", "upgrade"], env=env, check=True, capture_output=True)
    with psycopg.connect(dsn) as conn:
        first_poll = first_option = 0
        for i in range(polls):
            poll = conn.execute(
                "INSERT INTO polls (article_id, question, max_choices, results_visibility, dedup, state, created_at,"
                " updated_at) VALUES ('pgvote', %s, 1, 'always', 'token', 'open', now(), now()) RETURNING id",
                (f"q{i}",)).fetchone()
            assert poll is not None
            options = [conn.execute("INSERT INTO options (poll_id, position, label) VALUES (%s, %s, %s) RETURNING id",
                                    (poll[0], n, f"o{n}")).fetchone() for n in range(2)]
            assert options[0] is not None and options[1] is not None
            if i == 0:
                first_poll, first_option = poll[0], options[0][0]
            assert (poll[0], options[0][0], options[1][0]) == (first_poll + i, first_option + 2 * i,
                                                               first_option + 2 * i + 1), "ids not consecutive"
    return first_poll, first_option


def pgbench(dsn: str, script: Path, mode: str, clients: int, seconds: int) -> tuple[float, float]:
    binary = shutil.which("pgbench") or str(PG_BIN / "pgbench")
    out = subprocess.run([binary, "-n", "-M", mode, "-c", str(clients), "-j", "2", "-T", str(seconds),
                          "-f", str(script), dsn], capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))  # type: ignore[union-attr]
    return tps, latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://root@127.0.0.1:5432/pollsvc_pgvote")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--polls", type=int, default=100, help="polls of the spread run")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    first_poll, first_option = prepare(args.dsn, args.polls)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for polls in (1, args.polls):
            scripts[polls] = Path(tmp) / f"vote-{polls}.sql"
            scripts[polls].write_text(pgbench_script(first_poll, polls, first_option))
        for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits each alike
            for polls in (1, args.polls):
                for mode in ("simple", "prepared"):
                    tps, latency = pgbench(args.dsn, scripts[polls], mode, args.clients, args.seconds)
                    label = "one hot poll" if polls == 1 else f"{polls} polls"
                    runs.append(Run(label, polls, mode, args.clients, tps, latency))
                    print(f"{label:>14}  {mode:>8}  {tps:8.0f} votes/s  {latency:6.2f} ms", flush=True)
    print(f"\nmedian votes/s (clients: {args.clients})")
    for polls in (1, args.polls):
        row = []
        for mode in ("simple", "prepared"):
            values = sorted(r.tps for r in runs if r.polls == polls and r.mode == mode)
            row.append(values[len(values) // 2])
        label = "one hot poll" if polls == 1 else f"{polls} polls"
        print(f"{label:>14}  simple {row[0]:8.0f}  prepared {row[1]:8.0f}  prepared/simple {row[1] / row[0]:.2f}")


if __name__ == "__main__":
    main()
