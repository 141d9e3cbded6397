"""The widget on a hostile news page of another origin: a strict CSP, host CSS that forces its own
font size and text rules on every ``div``, a right-to-left page, the same poll twice, a slow API
(layout shift while it loads), an id that does not exist, and English plurals."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, Route, expect

from tests.browser.helpers import OPTIONS, Api, article_page, make_poll, save_screenshot
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


# Layout shifts not caused by the reader's input, summed from the page's first moment.
CLS_OBSERVER = """window.__cls = 0;
new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
}).observe({type: "layout-shift", buffered: true});"""


def slow_api(page: Page, server: Server, delay: float = 0.8) -> None:
    def late(route: Route) -> None:
        time.sleep(delay)  # the browser waits for the answer meanwhile; the page goes on
        route.continue_()

    page.route(f"{server.url}/api/v1/**", late)


def layout_shift(page: Page) -> float:
    return float(page.evaluate("() => window.__cls"))


# The reader gets to the poll's place while it loads: as soon as the widget shows it is loading.
READER_GOES_TO_THE_POLL = """addEventListener("DOMContentLoaded", () => {
  const host = document.querySelector("[data-pollsvc-article]");
  if (!host) return;  // about:blank
  (function wait() {
    if (host.shadowRoot && host.shadowRoot.querySelector("[role=status]")) {
      setTimeout(() => document.getElementById("y-kien").scrollIntoView(), 150);
    } else {
      requestAnimationFrame(wait);
    }
  })();
});"""


def cls_page(host_site: Host, server: Server, name: str, css: str = "") -> str:
    """An article long enough that its poll starts below the screen, and a tall footer below it."""
    return hostile_page(host_site, server, name,
                        f'<h2 id="y-kien">Ý kiến bạn đọc</h2><div data-pollsvc-article="{name}"></div>',
                        css="footer { display: block; height: 1200px; background: #eee; }" + css,
                        above="<p>" + "Nội dung bài viết. " * 400 + "</p>", below="<footer>Chân trang</footer>")


def visit(page: Page, url: str) -> float:
    """The layout shift of a visit once the poll is in and has settled; the reader is at the poll."""
    page.goto("about:blank")  # a new visit (the same URL with a fragment would only scroll)
    page.goto(url)
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()
    page.wait_for_timeout(1000)
    assert page.evaluate("() => scrollY") > 1000  # at the poll, not the page's top
    return layout_shift(page)


def test_space_is_kept_while_a_slow_api_answers(
        strict_page: Page, page_errors: list[str], live_server: Server, live_api: Api, host_site: Host) -> None:
    """A reader who gets to the poll's place while it loads (answers 800 ms late), a footer below it:
    the widget keeps room for a typical poll meanwhile, and on the next visit exactly the height it
    had: layout shift stays under 0.1 (the Web Vitals "good"), then near 0."""
    page = strict_page
    page.add_init_script(CLS_OBSERVER)
    page.add_init_script(READER_GOES_TO_THE_POLL)
    make_poll(live_api, "hostile-cls")
    slow_api(page, live_server)
    url = cls_page(host_site, live_server, "hostile-cls")
    first_visit = visit(page, url)
    again = visit(page, url)
    print(f"CLS, reader at the poll while it loads: first visit {first_visit:.4f}, next visit {again:.4f}")
    assert first_visit < 0.1
    assert again < 0.01
    assert page_errors == []


def test_a_host_that_reserves_room_before_the_script_runs_does_not_move(
        strict_page: Page, page_errors: list[str], live_server: Server, live_api: Api, host_site: Host) -> None:
    """A reader at the poll from the first paint (a link to it), before widget.js has even run: only
    the host page can keep room then, with a min-height in its own stylesheet (README); the widget's
    skeleton fits in that room and a typical poll too."""
    page = strict_page
    page.add_init_script(CLS_OBSERVER)
    make_poll(live_api, "hostile-cls-host")
    slow_api(page, live_server)
    url = cls_page(host_site, live_server, "hostile-cls-host", css="[data-pollsvc-article] { min-height: 20rem; }")
    shift = visit(page, url + "#y-kien")
    print(f"CLS, reader at the poll from the first paint, host keeps 20rem: {shift:.4f}")
    assert shift < 0.1
    assert page_errors == []


def test_the_reserved_height_is_remembered_per_host(page: Page, live_server: Server, live_api: Api,
                                                    host_site: Host) -> None:
    make_poll(live_api, "hostile-height", options=[*OPTIONS, {"label": "Khác"}])
    page.goto(article_page(host_site, live_server, "hostile-height"))
    expect(page.get_by_role("radio")).to_have_count(4)
    height = shadow(page).locator("div[lang]").evaluate("e => e.getBoundingClientRect().height")
    page.wait_for_timeout(200)
    stored = page.evaluate("key => localStorage.getItem(key)", f"pollsvc:heights:{live_server.url}")
    assert stored is not None
    assert abs(json.loads(stored)["a:hostile-height"] - height) <= 1


def test_a_missing_poll_or_a_bad_article_id_says_so_in_the_console(
        strict_page: Page, live_server: Server, host_site: Host) -> None:
    page = strict_page
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(hostile_page(host_site, live_server, "hostile-missing", """
<div data-pollsvc-poll="999999" id="missing"></div>
<div data-pollsvc-article="-bad-" id="bad"></div>""", css="main { display: block; }"))
    deadline = time.monotonic() + 10
    while len(warnings) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert any("999999" in w and "pollsvc" in w for w in warnings), warnings
    assert any('"-bad-"' in w and "pollsvc" in w for w in warnings), warnings
    for host in ("#missing", "#bad"):
        assert page.locator(host).inner_text() == ""
        assert rect(page.locator(host))["height"] == 0
        assert page.locator(host).evaluate("e => e.shadowRoot.textContent") == ""
