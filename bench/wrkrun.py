"""Run ``wrk`` and read its ``--latency`` report (and vote.lua's status counts)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from statistics import median

WRK = shutil.which("wrk") or "/usr/bin/wrk"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkRun:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    count_201: int | None = None
    count_other: int | None = None


@dataclass
class Summary:
    """Medians over the repetitions of one scenario."""

    runs: list[WrkRun]

    @property
    def requests_per_s(self) -> float:
        return median(r.requests_per_s for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return median(r.p99_ms for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.non_2xx + r.socket_errors for r in self.runs)

    @property
    def spread(self) -> float | None:
        """(max - min) / median of the repetitions' requests/s; None with fewer than two."""
        if len(self.runs) < 2 or not self.requests_per_s:
            return None
        rates = [r.requests_per_s for r in self.runs]
        return (max(rates) - min(rates)) / self.requests_per_s


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkRun:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    run = WrkRun(rps, p50, p99, int(non_2xx.group(1)) if non_2xx else 0,
                 sum(int(g) for g in socket.groups()) if socket else 0)
    created = re.search(r"BENCH_201 (\d+)", output)
    if created:
        run.count_201 = int(created.group(1))
        run.count_other = int(re.search(r"BENCH_OTHER (\d+)", output).group(1))  # type: ignore[union-attr]
    return run


def run_wrk(url: str, *, duration: float, connections: int, headers: dict[str, str] | None = None,
            script: Path | None = None, script_args: list[str] | None = None) -> WrkRun:
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if script_args:
        cmd += ["--", *script_args]
    output = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    return parse(output)
