"""The embeddable widget on a host page of another site (``localhost``) than the service (``127.0.0.1``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from pollsvc.identity import sign_user_assertion
from tests.browser.helpers import OPTIONS, Api, article_page, host_page, make_poll, run_axe
from tests.helpers import USER_SECRET, Server, mint_token_over_http, start_server

pytestmark = pytest.mark.browser


def vote_via_api(server_url: str, poll: dict[str, Any], option_index: int = 0) -> requests.Response:
    token = mint_token_over_http(server_url)
    return requests.post(f"{server_url}/api/v1/polls/{poll['id']}/votes", timeout=10,
                         json={"option_ids": [poll["options"][option_index]["id"]]},
                         headers={"X-Voter-Token": token})


def test_vote_in_vietnamese_keeps_token_in_local_storage(
        page: Page, live_server: Server, live_api: Api, host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "vote-vi", description="Ý kiến của bạn rất quan trọng.")
    page.goto(article_page(host_site, live_server, "vote-vi"))

    expect(page.get_by_text("0 người đã tham gia bình chọn")).to_be_visible()
    expect(page.get_by_text("Ý kiến của bạn rất quan trọng.")).to_be_visible()
    fieldset = page.get_by_role("group", name="Bạn thấy hội nghị thế nào?")
    expect(fieldset).to_be_visible()
    expect(page.get_by_role("radio")).to_have_count(3)
    expect(page.get_by_text("Rất hữu ích")).to_be_visible()
    page.get_by_label("Bình thường").check()
    page.get_by_role("button", name="Bình chọn").click()

    live = page.locator("[data-pollsvc-article] >> [aria-live=polite]")
    expect(live).to_contain_text("1 người đã tham gia bình chọn")
    expect(live).to_contain_text("100,0")
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(0)
    expect(page.get_by_role("radio")).to_have_count(0)
    token = page.evaluate(f"() => localStorage.getItem('pollsvc:voter:{live_server.url}')")
    assert token and len(token) > 20
    assert page.context.cookies() == []
    # host CSS does not leak in: the widget keeps its own colours and em-based sizes
    color = page.locator("[data-pollsvc-article] >> .count").evaluate("e => getComputedStyle(e).color")
    assert color != "rgb(255, 0, 0)"


def test_vote_in_english(page: Page, live_server: Server, live_api: Api,
                         host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "vote-en", question="How was the meeting?",
              options=[{"label": "Useful"}, {"label": "So-so"}], results_visibility="always")
    page.goto(article_page(host_site, live_server, "vote-en", lang="en"))

    expect(page.get_by_text("0 people have voted")).to_be_visible()
    page.get_by_label("Useful").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_text("1 person has voted")).to_be_visible()
    expect(page.get_by_text("Thank you for voting.")).to_be_visible()
    expect(page.locator("[data-pollsvc-article] >> .res")).to_contain_text("100.0%")
    expect(page.locator("[data-pollsvc-article] >> .res")).to_contain_text("1 vote")


def test_reload_remembers_the_vote(page: Page, live_server: Server, live_api: Api,
                                   host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "reload")
    url = article_page(host_site, live_server, "reload")
    page.goto(url)
    page.get_by_label("Rất hữu ích").check()
    page.get_by_role("button", name="Bình chọn").click()
    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()

    page.reload()
    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
    expect(page.locator("[data-pollsvc-article] >> .res li")).to_have_count(3)
    expect(page.locator("[data-pollsvc-article] >> .res")).to_contain_text("100,0")
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(0)


def test_multiple_choice_enforces_the_limit(page: Page, live_server: Server, live_api: Api,
                                            host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "multi", max_choices=2, options=[*OPTIONS, {"label": "Khác"}])
    page.goto(article_page(host_site, live_server, "multi"))

    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(4)
    expect(page.get_by_text("Chọn tối đa 2 phương án.")).to_be_visible()
    page.get_by_label("Rất hữu ích").check()
    page.get_by_label("Chưa rõ").check()
    expect(page.get_by_label("Bình thường")).to_be_disabled()
    expect(page.get_by_label("Khác")).to_be_disabled()
    page.get_by_label("Chưa rõ").uncheck()
    expect(page.get_by_label("Khác")).to_be_enabled()
    page.get_by_label("Khác").check()
    expect(page.get_by_label("Chưa rõ")).to_be_disabled()
    page.get_by_role("button", name="Bình chọn").click()

    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
    results = page.locator("[data-pollsvc-article] >> .res li")
    expect(results.nth(0)).to_contain_text("100,0")
    expect(results.nth(1)).to_contain_text("0,0")
    expect(results.nth(3)).to_contain_text("100,0")


def test_closed_poll_shows_results_and_no_vote(page: Page, live_server: Server, live_api: Api,
                                               host_site: Callable[[str, str], str]) -> None:
    poll = make_poll(live_api, "closed")
    assert vote_via_api(live_server.url, poll, 1).status_code == 201
    assert live_api("PATCH", f"/api/v1/polls/{poll['id']}", json={"status": "closed"}).status_code == 200
    page.goto(article_page(host_site, live_server, "closed"))

    expect(page.get_by_text("Bình chọn đã kết thúc")).to_be_visible()
    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
    expect(page.locator("[data-pollsvc-article] >> .res li").nth(1)).to_contain_text("100,0")
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(0)
    expect(page.get_by_role("radio")).to_have_count(0)


def test_labels_are_text_never_markup(page: Page, live_server: Server, live_api: Api,
                                      host_site: Callable[[str, str], str]) -> None:
    evil = "<img src=x onerror=window.__pwned=1>"
    make_poll(live_api, "xss", question="<script>window.__pwned=2</script> Câu hỏi?",
              description="<b onmouseover=window.__pwned=3>mô tả</b>",
              options=[{"label": evil}, {"label": "An toàn"}], results_visibility="always")
    page.goto(article_page(host_site, live_server, "xss"))

    expect(page.get_by_label(evil)).to_be_visible()
    expect(page.get_by_text("<script>window.__pwned=2</script> Câu hỏi?")).to_be_visible()
    expect(page.get_by_text("<b onmouseover=window.__pwned=3>mô tả</b>")).to_be_visible()
    page.get_by_label(evil).check()
    page.get_by_role("button", name="Bình chọn").click()
    expect(page.locator("[data-pollsvc-article] >> .res li").nth(0)).to_contain_text(evil)
    assert page.locator("[data-pollsvc-article] >> img").count() == 0
    assert page.evaluate("() => window.__pwned") is None


def test_keyboard_only_vote(page: Page, live_server: Server, live_api: Api,
                            host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "keyboard")
    page.goto(article_page(host_site, live_server, "keyboard"))
    first = page.get_by_label("Rất hữu ích")
    expect(first).to_be_visible()

    page.keyboard.press("Tab")
    expect(first).to_be_focused()
    outline = first.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"  # :focus-visible
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Bình chọn")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
    expect(page.locator("[data-pollsvc-article] >> .res li").nth(0)).to_contain_text("100,0")


def test_no_serious_axe_violations(page: Page, live_server: Server, live_api: Api, axe_source: str,
                                   host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "axe", description="Mô tả ngắn.")
    make_poll(live_api, "axe", question="Chọn hai?", max_choices=2)
    page.goto(article_page(host_site, live_server, "axe"))
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(2)
    assert run_axe(page, axe_source) == []

    page.get_by_label("Rất hữu ích").first.check()
    page.get_by_role("button", name="Bình chọn").first.click()
    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
    assert run_axe(page, axe_source) == []


def test_elements_added_later_and_several_per_page(page: Page, live_server: Server, live_api: Api,
                                                   host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "many-a", question="Câu hỏi A?")
    single = make_poll(live_api, "many-b", question="Câu hỏi B?")
    make_poll(live_api, "many-c", question="Câu hỏi C?")
    make_poll(live_api, "many-a", question="Nháp?", status="draft")
    page.goto(host_page(host_site, live_server, "many", f"""
