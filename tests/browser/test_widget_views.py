"""Viewable impressions from the widget: at least half of a poll on screen for a second, once per poll
and page view, batched into one beacon (``POST /api/v1/views``, text/plain JSON), in the script embed
and in the iframe page, and counted by the service."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from pollsvc.demo import DEMO_ARTICLE_ID, DEMO_POLL
from tests.browser.helpers import Api, host_page, make_poll
from tests.helpers import Server

pytestmark = pytest.mark.browser

Host = Callable[[str, str], str]
SPACER = '<div style="height: 2400px">Nội dung bài viết.</div>'
HIDE = """state => {
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


class Beacons:
    """The view reports the page (or its frames) sends: when, to where, with what."""

    def __init__(self, page: Page, server: Server) -> None:
        self.url = f"{server.url}/api/v1/views"
        self.seen: list[tuple[float, Request]] = []
        page.on("request", lambda r: self.seen.append((time.monotonic(), r)) if r.url == self.url else None)

    def polls(self) -> list[list[int]]:
        """The poll ids of each report, in the order sent."""
        return [json.loads(r.post_data or "")["polls"] for _, r in self.seen]

    def wait(self, page: Page, count: int, timeout: float = 6.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert len(self.seen) >= count, f"{len(self.seen)} view reports, expected {count}"


def poll_with(live_api: Api, article_id: str, question: str, **fields: Any) -> dict[str, Any]:
    return make_poll(live_api, article_id, question=question,
                     options=[{"label": "Có"}, {"label": "Không"}], **fields)


def groups_visible(page: Page, *questions: str) -> None:
    for question in questions:
        expect(page.get_by_role("group", name=question).first).to_be_visible()


def views_of(live_api: Api, poll_id: int, expected: int, timeout: float = 10.0) -> int:
    """The poll's reported views once they reach ``expected`` (they are flushed every few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        views = live_api("GET", f"/api/v1/polls/{poll_id}/results").json()["views"]
        if views >= expected or time.monotonic() > deadline:
            return int(views)
        time.sleep(0.25)


def test_polls_in_view_for_a_second_are_reported_together_once_per_page_view(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    page.set_viewport_size({"width": 1000, "height": 1400})
    first = poll_with(live_api, "views-batch", "Câu hỏi một?")
    second = poll_with(live_api, "views-batch", "Câu hỏi hai?")
    below = poll_with(live_api, "views-below", "Câu hỏi cuối bài?")
    url = host_page(host_site, live_server, "views-batch", f"""
        <div data-pollsvc-article="views-batch"></div>
        <div data-pollsvc-poll="{first['id']}"></div>
        {SPACER}<div data-pollsvc-article="views-below"></div>""")
    beacons = Beacons(page, live_server)

    page.goto(url)
    groups_visible(page, "Câu hỏi một?", "Câu hỏi hai?")
    shown = time.monotonic()
    beacons.wait(page, 1)
    page.wait_for_timeout(1500)  # time for a second report, which must not come

    # One report for both polls in view: the poll shown twice counts once; the one below the fold
    # not at all; and only after they were on screen for a second.
    assert [sorted(ids) for ids in beacons.polls()] == [sorted([first["id"], second["id"]])]
    sent_at, report = beacons.seen[0]
    assert sent_at - shown >= 1.0
    assert report.method == "POST"
    assert report.resource_type == "ping"  # navigator.sendBeacon
    headers = report.all_headers()
    assert headers["content-type"].startswith("text/plain")  # no preflight
    assert "cookie" not in headers and "x-voter-token" not in headers
    assert report.response() is not None and report.response().status == 204  # type: ignore[union-attr]

    # Scrolled to later: reported then, alone; back up and down again: nothing more.
    page.get_by_role("group", name="Câu hỏi cuối bài?").scroll_into_view_if_needed()
    beacons.wait(page, 2)
    page.mouse.wheel(0, -5000)
    page.wait_for_timeout(1500)
    page.get_by_role("group", name="Câu hỏi cuối bài?").scroll_into_view_if_needed()
    page.wait_for_timeout(2500)
    assert beacons.polls()[1:] == [[below["id"]]]

    # A new page view reports again (the service, not the widget, dedups a reader's reloads).
    page.goto(url)
    groups_visible(page, "Câu hỏi một?")
    beacons.wait(page, 3)
    assert sorted(beacons.polls()[2]) == sorted([first["id"], second["id"]])


def test_a_poll_scrolled_past_is_not_a_view(page: Page, live_server: Server, live_api: Api,
                                           host_site: Host) -> None:
    poll_with(live_api, "views-passed", "Lướt qua?")
    end = poll_with(live_api, "views-end", "Cuối trang?")
    url = host_page(host_site, live_server, "views-passed", f"""{SPACER}
        <div data-pollsvc-article="views-passed"></div>{SPACER}
        <div data-pollsvc-article="views-end"></div>""")
    beacons = Beacons(page, live_server)
    page.goto(url)
    expect(page.get_by_role("group", name="Cuối trang?")).to_be_attached()
    page.wait_for_timeout(1500)
    assert beacons.seen == []  # nothing on screen yet

    page.get_by_role("group", name="Lướt qua?").scroll_into_view_if_needed()
    page.wait_for_timeout(400)  # a reader scrolling by
    page.get_by_role("group", name="Cuối trang?").scroll_into_view_if_needed()
    beacons.wait(page, 1)
    page.wait_for_timeout(2500)
    assert beacons.polls() == [[end["id"]]]  # not the poll in the middle


def test_a_hidden_page_stops_the_clock_and_a_leaving_reader_still_reports(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = poll_with(live_api, "views-hidden", "Tab ẩn?")
    url = host_page(host_site, live_server, "views-hidden", '<div data-pollsvc-article="views-hidden"></div>')
    beacons = Beacons(page, live_server)
    page.goto(url)
    groups_visible(page, "Tab ẩn?")
    page.evaluate(HIDE, "hidden")  # another tab comes to the front within the first second
    page.wait_for_timeout(2500)
    assert beacons.seen == []

    page.evaluate(HIDE, "visible")
    back = time.monotonic()
    beacons.wait(page, 1)
    assert beacons.seen[0][0] - back >= 1.0
    assert beacons.polls() == [[poll["id"]]]

    # A view not yet sent (the batch waits a second for others) goes when the reader leaves.
    other = poll_with(live_api, "views-leave", "Rời trang?")
    page.goto(host_page(host_site, live_server, "views-leave", '<div data-pollsvc-article="views-leave"></div>'))
    groups_visible(page, "Rời trang?")
    page.wait_for_timeout(1300)
    page.goto(host_site("/elsewhere.html", "<!doctype html><title>Khác</title><p>Trang khác.</p>"))
    # (Playwright sees no request of a page that has gone: the service's count tells.)
    assert views_of(live_api, other["id"], 1) == 1


def test_without_send_beacon_a_keepalive_fetch_reports_the_view(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = poll_with(live_api, "views-fetch", "Không có beacon?")
    page.context.add_init_script("delete Navigator.prototype.sendBeacon;")
    beacons = Beacons(page, live_server)
    page.goto(host_page(host_site, live_server, "views-fetch", '<div data-pollsvc-article="views-fetch"></div>'))
    groups_visible(page, "Không có beacon?")
    beacons.wait(page, 1)
    report = beacons.seen[0][1]
    assert report.resource_type == "fetch"
    assert report.all_headers()["content-type"].startswith("text/plain")
    assert beacons.polls() == [[poll["id"]]]
    assert views_of(live_api, poll["id"], 1) == 1


def test_the_iframe_embed_reports_when_the_frame_is_in_view(page: Page, live_server: Server, live_api: Api,
                                                           host_site: Host) -> None:
    poll = poll_with(live_api, "views-frame", "Trong khung?")
    page.goto(host_site("/views-frame.html", f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Khung</title></head><body>{SPACER}
<iframe src="{live_server.url}/embed/polls/{poll['id']}" title="Bình chọn"
        style="width:600px;height:320px;border:0"></iframe>{SPACER}</body></html>"""))
    beacons = Beacons(page, live_server)
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("group", name="Trong khung?")).to_be_attached()
    page.wait_for_timeout(1800)
    assert beacons.seen == []  # the frame is far below the host page's fold

    page.locator("iframe").scroll_into_view_if_needed()
    beacons.wait(page, 1)
    assert beacons.polls() == [[poll["id"]]]
    headers = beacons.seen[0][1].all_headers()
    assert headers["origin"] == live_server.url  # the embed page is the service's own
    assert headers["content-type"].startswith("text/plain")


