"""Live results in the widget: an open poll is read again at the pace the service asks
(``X-Poll-Refresh``), revalidated with its ETag, only while the page is visible, and no more once
the poll is closed or the service stops asking; new figures replace the old ones in place, and a
reader's unsent choice survives them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, Request, Response, Route, expect

from tests.browser.helpers import Api, article_page, host_page, make_poll, vote
from tests.helpers import Server

pytestmark = pytest.mark.browser

Host = Callable[[str, str], str]
VISIBILITY = """state => {
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


class Reads:
    """The widget's reads of one API path, and the answers."""

    def __init__(self, page: Page, server: Server, path: str) -> None:
        self.url = f"{server.url}/api/v1/{path}"
        self.requests: list[tuple[float, Request]] = []
        self.responses: list[Response] = []
        self.preflights = 0
        page.on("request", self._request)
        page.on("response", lambda r: self.responses.append(r) if r.url.split("?")[0] == self.url else None)

    def _request(self, request: Request) -> None:
        if request.url.split("?")[0] == self.url:  # a voter's re-reads add ?voter_pass=
            if request.method == "OPTIONS":
                self.preflights += 1
            else:
                self.requests.append((time.monotonic(), request))

    def count(self) -> int:
        return len(self.requests)

    def refresh(self) -> int:
        """The interval the service asked for on the first read (seconds)."""
        return int(self.responses[0].headers["x-poll-refresh"])

    def wait_for(self, page: Page, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < count and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert self.count() >= count, f"{self.count()} reads, expected {count}"


def count_line(page: Page) -> Any:
    return page.locator("[data-pollsvc-article], [data-pollsvc-poll]").locator(".count").first


def not_modified(server: Server) -> float:
    """How many public poll reads the service has answered with 304 (its /metrics)."""
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    return sum(float(m.group(1)) for m in re.finditer(
        r'^pollsvc_http_requests_total\{[^}]*article_polls[^}]*status="304"[^}]*\} (\S+)$', text, re.M))


def test_new_votes_show_in_place_and_the_readers_choice_stays(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "live-figures", results_visibility="always")
    reads = Reads(page, live_server, "articles/live-figures/polls")
    page.goto(article_page(host_site, live_server, "live-figures"))
    expect(count_line(page)).to_have_text("0 người đã tham gia bình chọn")
    interval = reads.refresh()
    assert 1 <= interval <= 3  # the goal: new votes on screen within 3 seconds
    page.get_by_label("Chưa rõ").check()  # the reader has chosen, not yet sent
    bars = page.locator("[data-pollsvc-article] >> .bar span")
    bar = bars.first.element_handle()

    vote(live_server, poll, 0)
    voted = time.monotonic()
    expect(count_line(page)).to_have_text("1 người đã tham gia bình chọn", timeout=(interval + 2) * 1000)
    assert time.monotonic() - voted <= interval + 1.5
    results = page.locator("[data-pollsvc-article] >> .res")
    expect(results).to_contain_text("100,0")
    expect(page.get_by_label("Chưa rõ")).to_be_checked()
    expect(page.get_by_label("Chưa rõ")).to_be_focused()
    # the same bar, grown: updated where it stands, not drawn again
    assert bars.first.evaluate("(e, old) => e === old", bar)
    expect(bars.first).to_have_attribute("style", "width: 100%;")
    # figures that move every few seconds are not read out to a screen reader each time
    assert count_line(page).get_attribute("aria-live") == "off"

    # The reader votes; their re-reads now name the poll's voter pass (no receipt: one shared
    # URL for all its voters, which a CDN may answer), and still follow.
    page.get_by_role("button", name="Bình chọn").click()
    expect(count_line(page)).to_have_text("2 người đã tham gia bình chọn")
    expect(page.get_by_text("Cảm ơn bạn đã tham gia bình chọn.")).to_be_visible()
    vote(live_server, poll, 1)
    expect(count_line(page)).to_have_text("3 người đã tham gia bình chọn", timeout=(interval + 2) * 1000)
    last = reads.requests[-1][1]
    assert "voter_pass=" in last.url and "x-poll-receipt" not in last.all_headers()


def test_a_voter_follows_an_after_vote_poll_through_one_shared_url(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "live-voters", results_visibility="after_vote")
    reads = Reads(page, live_server, "articles/live-voters/polls")
    page.goto(article_page(host_site, live_server, "live-voters"))
    page.get_by_label("Chưa rõ").check()
    page.get_by_role("button", name="Bình chọn").click()
    expect(page.get_by_text("Cảm ơn bạn đã tham gia bình chọn.")).to_be_visible()
    vote(live_server, poll, 0)
    expect(count_line(page)).to_have_text("2 người đã tham gia bình chọn", timeout=(reads.refresh() + 2) * 1000)
    expect(page.locator("[data-pollsvc-article] >> .res").first).to_contain_text("50,0")  # results, as a voter
    answer = reads.responses[-1]
    assert "voter_pass=" in answer.url and "x-poll-receipt" not in answer.request.all_headers()
    assert answer.headers["cache-control"].startswith("public")  # shared by every voter of the poll


def test_rereads_are_revalidations_at_the_pace_the_service_asks(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    make_poll(live_api, "live-etag")
    reads = Reads(page, live_server, "articles/live-etag/polls")
    before = not_modified(live_server)
    page.goto(article_page(host_site, live_server, "live-etag"))
    expect(count_line(page)).to_be_visible()
    interval = reads.refresh()
    reads.wait_for(page, 4, timeout=4 * interval + 3)

    first, *again = [r for _, r in reads.requests]
    etag = reads.responses[0].headers["etag"]
    assert "if-none-match" not in first.all_headers()
    for request in again:
        headers = request.all_headers()
        assert headers["if-none-match"] == etag  # unchanged: the service answers 304, nothing re-sent
        assert "content-type" not in headers and "x-voter-token" not in headers
    assert reads.preflights == 0  # still simple CORS reads: a CDN can answer them
    assert not_modified(live_server) - before >= 2
    gaps = [b - a for (a, _), (b, _) in zip(reads.requests, reads.requests[1:], strict=False)]
    assert all(gap >= interval - 0.3 for gap in gaps), gaps


def test_a_hidden_page_does_not_read_and_reads_at_once_when_seen_again(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "live-hidden")
    reads = Reads(page, live_server, "articles/live-hidden/polls")
    page.goto(article_page(host_site, live_server, "live-hidden"))
    expect(count_line(page)).to_be_visible()
    interval = reads.refresh()
    page.evaluate(VISIBILITY, "hidden")
    vote(live_server, poll)
    page.wait_for_timeout((2 * interval + 1) * 1000)
    assert reads.count() == 1
    expect(count_line(page)).to_have_text("0 người đã tham gia bình chọn")

    page.evaluate(VISIBILITY, "visible")
    shown = time.monotonic()
    expect(count_line(page)).to_have_text("1 người đã tham gia bình chọn")
    assert reads.requests[1][0] - shown < 0.5  # not a whole interval later
    reads.wait_for(page, 3, timeout=interval + 2)  # and on at the usual pace


def test_closing_the_poll_stops_the_reads(page: Page, live_server: Server, live_api: Api,
                                          host_site: Host) -> None:
    poll = make_poll(live_api, "live-close")
    reads = Reads(page, live_server, "articles/live-close/polls")
    page.goto(article_page(host_site, live_server, "live-close"))
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    interval = reads.refresh()
    page.get_by_label("Bình thường").check()

    assert live_api("PATCH", f"/api/v1/polls/{poll['id']}", json={"status": "closed"}).status_code == 200
    expect(page.get_by_text("Bình chọn đã kết thúc")).to_be_visible(timeout=(interval + 2) * 1000)
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(0)
    seen = reads.count()
    assert "x-poll-refresh" not in reads.responses[-1].headers
    page.wait_for_timeout((2 * interval + 1) * 1000)
    assert reads.count() == seen


def test_no_header_no_rereads(page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    """A closed poll is not followed; nor an open one when the service (or a proxy) drops the header."""
    closed = make_poll(live_api, "live-closed", status="closed")
    open_poll = make_poll(live_api, "live-no-header")

    def without_header(route: Route) -> None:
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "x-poll-refresh"}
        route.fulfill(response=response, headers=headers)

    page.route(f"{live_server.url}/api/v1/polls/{open_poll['id']}", without_header)
    reads_closed = Reads(page, live_server, "articles/live-closed/polls")
    reads_open = Reads(page, live_server, f"polls/{open_poll['id']}")
    page.goto(host_page(host_site, live_server, "live-none", f"""
        <div data-pollsvc-article="live-closed"></div><div data-pollsvc-poll="{open_poll['id']}"></div>"""))
    expect(page.get_by_text("Bình chọn đã kết thúc")).to_be_visible()
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    assert "x-poll-refresh" not in reads_closed.responses[0].headers
    page.wait_for_timeout(5000)
    assert (reads_closed.count(), reads_open.count()) == (1, 1)
    assert closed["id"] != open_poll["id"]


def test_a_reader_who_may_not_see_results_gets_the_count_live(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "live-private", results_visibility="after_close")
    reads = Reads(page, live_server, f"polls/{poll['id']}")
    page.goto(host_page(host_site, live_server, "live-private", f'<div data-pollsvc-poll="{poll["id"]}"></div>'))
    expect(count_line(page)).to_have_text("0 người đã tham gia bình chọn")
    vote(live_server, poll, 2)
    expect(count_line(page)).to_have_text("1 người đã tham gia bình chọn", timeout=(reads.refresh() + 2) * 1000)
    expect(page.locator("[data-pollsvc-poll] >> .res")).to_have_count(0)
    assert all(p["votes"] is None for p in reads.responses[-1].json()["options"])


def test_an_edit_redraws_the_poll_with_the_readers_choice_kept(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "live-edit", max_choices=2)
    reads = Reads(page, live_server, "articles/live-edit/polls")
    page.goto(article_page(host_site, live_server, "live-edit"))
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    interval = reads.refresh()
    page.get_by_label("Rất hữu ích").check()
    page.get_by_label("Chưa rõ").check()

    # Results become visible to everyone: the poll is drawn again, with the reader's two choices
    # (and the third box still disabled: the limit is reached).
    edit = {"results_visibility": "always", "question": "Hội nghị có hữu ích không?"}
    assert live_api("PATCH", f"/api/v1/polls/{poll['id']}", json=edit).status_code == 200
    expect(page.get_by_role("group", name="Hội nghị có hữu ích không?")).to_be_visible(
        timeout=(interval + 2) * 1000)
    expect(page.locator("[data-pollsvc-article] >> .res")).to_be_visible()
    expect(page.get_by_label("Rất hữu ích")).to_be_checked()
    expect(page.get_by_label("Chưa rõ")).to_be_checked()
    expect(page.get_by_label("Bình thường")).to_be_disabled()

    page.get_by_role("button", name="Bình chọn").click()
    expect(count_line(page)).to_have_text("1 người đã tham gia bình chọn")
    results = live_api("GET", f"/api/v1/polls/{poll['id']}/results").json()
    assert [o["votes"] for o in results["options"]] == [1, 0, 1]
