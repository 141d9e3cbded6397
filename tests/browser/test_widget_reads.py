"""The widget's reads are identity-free: a first-time reader sends no custom header at all, a reader
who has voted sends the receipts of those votes (``X-Poll-Receipt``), never the voter token."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from pollsvc.identity import sign_user_assertion
from tests.browser.helpers import Api, article_page, host_page, make_poll
from tests.helpers import USER_SECRET, Server

pytestmark = pytest.mark.browser

Host = Callable[[str, str], str]

BLOCK_STORAGE = """Object.defineProperty(window, "localStorage", {
    configurable: true, get() { throw new DOMException("The operation is insecure.", "SecurityError"); }});"""


class ApiRequests:
    """The requests the page makes to the service's API, with every header they carry."""

    def __init__(self, page: Page, server: Server) -> None:
        self.prefix = f"{server.url}/api/v1/"
        self.seen: list[Request] = []
        page.on("request", lambda r: self.seen.append(r) if r.url.startswith(self.prefix) else None)

    def clear(self) -> None:
        self.seen.clear()

    def calls(self, method: str, path: str) -> list[dict[str, str]]:
        """The headers of each ``method path`` request (path after ``/api/v1``)."""
        return [r.all_headers() for r in self.seen if r.method == method and r.url == self.prefix + path]

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.removeprefix(self.prefix)}" for r in self.seen]

    def besides(self, *paths: str) -> set[str]:
        """What the page requested other than ``paths``, live re-reads of open polls and view reports."""
        return {p for p in self.paths() if p not in paths and p != "POST views"}


def stored(page: Page, server: Server, kind: str) -> Any:
    text = page.evaluate("key => localStorage.getItem(key)", f"pollsvc:{kind}:{server.url}")
    return None if text is None else json.loads(text)


def vote_in_page(page: Page, label: str, button: str = "Bình chọn") -> None:
    page.get_by_label(label).check()
    page.get_by_role("button", name=button).click()


def test_first_time_reader_sends_no_identity_and_no_custom_header(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "first-read")
    api = ApiRequests(page, live_server)
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r) if "/articles/first-read/polls" in r.url else None)
    page.goto(article_page(host_site, live_server, "first-read"))
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()

    reads = api.calls("GET", "articles/first-read/polls")  # the first, and any live re-read
    for headers in reads:
        assert "x-voter-token" not in headers
        assert "x-poll-receipt" not in headers
        assert "x-poll-user" not in headers
        assert "content-type" not in headers  # a simple CORS GET: no preflight
    assert responses[0].headers["cache-control"].startswith("public")  # shared-cacheable
    assert responses[0].json()["polls"][0]["id"] == poll["id"]
    # While the reader reads, the widget pays the proof of work for a token in the background
    # (after the read, never before it and never on it), so that voting does not wait.
    page.wait_for_function(f"() => localStorage.getItem('pollsvc:voter:{live_server.url}')")
    assert api.paths()[:3] == ["GET articles/first-read/polls", "GET voters/challenge", "POST voters"]
    assert api.besides("GET articles/first-read/polls") == {"GET voters/challenge", "POST voters"}
    assert len(api.calls("POST", "voters")) == 1
    assert stored(page, live_server, "receipts") is None  # nothing about the reader's votes yet
    assert stored(page, live_server, "articles") is None