def test_a_view_on_a_strict_csp_news_site_is_counted(
        strict_page: Page, page_errors: list[str], live_server: Server, live_api: Api, host_site: Host) -> None:
    page = strict_page
    poll = poll_with(live_api, "views-counted", "Được đếm?")
    url = host_site("/views-counted.html", f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Tin</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src {live_server.url};
  connect-src {live_server.url}; style-src 'self'">
</head><body><main><h1>Tin</h1><div data-pollsvc-article="views-counted"></div>
<script src="{live_server.url}/widget.js" async></script></main></body></html>""")
    beacons = Beacons(page, live_server)
    page.goto(url)
    groups_visible(page, "Được đếm?")
    beacons.wait(page, 1)
    assert views_of(live_api, poll["id"], 1) == 1
    results = live_api("GET", f"/api/v1/polls/{poll['id']}/results").json()
    assert (results["participants"], results["engagement_rate"]) == (0, 0.0)
    assert page_errors == []


def test_the_demo_article_reports_its_view_under_its_csp(csp_page: Page, live_server: Server,
                                                         live_api: Api) -> None:
    page = csp_page
    poll = make_poll(live_api, DEMO_ARTICLE_ID, **{k: v for k, v in DEMO_POLL.items() if k != "article_id"})
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    beacons = Beacons(page, live_server)
    page.goto(f"{live_server.url}/demo")
    group = page.get_by_role("group", name=str(DEMO_POLL["question"]))
    group.scroll_into_view_if_needed()
    beacons.wait(page, 1)
    assert beacons.polls() == [[poll["id"]]]
    assert views_of(live_api, poll["id"], 1) == 1
    assert violations == []

