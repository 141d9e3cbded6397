"""The widget on a hostile news page of another origin: a strict CSP, host CSS that forces its own
font size and text rules on every ``div``, a right-to-left page, the same poll twice, a slow API
(layout shift while it loads), an id that does not exist, and English plurals."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, Route, expect

from tests.browser.helpers import Api, article_page, make_poll, save_screenshot
from tests.helpers import Server, mint_token_over_http

pytestmark = pytest.mark.browser

Host = Callable[[str, str], str]

# The host's own rules, as a reader's stylesheet or a careless theme might have them.
HOSTILE_CSS = """main, main * { all: unset; }
html, body, div { font-size: 40px !important; line-height: 3 !important; }
div { letter-spacing: .3em; word-spacing: 1em; text-transform: uppercase; white-space: nowrap;
      text-indent: 4em; font-weight: 700; font-style: italic; }
button { display: none !important; }"""

LONG = "Rất hữu ích cho công việc hằng ngày của cán bộ, công chức và người dân trong huyện"
UNBROKEN = "https://quangninh.example.vn/tin-tuc/hoi-nghi-quan-triet-ket-luan-so-57-KL-TW"


def hostile_page(host_site: Host, server: Server, name: str, embeds: str, *, css: str = HOSTILE_CSS,
                 html_attrs: str = 'lang="vi"', above: str = "", below: str = "") -> str:
    """A host page whose CSP allows the service's script and API, and its own one stylesheet
    (by hash), nothing else."""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    csp = (f"default-src 'none'; script-src {server.url}; connect-src {server.url}; "
           f"style-src 'sha256-{digest}'")
    return host_site(f"/{name}.html", f"""<!doctype html>
