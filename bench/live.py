"""Live results under a viral article: many open widgets reading one poll, with and without a CDN.

    python -m bench.live [--widgets 1000] [--seconds 60]

``--widgets`` simulated widgets (wrk connections running bench/widget_live.lua) keep one open
``after_vote`` poll on screen for ``--seconds``: a conditional read (If-None-Match) every
``X-Poll-Refresh`` seconds, as widget.js does, 30% of them by voters (with the poll's voter pass,
as widget.js re-reads for a reader who voted). Meanwhile a voter votes every 2 s, and 8 observer widgets (the same
reads, from Python) note when each vote first shows. Run twice: through nginx as a CDN that
honours our Cache-Control (``proxy_cache``, stale-while-revalidate), then straight at the
origin. Prints the reads the widgets made, the reads that reached the origin (pollsvc's access
log), and the delay from a vote's 201 to its display in a widget.

Needs PostgreSQL and Redis as `python -m bench` does, wrk, and nginx (apt-get install nginx-light).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.servers import admin_key, drop_database, flush_redis, pollsvc_serve, recreate_database, service_env
from bench.wrkrun import WRK
from pollsvc.api.polls import LIVE_REFRESH_SECONDS
from pollsvc.testing import ServerProcess, free_port

BENCH = Path(__file__).resolve().parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
VOTE_EVERY = 2.0
VOTER_SHARE = 0.3  # of the open widgets, readers who voted: they re-read with the poll's voter pass
OBSERVERS = 8
NGINX_CONF = """
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-body;
  proxy_temp_path {work}/nginx-proxy;
  fastcgi_temp_path {work}/nginx-fastcgi;
  uwsgi_temp_path {work}/nginx-uwsgi;
  scgi_temp_path {work}/nginx-scgi;
  proxy_cache_path {work}/nginx-cache levels=1:2 keys_zone=polls:10m max_size=100m inactive=10m use_temp_path=off;
  upstream origin {{ server 127.0.0.1:{origin}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_cache polls;
      proxy_cache_lock on;
      proxy_cache_revalidate on;
      proxy_cache_use_stale updating error timeout;
      proxy_cache_background_update on;
    }}
  }}
}}
"""


def start_cdn(work: Path, origin: ServerProcess) -> tuple[subprocess.Popen[bytes], str]:
    """nginx as a CDN edge in front of the origin; it caches what Cache-Control allows."""
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, origin=origin.url.rsplit(":", 1)[1], port=port))
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(work)], stdout=subprocess.DEVNULL,
                               stderr=(work / "nginx-stderr.log").open("wb"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(50):
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError((work / "nginx-stderr.log").read_text())


class VoteWatch:
    """A voter voting every ``VOTE_EVERY`` s, and observer widgets noting when each vote shows."""

    def __init__(self, origin: str, reads: str, poll: dict[str, Any], seconds: float) -> None:
        self.origin, self.reads, self.poll, self.seconds = origin, reads, poll, seconds
        self.votes: list[tuple[float, int]] = []  # (time of the 201, participants it made)
        self.seen: list[list[tuple[float, int]]] = [[] for _ in range(OBSERVERS)]
        self.stop_at = 0.0

    def run(self) -> None:
        self.stop_at = time.monotonic() + self.seconds
        threads = [threading.Thread(target=self.voter)] + [
            threading.Thread(target=self.observer, args=(i,)) for i in range(OBSERVERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def voter(self) -> None:
        session = requests.Session()
        option = self.poll["options"][0]["id"]
        while time.monotonic() < self.stop_at - 2 * LIVE_REFRESH_SECONDS:
            token = session.post(self.origin + "/api/v1/voters", timeout=10).json()["voter_token"]
            answer = session.post(f"{self.origin}/api/v1/polls/{self.poll['id']}/votes", timeout=10,
                                  json={"option_ids": [option]}, headers={"X-Voter-Token": token})
            if answer.status_code == 201:
                self.votes.append((time.monotonic(), answer.json()["poll"]["participants"]))
            time.sleep(VOTE_EVERY)

    def observer(self, index: int) -> None:
        session, etag = requests.Session(), ""
        time.sleep(LIVE_REFRESH_SECONDS * index / OBSERVERS)  # opened at different moments
        while time.monotonic() < self.stop_at:
            answer = session.get(self.reads, headers={"If-None-Match": etag} if etag else {}, timeout=10)
            if answer.status_code == 200:
                etag = answer.headers.get("ETag", "")
                self.seen[index].append((time.monotonic(), answer.json()["participants"]))
            time.sleep(int(answer.headers.get("X-Poll-Refresh", LIVE_REFRESH_SECONDS)))

    def delays(self) -> list[float]:
        """Seconds from each vote's 201 to the first read showing it, for every observer."""
        out = []
        for seen in self.seen:
            for voted_at, participants in self.votes:
                shown = next((at for at, count in seen if count >= participants and at >= voted_at), None)
                if shown is not None:
                    out.append(shown - voted_at)
        return out


