"""How long a reader's browser takes to earn a voter token: the widget's own solver (`pow.js`)
in headless Chromium, on challenges made as the service makes them, at the base cost and under
adaptive cost.

    python -m bench.pow_solve [--base 40] [--surge 12] [--cap 12]

Each challenge is created with the `altcha` library and the service's `difficulty()`, solved by
`pow.js` in a blank https page (a secure context, as an article page on https is), and
the payload it returns is verified in Python. Prints the median, 90th percentile and worst solve
time per cost, with the machine's details. Needs the system Chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import time
from importlib.metadata import version
from pathlib import Path

import altcha
from playwright.sync_api import sync_playwright

from pollsvc.services.botcheck import ALGORITHM, CHALLENGE_TTL, difficulty

POW_JS = Path(__file__).resolve().parent.parent / "pollsvc" / "web" / "static" / "widget" / "src" / "pow.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
BASE_COST = 10_000  # pollsvc's default POLLSVC_POW_BASE_COST
MAX_COST = 64 * BASE_COST  # and its default cap
SECRET = "bench-pow-secret"
PAGE = "https://article.example/"
BLANK = "<!doctype html><title>pow</title>"
SOLVE = """async (challenge) => {
  const started = performance.now();
  const payload = await solveChallenge(challenge);
  return [performance.now() - started, payload];
}"""


def solve_times(page: object, factor: float, count: int) -> list[float]:
    """Seconds per solve of ``count`` fresh challenges at ``factor`` x the base cost."""
    prefix, iterations = difficulty(BASE_COST, MAX_COST, factor)
    seconds = []
    for _ in range(count):
        challenge = altcha.create_challenge(ALGORITHM, iterations, key_prefix=prefix,
                                            expires_at=int(time.time()) + CHALLENGE_TTL, hmac_secret=SECRET)
        elapsed_ms, payload = page.evaluate(SOLVE, challenge.to_dict())  # type: ignore[attr-defined]
        if not altcha.verify_solution(altcha.Payload.from_base64(payload), SECRET).verified:
            raise SystemExit(f"pow.js returned a solution the service refuses (cost {factor}x)")
        seconds.append(elapsed_ms / 1000)
    return seconds


def row(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (f"| {label} | {statistics.median(seconds):.2f} s | {p90:.2f} s | {ordered[-1]:.2f} s "
            f"| {len(seconds)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=40, help="solves at the base cost")
    parser.add_argument("--surge", type=int, default=12, help="solves at 8x")
    parser.add_argument("--cap", type=int, default=12, help="solves at the cap (64x)")
    args = parser.parse_args()

    print(f"- CPU: {os.cpu_count()} cores; {platform.platform()}; load average at start: "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        print(f"- Chromium {browser.version}, headless; altcha {version('altcha')} (challenges and verification)")
        page = browser.new_page()
        # a blank https page, answered by Playwright itself: a secure context, as an article on https is
        page.route(PAGE, lambda route: route.fulfill(content_type="text/html", body=BLANK))
        page.goto(PAGE)
        page.add_script_tag(content=POW_JS.read_text())
        solve_times(page, 1.0, 2)  # warm-up
        print("\n| cost | median | 90th percentile | worst | solves |\n| --- | ---: | ---: | ---: | ---: |")
        for label, factor, count in (("base", 1.0, args.base), ("8x", 8.0, args.surge),
                                     ("64x (the cap)", 64.0, args.cap)):
            if count:
                print(row(label, solve_times(page, factor, count)), flush=True)
        browser.close()


if __name__ == "__main__":
    main()
