"""``python -m drills``: start the topology, run every drill, print the table; exit 1 if a drill
failed. ``--only NAME`` runs some of them (race, shared_limit, instance_killed,
redis_master_killed, pgbouncer_restarted, replica_stopped)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
import traceback

from drills.checks import DRILLS, Lags, Row, lag_summary, sample_replay_lag
from drills.topology import topology


def table(rows: list[Row]) -> str:
    lines = ["| drill | must hold | observed | result |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.drill} | {r.must_hold} | {r.observed} | {'pass' if r.ok else 'FAIL'} |" for r in rows]
    return "\n".join(lines)


def run(only: list[str] | None = None, instances: int = 3, workers: int = 1) -> tuple[list[Row], Lags, float]:
    started = time.monotonic()
    rows: list[Row] = []
    lags = Lags()
    with topology(instances, workers) as top:
        print(f"topology up in {time.monotonic() - started:.1f} s: HAProxy, {instances} instances, PgBouncer, "
              f"primary + replica, Redis Cluster of {len(top.redis.nodes)} nodes",
              flush=True)
        stop = threading.Event()
        sampler = threading.Thread(target=sample_replay_lag, args=(top, lags, stop), daemon=True)
        sampler.start()
        try:
            for drill in DRILLS:
                if only and drill.__name__ not in only:
                    continue
                began = time.monotonic()
                try:
                    row = drill(top, lags)
                except Exception as exc:  # a drill that breaks is a failed drill, the others still run
                    traceback.print_exc()
                    row = Row(drill.__name__, "", f"raised {type(exc).__name__}: {exc}", False)
                rows.append(row)
                print(f"{'pass' if row.ok else 'FAIL'}  {row.drill} ({time.monotonic() - began:.0f} s): {row.observed}",
                      flush=True)
        finally:
            stop.set()
            sampler.join(5)
    return rows, lags, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", help="a drill's name (repeatable)")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="Granian workers per instance")
    args = parser.parse_args()
    rows, lags, took = run(args.only, args.instances, args.workers)
    print()
    print(table(rows))
    print()
    print(f"Replica lag under the drills' load: {lag_summary(lags)}")
    print(f"{sum(r.ok for r in rows)} of {len(rows)} drills passed in {took:.0f} s")
    sys.exit(0 if rows and all(r.ok for r in rows) else 1)


if __name__ == "__main__":
    main()