def origin_reads(log: Path, start: int, path: str) -> int:
    """The reads of ``path`` (with or without a query) in the server's access log since ``start``."""
    with log.open("rb") as lines:
        lines.seek(start)
        return sum(1 for line in lines if f"GET {path} ".encode() in line or f"GET {path}?".encode() in line)


def run_widgets(target: str, path: str, voters_path: str, widgets: int, seconds: int) -> dict[str, float]:
    out = subprocess.run([WRK, "-t1", f"-c{widgets}", f"-d{seconds}s", "--timeout", "10s", "-s",
                          str(BENCH / "widget_live.lua"), target + path, "--", path,
                          str(LIVE_REFRESH_SECONDS * 1000), voters_path, str(VOTER_SHARE)],
                         capture_output=True, text=True, check=True).stdout
    counts = {k: float(v) for k, v in (line.split() for line in out.splitlines() if line.startswith("BENCH_"))}
    errors = next((line for line in out.splitlines() if "Socket errors" in line), "")
    return {**counts, "socket_errors": 1.0 if errors else 0.0}


def scenario(name: str, reads_base: str, origin: ServerProcess, poll: dict[str, Any], voter_pass: str,
             widgets: int, seconds: int) -> None:
    path = f"/api/v1/polls/{poll['id']}"
    start = origin.log.stat().st_size
    watch = VoteWatch(origin.url, reads_base + path, poll, seconds)
    watcher = threading.Thread(target=watch.run)
    watcher.start()
    counts = run_widgets(reads_base, path, f"{path}?voter_pass={voter_pass}", widgets, seconds)
    watcher.join()
    reached = origin_reads(origin.log, start, path)
    delays = sorted(watch.delays())
    made = counts.get("BENCH_200", 0) + counts.get("BENCH_304", 0) + counts.get("BENCH_OTHER", 0)
    p90 = delays[round(0.9 * (len(delays) - 1))] if delays else float("nan")
    print(f"| {name} | {widgets:,} | {made / seconds:,.0f} | {counts.get('BENCH_304', 0) / max(made, 1):.0%} | "
          f"{reached / seconds:,.1f} | {statistics.median(delays) if delays else float('nan'):.2f} s | "
          f"{p90:.2f} s | {delays[-1] if delays else float('nan'):.2f} s | {len(watch.votes)} | "
          f"{int(counts.get('BENCH_OTHER', 0))} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widgets", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    opts = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # wrk and nginx inherit it
    work = Path(tempfile.mkdtemp(prefix="pollsvc-live-"))
    work.chmod(0o755)  # nginx's workers (user nobody when started as root) keep their cache here
    recreate_database()
    flush_redis()
    env = service_env(work / "instance", postgres=True)
    origin = pollsvc_serve("pollsvc", env, work, 2, 4)
    cdn = None
    try:
        key = {"Authorization": f"Bearer {admin_key(env)}"}
        poll = requests.post(origin.url + "/api/v1/polls", headers=key, timeout=10, json={
            "article_id": "bao-cao-truc-tiep", "question": "Bạn có ủng hộ phương án mới?",
            "results_visibility": "after_vote", "options": [{"label": "Có"}, {"label": "Không"}]}).json()
        token = requests.post(origin.url + "/api/v1/voters", timeout=10).json()["voter_token"]
        voter_pass = requests.post(f"{origin.url}/api/v1/polls/{poll['id']}/votes", timeout=10, headers={
            "X-Voter-Token": token}, json={"option_ids": [poll["options"][0]["id"]]}).json()["poll"]["voter_pass"]
        cdn, cdn_url = start_cdn(work, origin)
        print(f"- {opts.widgets:,} widgets for {opts.seconds} s each run, a read every {LIVE_REFRESH_SECONDS} s; "
              f"an after_vote poll, {VOTER_SHARE:.0%} of the reads by voters (?voter_pass=); a vote every "
              f"{VOTE_EVERY:.0f} s, {OBSERVERS} observer widgets; pollsvc serve 2 workers x 4 threads on "
              f"PostgreSQL + Redis; nginx proxy_cache as the CDN\n")
        print("| run | widgets | widget reads/s | of them 304 | reads/s at the origin | vote shown after: median "
              "| 90th pct | worst | votes | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "| ---: | ---: |")
        scenario("through the CDN", cdn_url, origin, poll, voter_pass, opts.widgets, opts.seconds)
        scenario("straight at the origin", origin.url, origin, poll, voter_pass, opts.widgets, opts.seconds)
        return 0
    finally:
        if cdn is not None:
            cdn.terminate()
            cdn.wait(timeout=10)
        origin.stop()
        drop_database()


if __name__ == "__main__":
    sys.exit(main())