<html {html_attrs}><head><meta charset="utf-8"><title>Tin</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<style>{css}</style>
</head><body><main><h1>Tin trong huyện</h1>{above}
{embeds}
<script src="{server.url}/widget.js" async></script>
</main>{below}</body></html>""")


def shadow(page: Page) -> Any:
    """The first host element (locators reach into its open shadow root)."""
    return page.locator("[data-pollsvc-article], [data-pollsvc-poll]").first


def rect(locator: Any) -> dict[str, float]:
    """Where the element is in the viewport (x, y, width, height, right, bottom)."""
    return dict(locator.evaluate("e => e.getBoundingClientRect().toJSON()"))


def px(locator: Any, prop: str) -> float:
    return float(locator.evaluate(f"e => parseFloat(getComputedStyle(e).{prop})"))


def test_host_font_size_and_text_rules_stop_at_the_card(
        strict_page: Page, page_errors: list[str], live_server: Server, live_api: Api, host_site: Host) -> None:
    """``div {font-size: 40px !important}`` and other inherited text rules do not reach into the card;
    after a vote, long labels and big numbers wrap inside a 412 px wide screen."""
    page = strict_page
    page.set_viewport_size({"width": 412, "height": 900})
    poll = make_poll(live_api, "hostile-size", options=[{"label": LONG}, {"label": UNBROKEN}, {"label": "Chưa rõ"}])

    def big_numbers(route: Route) -> None:  # results of a much-read poll, as the vote answer
        response = route.fetch()
        body = response.json()
        if "poll" in body:
            body["poll"]["participants"] = 123456789
            for option in body["poll"]["options"]:
                option["votes"] = 123456789
        route.fulfill(response=response, json=body)

    page.route(f"{live_server.url}/api/v1/polls/{poll['id']}/votes", big_numbers)
    page.goto(hostile_page(host_site, live_server, "hostile-size",
                           '<div data-pollsvc-article="hostile-size" data-lang="vi"></div>'))

    legend = shadow(page).locator("legend")
    expect(legend).to_be_visible()
    assert 17 <= px(legend, "fontSize") <= 19  # 1.125 of the reader's default 16 px, not of 40 px
    card = shadow(page).locator("form")
    styles = card.evaluate("""e => { const s = getComputedStyle(e); return [s.letterSpacing, s.wordSpacing,
        s.textTransform, s.whiteSpace, s.textIndent, s.fontStyle, s.direction, s.textAlign]; }""")
    assert styles == ["normal", "0px", "none", "normal", "0px", "normal", "ltr", "start"]
    assert px(card, "lineHeight") < 30
    assert rect(card)["height"] < 700  # ~1800 px when the 40 px came in

    page.get_by_label(UNBROKEN).check()
    page.get_by_role("button", name="Bình chọn").click()  # host `button {display: none}` stops outside
    expect(shadow(page).locator(".res li")).to_have_count(3)
    expect(shadow(page).locator(".count")).to_contain_text("123.456.789 người đã tham gia bình chọn")
    # nothing sticks out of the card or the screen sideways
    overflow = card.evaluate("""card => {
        const right = card.getBoundingClientRect().right + 0.5;
        return [...card.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > right)
            .map(e => e.className || e.tagName);
    }""")
    assert overflow == []
    assert rect(card)["right"] <= 412
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 412
    save_screenshot(page, "widget-hostile-412px.png")
    assert page_errors == []


def test_rtl_host_page_keeps_the_widget_left_to_right(
        strict_page: Page, page_errors: list[str], live_server: Server, live_api: Api, host_site: Host) -> None:
    """On ``<html dir="rtl">`` the Vietnamese text reads in its own order: the box has ``dir=ltr``."""
    page = strict_page
    make_poll(live_api, "hostile-rtl", results_visibility="always")
    page.goto(hostile_page(host_site, live_server, "hostile-rtl",
                           '<div data-pollsvc-article="hostile-rtl" data-lang="vi"></div>',
                           css="main { display: block; }", html_attrs='lang="ar" dir="rtl"'))
    page.get_by_label("Bình thường").check()
    page.get_by_role("button", name="Bình chọn").click()
    count = shadow(page).locator(".count")
    expect(count).to_have_text("1 người đã tham gia bình chọn")

    box = shadow(page).locator("div[lang]").first
    assert box.get_attribute("dir") == "ltr"
    legend = shadow(page).locator("legend")
    for node in (box, legend, count):
        assert node.evaluate("e => getComputedStyle(e).direction") == "ltr"
    # where the first and last characters are drawn: the first on the left
    ends = """e => { const t = e.firstChild, r = document.createRange();
        r.setStart(t, 0); r.setEnd(t, 1); const first = r.getBoundingClientRect().left;
        r.setStart(t, t.length - 1); r.setEnd(t, t.length); return [first, r.getBoundingClientRect().left]; }"""
    for node in (legend, count, shadow(page).locator(".n").nth(1)):  # "...thế nào?", "1 người...", "(1 phiếu)"
        first, last = node.evaluate(ends)
        assert first < last, node.text_content()
    save_screenshot(page, "widget-rtl-host.png")
    assert page_errors == []


def test_english_singular_and_plural(page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    poll = make_poll(live_api, "hostile-plural", question="How was it?", results_visibility="always",
                     options=[{"label": "Good"}, {"label": "Bad"}])
    page.goto(article_page(host_site, live_server, "hostile-plural", lang="en"))
    expect(page.get_by_text("0 people have voted")).to_be_visible()
    page.get_by_label("Good").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_text("1 person has voted")).to_be_visible()
    results = page.locator("[data-pollsvc-article] >> .res li")
    expect(results.nth(0)).to_contain_text("(1 vote)")
    expect(results.nth(1)).to_contain_text("(0 votes)")

    token = mint_token_over_http(live_server.url)
    assert requests.post(f"{live_server.url}/api/v1/polls/{poll['id']}/votes", timeout=10,
                         json={"option_ids": [poll["options"][0]["id"]]},
                         headers={"X-Voter-Token": token}).status_code == 201
    page.reload()
    expect(page.get_by_text("2 people have voted")).to_be_visible()
    expect(results.nth(0)).to_contain_text("(2 votes)")


def no_live_rereads(target: Any, server: Server) -> None:
    """Reads answered without ``X-Poll-Refresh``: the widgets do not read again by themselves, so
    what keeps them in step is the vote alone (a page, or a whole context of tabs)."""

    def strip(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "x-poll-refresh"}
        route.fulfill(response=response, headers=headers)

    target.route(f"{server.url}/api/v1/**", strip)


def widgets(page: Page) -> list[Any]:
    return [page.locator("[data-pollsvc-article], [data-pollsvc-poll]").nth(i) for i in range(3)]


def test_a_vote_in_one_widget_shows_in_every_widget_of_that_poll(
        strict_page: Page, page_errors: list[str], live_server: Server, live_api: Api, host_site: Host) -> None:
    page = strict_page
    poll = make_poll(live_api, "hostile-twice")
    no_live_rereads(page, live_server)
    page.goto(hostile_page(host_site, live_server, "hostile-twice", f"""
