"""The Markdown report: machine details, one table per group with both ratio columns and the
spread of the repetitions, and the issue's goals against what this run measured."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench import scenarios as sc
from bench.scenarios import Scenario
from bench.servers import PG_ADMIN, REDIS_URL

SPREAD_LIMIT = 0.20  # a scenario whose repetitions differ by more is marked


@dataclass(frozen=True)
class Baselines:
    """Median req/s of bare_app's jsonify route: gunicorn sync (the ratios), Granian as serve."""

    gunicorn: float
    granian: float


@dataclass(frozen=True)
class Goal:
    goal: str
    target: str
    measured: str
    met: bool | None  # None: not measured in this run


# ---- machine ----


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _first_line(*args: str) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except OSError:
        return "?"
    return ((out.stdout or out.stderr).strip().splitlines() or ["?"])[0]


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    with psycopg.connect(PG_ADMIN) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    info: dict[str, Any] = redis.Redis.from_url(REDIS_URL).info("server")  # type: ignore[assignment]
    redis_version = info["redis_version"]
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, Flask {version('flask')}, Granian {version('granian')}, "
        f"gunicorn {version('gunicorn')}, PostgreSQL {pg}, Redis {redis_version}, "
        f"{_first_line('wrk', '-v')}",
    ]


# ---- tables ----


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "—"


def _spread(scenario: Scenario) -> str:
    spread = scenario.summary.spread
    if spread is None:
        return "—"
    return f"{spread:.0%} ⚠" if spread > SPREAD_LIMIT else f"{spread:.0%}"


def table(scenarios: list[Scenario], base: Baselines) -> list[str]:
    lines = ["| scenario | req/s (median) | × bare gunicorn | × bare Granian | p50 ms | p99 ms | spread "
             "| runs (req/s) | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for s in scenarios:
        summary = s.summary
        per_run = ", ".join(f"{r.requests_per_s:,.0f}" for r in s.runs)
        lines.append(f"| {s.name} | {summary.requests_per_s:,.0f} | {_ratio(summary.requests_per_s, base.gunicorn)} "
                     f"| {_ratio(summary.requests_per_s, base.granian)} | {summary.p50_ms:.2f} "
                     f"| {summary.p99_ms:.2f} | {_spread(s)} | {per_run} | {summary.errors:,} |")
    return lines


def group(title: str, scenarios: list[Scenario], base: Baselines, notes: list[str]) -> list[str]:
    return [f"## {title}", "", *table(scenarios, base), "", *notes, ""]


def per(results: Mapping[str, Scenario], top: str, bottom: str) -> float:
    """req/s of one scenario over another's."""
    return results[top].summary.requests_per_s / results[bottom].summary.requests_per_s


# ---- goals ----


def _at_least(goal: str, target: float, value: float, extra: str = "") -> Goal:
    return Goal(goal, f"≥ {target:.2f}", f"{value:.2f}{extra}", value >= target)


def _ratio_goal(results: Mapping[str, Scenario], base: Baselines, key: str, goal: str, target: float) -> Goal:
    rps = results[key].summary.requests_per_s
    return _at_least(goal, target, rps / base.gunicorn, f" (× bare Granian {_ratio(rps, base.granian)})")


def goals(results: Mapping[str, Scenario], base: Baselines, connections: int, big: str | None) -> list[Goal]:
    """The issue's goals; ratios are to bare Flask on gunicorn sync (its jsonify figure)."""
    hot, spread = results[sc.VOTE_HOT].summary, results[sc.VOTE_SPREAD].summary
    worst_p99 = max(hot.p99_ms, spread.p99_ms)
    found = [
        _ratio_goal(results, base, sc.HEALTHZ, "/healthz × bare Flask", 0.80),
        _ratio_goal(results, base, sc.WIDGET, "widget read, no identity × bare Flask", 0.70),
        _ratio_goal(results, base, sc.WIDGET_RECEIPT, "widget read for a voter (receipt) × bare Flask", 0.70),
        _ratio_goal(results, base, sc.VOTE_HOT, "vote on one hot poll × bare Flask", 0.35),
        _at_least("view beacon / widget read, no identity", 0.90, per(results, sc.VIEW, sc.WIDGET)),
        Goal(f"vote p99 at {connections} connections", "≤ 50 ms",
             f"hot {hot.p99_ms:.1f} ms, spread {spread.p99_ms:.1f} ms", worst_p99 <= 50),
    ]
    if sc.RESULTS_BIG in results:
        found.append(_at_least(f"results, {big} ballots", 0.90, per(results, sc.RESULTS_BIG, sc.RESULTS_SMALL)))
    else:
        found.append(Goal("results, big / small poll", "≥ 0.90", "not measured (--skip-big)", None))
    found.append(_at_least("vote: hot poll / spread over 20 polls", 0.90, per(results, sc.VOTE_HOT, sc.VOTE_SPREAD)))
    # The spread goal is about what pollsvc serve (and the baselines) deliver; the pollsvc app on
    # gunicorn is there to show the server's share, its spread is reported in its own table.
    served = [s for key, s in results.items() if not key.startswith(sc.GUNICORN_PREFIX)]
    found.append(_spread_goal(served))
    return found


def _spread_goal(scenarios: list[Scenario]) -> Goal:
    spreads = [(s.summary.spread, s.name) for s in scenarios if s.summary.spread is not None]
    label = "spread of every scenario's repetitions (pollsvc serve and the baselines)"
    if not spreads:
        return Goal(label, "< 20%", "n/a (one repetition)", None)
    worst, name = max(spreads)
    over = sum(1 for spread, _ in spreads if spread >= SPREAD_LIMIT)
    return Goal(label, "< 20%", f"max {worst:.0%} ({name}); {over} of {len(spreads)} at or above 20%",
                worst < SPREAD_LIMIT)


def goal_table(found: list[Goal]) -> list[str]:
    marks = {True: "yes", False: "**no**", None: "—"}
    return ["| goal | target | measured | met |", "| --- | --- | --- | --- |",
            *(f"| {g.goal} | {g.target} | {g.measured} | {marks[g.met]} |" for g in found)]