def test_voter_reloads_with_a_receipt_and_sees_the_results(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    voted = make_poll(live_api, "receipt-read", results_visibility="after_vote")
    other = make_poll(live_api, "receipt-read", question="Câu hỏi khác?", results_visibility="after_vote")
    api = ApiRequests(page, live_server)
    url = article_page(host_site, live_server, "receipt-read")
    page.goto(url)
    group = page.get_by_role("group", name="Bạn thấy hội nghị thế nào?")
    group.get_by_label("Bình thường").check()
    group.get_by_role("button", name="Bình chọn").click()
    expect(group).to_contain_text("Cảm ơn bạn đã tham gia bình chọn.")

    (vote,) = api.calls("POST", f"polls/{voted['id']}/votes")
    assert len(vote["x-voter-token"]) > 20  # votes still carry the voter token
    receipts = stored(page, live_server, "receipts")
    receipt = receipts[str(voted["id"])]
    assert receipt.startswith(f"{voted['id']}.t.") and 30 < len(receipt) < 80
    assert stored(page, live_server, "articles") == {"receipt-read": [voted["id"]]}

    api.clear()
    page.reload()
    group = page.get_by_role("group", name="Bạn thấy hội nghị thế nào?")
    expect(group.locator(".res li")).to_have_count(3)
    expect(group.locator(".res li").nth(1)).to_contain_text("100,0")
    expect(group.locator(".res li").nth(1)).to_contain_text("1 phiếu")
    expect(group).to_contain_text("1 người đã tham gia bình chọn")
    expect(group.get_by_role("button", name="Bình chọn")).to_have_count(0)
    expect(group.get_by_role("radio")).to_have_count(0)
    # the poll not voted in is still open to this reader, without results
    other_group = page.get_by_role("group", name="Câu hỏi khác?")
    expect(other_group.get_by_role("button", name="Bình chọn")).to_be_visible()
    expect(other_group.locator(".res")).to_have_count(0)

    reads = api.calls("GET", "articles/receipt-read/polls")
    assert reads
    for headers in reads:
        assert headers["x-poll-receipt"] == receipt
        assert "x-voter-token" not in headers
    assert api.besides("GET articles/receipt-read/polls") == set()
    # the article read taught the widget every poll of the article
    assert stored(page, live_server, "articles") == {"receipt-read": [voted["id"], other["id"]]}

    # one poll embedded alone: its read carries that poll's receipt
    api.clear()
    page.goto(host_page(host_site, live_server, "receipt-one", f'<div data-pollsvc-poll="{voted["id"]}"></div>'))
    expect(page.locator("[data-pollsvc-poll] >> .res li").nth(1)).to_contain_text("100,0")
    headers = api.calls("GET", f"polls/{voted['id']}")[0]
    assert headers["x-poll-receipt"] == receipt
    assert "x-voter-token" not in headers


def test_voting_works_with_local_storage_blocked(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "no-storage")
    page.context.add_init_script(BLOCK_STORAGE)
    api = ApiRequests(page, live_server)
    page.goto(article_page(host_site, live_server, "no-storage"))
    assert page.evaluate("() => { try { localStorage; return 'open'; } catch (e) { return e.name; } }") \
        == "SecurityError"

    vote_in_page(page, "Chưa rõ")
    live = page.locator("[data-pollsvc-article] >> [aria-live=polite]")
    expect(live).to_contain_text("Cảm ơn bạn đã tham gia bình chọn.")
    expect(live).to_contain_text("1 người đã tham gia bình chọn")
    expect(live.locator(".res li").nth(2)).to_contain_text("100,0")
    assert len(api.calls("POST", f"polls/{poll['id']}/votes")) == 1

    # in this page view, the receipt is remembered in memory: a widget added later shows the results
    api.clear()
    page.evaluate("""() => {
        const div = document.createElement('div');
        div.id = 'later';
        div.setAttribute('data-pollsvc-article', 'no-storage');
        document.querySelector('main').appendChild(div);
    }""")
    expect(page.locator("#later >> .res li").nth(2)).to_contain_text("100,0")
    expect(page.locator("#later >> button")).to_have_count(0)
    reads = api.calls("GET", "articles/no-storage/polls")  # the new widget's, and the first's re-reads
    assert reads
    for headers in reads:
        assert headers["x-poll-receipt"].startswith(f"{poll['id']}.t.")
        assert "x-voter-token" not in headers


def test_a_tampered_receipt_is_dropped_and_a_new_vote_restores_it(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "tampered")
    api = ApiRequests(page, live_server)
    page.goto(article_page(host_site, live_server, "tampered"))
    vote_in_page(page, "Rất hữu ích")
    expect(page.get_by_text("Cảm ơn bạn đã tham gia bình chọn.")).to_be_visible()
    key = str(poll["id"])
    receipt = stored(page, live_server, "receipts")[key]
    forged = receipt[:-4] + ("AAAA" if not receipt.endswith("AAAA") else "BBBB")  # a bad signature
    page.evaluate("([k, v]) => localStorage.setItem(k, v)",
                  [f"pollsvc:receipts:{live_server.url}", json.dumps({key: forged})])

    api.clear()
    page.reload()
    # the server does not take it: the reader is shown the poll as to anyone, and the widget forgets it
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    assert api.calls("GET", "articles/tampered/polls")[0]["x-poll-receipt"] == forged
    assert stored(page, live_server, "receipts") == {}  # forgotten before the poll is drawn

    # voting again: this browser's token already voted, and the 409 brings a valid receipt back
    vote_in_page(page, "Bình thường")
    expect(page.get_by_text("Bạn đã bình chọn cho câu hỏi này.")).to_be_visible()
    expect(page.locator("[data-pollsvc-article] >> .res li").nth(0)).to_contain_text("100,0")
    assert stored(page, live_server, "receipts")[key] == receipt

    api.clear()
    page.reload()
    expect(page.locator("[data-pollsvc-article] >> .res li").nth(0)).to_contain_text("100,0")
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(0)
    assert api.calls("GET", "articles/tampered/polls")[0]["x-poll-receipt"] == receipt


def test_garbage_in_storage_never_breaks_a_read(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "garbage")
    url = article_page(host_site, live_server, "garbage")
    page.goto(url)
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    page.evaluate("""([receipts, articles, id]) => {
        localStorage.setItem(articles, JSON.stringify({garbage: [id]}));
        localStorage.setItem(receipts, JSON.stringify({[id]: "not\\na header value"}));
    }""", [f"pollsvc:receipts:{live_server.url}", f"pollsvc:articles:{live_server.url}", poll["id"]])
    api = ApiRequests(page, live_server)
    page.reload()
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    assert "x-poll-receipt" not in api.calls("GET", "articles/garbage/polls")[0]
    assert stored(page, live_server, "receipts") == {}

    page.evaluate("key => localStorage.setItem(key, '{not json')", f"pollsvc:receipts:{live_server.url}")
    page.reload()
    vote_in_page(page, "Chưa rõ")
    expect(page.get_by_text("Cảm ơn bạn đã tham gia bình chọn.")).to_be_visible()
    assert list(stored(page, live_server, "receipts")) == [str(poll["id"])]


def test_a_signed_in_readers_receipt_is_not_sent_for_another_reader(
        page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "user-receipt", dedup="user")

    def as_reader(user_id: str) -> str:
        assertion = sign_user_assertion(USER_SECRET, user_id, int(time.time()) + 3600)
        return host_page(host_site, live_server, f"user-receipt-{user_id}",
                         f'<div data-pollsvc-article="user-receipt" data-pollsvc-user="{assertion}"></div>')

    api = ApiRequests(page, live_server)
    page.goto(as_reader("reader-7"))
    vote_in_page(page, "Bình thường")
    expect(page.get_by_text("Cảm ơn bạn đã tham gia bình chọn.")).to_be_visible()
    receipt, user = stored(page, live_server, "receipts")[str(poll["id"])]
    assert receipt.startswith(f"{poll['id']}.u.") and user == "reader-7"

    # another reader signs in on this browser: not told they voted, and may vote
    api.clear()
    page.goto(as_reader("reader-8"))
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    headers = api.calls("GET", "articles/user-receipt/polls")[0]
    assert "x-poll-receipt" not in headers and headers["x-poll-user"].startswith("reader-8:")

    # the first reader again: the receipt goes along with their assertion
    api.clear()
    page.goto(as_reader("reader-7"))
    expect(page.locator("[data-pollsvc-article] >> .res li").nth(1)).to_contain_text("100,0")
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(0)
    headers = api.calls("GET", "articles/user-receipt/polls")[0]
    assert headers["x-poll-receipt"] == receipt and "x-voter-token" not in headers


def test_only_the_guard_global_is_added(page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    make_poll(live_api, "globals")
    page.context.add_init_script("window.__before = Object.getOwnPropertyNames(window);")
    page.goto(article_page(host_site, live_server, "globals"))
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    added = page.evaluate("() => Object.getOwnPropertyNames(window).filter(k => !window.__before.includes(k))")
    assert sorted(added) == ["__before", "__pollsvcWidget"]