<div data-pollsvc-article="hostile-twice"></div>
<div data-pollsvc-article="hostile-twice"></div>
<div data-pollsvc-poll="{poll['id']}"></div>""", css="main { display: block; }"))
    first, second, third = widgets(page)
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(3)

    first.get_by_label("Chưa rõ").check()
    first.get_by_role("button", name="Bình chọn").click()
    expect(first.locator(".note")).to_have_text("Cảm ơn bạn đã tham gia bình chọn.")
    for other in (second, third):
        expect(other.locator(".count")).to_have_text("1 người đã tham gia bình chọn")
        expect(other.locator(".res li").nth(2)).to_contain_text("100,0")
        expect(other.get_by_role("radio")).to_have_count(0)
    assert page_errors == []


def test_already_voted_in_one_widget_shows_in_the_others(
        strict_page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    """This browser's token voted elsewhere (another page, lost receipt): the 409 ``already_voted``
    one widget meets carries the poll, and every widget of that poll shows it."""
    page = strict_page
    poll = make_poll(live_api, "hostile-409")
    no_live_rereads(page, live_server)
    page.goto(hostile_page(host_site, live_server, "hostile-409", f"""
<div data-pollsvc-article="hostile-409"></div>
<div data-pollsvc-poll="{poll['id']}"></div>""", css="main { display: block; }"))
    first, second, _ = widgets(page)
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(2)
    key = f"pollsvc:voter:{live_server.url}"
    page.wait_for_function("key => localStorage.getItem(key)", arg=key)  # the token made in the background
    token = page.evaluate("key => localStorage.getItem(key).split(' ')[0]", key)
    answer = requests.post(f"{live_server.url}/api/v1/polls/{poll['id']}/votes", timeout=10,
                           json={"option_ids": [poll["options"][0]["id"]]}, headers={"X-Voter-Token": token})
    assert answer.status_code == 201

    second.get_by_label("Bình thường").check()
    second.get_by_role("button", name="Bình chọn").click()
    expect(second.locator(".note")).to_have_text("Bạn đã bình chọn cho câu hỏi này.")
    expect(first.locator(".count")).to_have_text("1 người đã tham gia bình chọn")
    expect(first.locator(".res li").nth(0)).to_contain_text("100,0")
    expect(first.get_by_role("radio")).to_have_count(0)


def test_a_vote_in_another_tab_shows_here(page: Page, live_server: Server, live_api: Api, host_site: Host) -> None:
    make_poll(live_api, "hostile-tabs")
    no_live_rereads(page.context, live_server)
    url = article_page(host_site, live_server, "hostile-tabs")
    page.goto(url)
    expect(page.get_by_role("radio")).to_have_count(3)
    other = page.context.new_page()
    other.goto(url)
    other.get_by_label("Chưa rõ").check()
    other.get_by_role("button", name="Bình chọn").click()
    expect(other.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()

    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
    expect(page.get_by_role("radio")).to_have_count(0)
    expect(page.locator("[data-pollsvc-article] >> .res li").nth(2)).to_contain_text("100,0")