<div data-pollsvc-article="many-a"></div>
<div data-pollsvc-poll="{single['id']}" data-lang="en"></div>
<div data-pollsvc-poll="999999" id="missing"></div>"""))

    expect(page.get_by_role("group", name="Câu hỏi A?")).to_be_visible()
    expect(page.get_by_role("group", name="Câu hỏi B?")).to_be_visible()
    expect(page.get_by_role("button", name="Vote")).to_have_count(1)
    expect(page.get_by_text("Nháp?")).to_have_count(0)

    page.evaluate("""() => {
        const div = document.createElement('div');
        div.setAttribute('data-pollsvc-article', 'many-c');
        document.querySelector('main').appendChild(div);
    }""")
    expect(page.get_by_role("group", name="Câu hỏi C?")).to_be_visible()
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(2)
    assert page.locator("#missing").inner_text() == ""


def test_network_error_offers_retry(page: Page, live_server: Server, live_api: Api,
                                    host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "offline")
    page.route(f"{live_server.url}/api/v1/**", lambda route: route.abort())
    page.goto(article_page(host_site, live_server, "offline"))
    expect(page.get_by_text("Không tải được bình chọn", exact=False)).to_be_visible()

    page.unroute(f"{live_server.url}/api/v1/**")
    page.get_by_role("button", name="Thử lại").click()
    expect(page.get_by_role("button", name="Bình chọn")).to_be_visible()


def test_garbled_stored_token_is_replaced(page: Page, live_server: Server, live_api: Api,
                                          host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "bad-token")
    url = article_page(host_site, live_server, "bad-token")
    page.goto(url)
    key = f"pollsvc:voter:{live_server.url}"
    page.evaluate(f"() => localStorage.setItem('{key}', 'garbled')")
    page.reload()
    page.get_by_label("Chưa rõ").check()
    page.get_by_role("button", name="Bình chọn").click()
    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
    assert page.evaluate(f"() => localStorage.getItem('{key}')") not in (None, "garbled")


def test_user_dedup_poll_sends_the_host_assertion(page: Page, live_server: Server, live_api: Api,
                                                  host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "user-poll", dedup="user")
    assertion = sign_user_assertion(USER_SECRET, "reader-42", int(time.time()) + 3600)
    url = host_page(host_site, live_server, "user-poll",
                    f'<div data-pollsvc-article="user-poll" data-pollsvc-user="{assertion}"></div>')
    page.goto(url)
    page.get_by_label("Bình thường").check()
    page.get_by_role("button", name="Bình chọn").click()
    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()

    page.evaluate("() => localStorage.clear()")  # the user id, not the token, is what counts
    page.reload()
    expect(page.locator("[data-pollsvc-article] >> .res li")).to_have_count(3)
    expect(page.get_by_role("button", name="Bình chọn")).to_have_count(0)


@pytest.fixture(scope="module")
def limited_server(live_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second server on the same database that takes one vote per minute per IP."""
    env = {**live_server.env, "POLLSVC_RATE_LIMIT_VOTE": "1/minute"}
    server = start_server(env, tmp_path_factory.mktemp("limited"), workers=1)
    yield server
    server.stop()


def test_rate_limited_vote_shows_a_message(page: Page, limited_server: Server, live_api: Api,
                                           host_site: Callable[[str, str], str]) -> None:
    poll = make_poll(live_api, "limited")
    assert vote_via_api(limited_server.url, poll).status_code == 201  # another reader on this IP
    page.goto(article_page(host_site, limited_server, "limited"))
    page.get_by_label("Chưa rõ").check()
    page.get_by_role("button", name="Bình chọn").click()

    expect(page.get_by_text("Bạn thao tác quá nhanh. Vui lòng đợi một lát rồi thử lại.")).to_be_visible()
    expect(page.get_by_role("button", name="Bình chọn")).to_be_enabled()
    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
