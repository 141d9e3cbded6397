"""Browser fixtures: the system Chromium through Playwright, a live pollsvc server, a host site
on another origin (``localhost`` vs the service's ``127.0.0.1``), and axe-core."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page

from tests.helpers import Server, server_env, start_server, wipe

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no system Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # bypass_csp: axe-core is injected as an inline script, which the pages' CSP rightly refuses.
    # Tests of the CSP itself open their own context without it.
    context = browser.new_context(locale="vi-VN", viewport={"width": 1000, "height": 900}, bypass_csp=True)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def csp_page(browser: Any) -> Iterator[Any]:
    """A tab that enforces the pages' Content-Security-Policy (no axe here)."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1000, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def strict_page(browser: Any) -> Iterator[Page]:
    """A tab that enforces the pages' CSP (the shared ``page`` fixture bypasses it for axe)."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def page_errors(strict_page: Page) -> Iterator[list[str]]:
    """Script errors and CSP violations in ``strict_page``: there must be none."""
    page = strict_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "401" not in msg.text
            and "422" not in msg.text and "403" not in msg.text else None)
    yield errors


@pytest.fixture(scope="module")
def live_server(migrated: str, instance_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                host_origin: str) -> Iterator[Server]:
    """One real ``pollsvc serve`` for the module, on a freshly wiped database, with the bot check
    on (at a cost that keeps the suite quick) and the news site as its one allowed origin."""
    wipe(migrated)
    env = server_env(migrated, instance_dir, rate_limit_voters="1000/minute",
                     rate_limit_vote="1000/minute", rate_limit_public_read="100000/minute",
                     cors_origins=host_origin, bot_check="pow", pow_base_cost="50")
    server = start_server(env, tmp_path_factory.mktemp("browser-server"), workers=1)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_admin_key(live_server: Server) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "pollsvc.cli", "create-api-key", "--role", "admin",
                          "--name", "browser tests"], env=live_server.env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def live_api(live_server: Server, live_admin_key: str) -> Callable[..., requests.Response]:
    """``live_api("POST", "/api/v1/polls", json=...)`` with the admin key."""

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {live_admin_key}", **kwargs.pop("headers", {})}
        return requests.request(method, live_server.url + path, headers=headers, timeout=10, **kwargs)

    return call


class _HostSite(ThreadingHTTPServer):
    pages: dict[str, str]


class _HostHandler(BaseHTTPRequestHandler):
    server: _HostSite

    def do_GET(self) -> None:
        body = self.server.pages.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def _serve_site() -> _HostSite:
    server = _HostSite(("127.0.0.1", 0), _HostHandler)
    server.pages = {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def host_server() -> Iterator[_HostSite]:
    server = _serve_site()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def other_site() -> Iterator[Callable[[str, str], str]]:
    """Some other site (``http://localhost:OTHER_PORT``), not among the service's allowed origins:
    ``other_site("/p.html", html)`` returns the URL."""
    server = _serve_site()

    def add(path: str, html: str) -> str:
        server.pages[path] = html
        return f"http://localhost:{server.server_address[1]}{path}"

    yield add
    server.shutdown()


@pytest.fixture(scope="session")
def host_origin(host_server: _HostSite) -> str:
    """The news site's origin: the one site the service lets call its API and frame its embeds."""
    return f"http://localhost:{host_server.server_address[1]}"


@pytest.fixture(scope="session")
def host_site(host_server: _HostSite, host_origin: str) -> Callable[[str, str], str]:
    """A news site on ``http://localhost:PORT``: ``host_site("/a.html", html)`` returns the URL."""

    def add(path: str, html: str) -> str:
        host_server.pages[path] = html
        return host_origin + path

    return add


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm install)")
    return AXE.read_text()
