"""The iframe embed pages and the demo article page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from pollsvc.demo import DEMO_ARTICLE_ID, DEMO_POLL
from tests.browser.helpers import Api, run_axe
from tests.helpers import Server

pytestmark = pytest.mark.browser


def make_poll(live_api: Api, article_id: str, **fields: Any) -> dict[str, Any]:
    body = {"article_id": article_id, "question": "Bạn có ủng hộ đề xuất này?",
            "options": [{"label": "Có"}, {"label": "Không"}], **fields}
    response = live_api("POST", "/api/v1/polls", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def framing_page(host_site: Callable[[str, str], str], name: str, src: str) -> str:
    return host_site(f"/{name}.html", f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Khung nhúng</title></head><body>
<script>window.heights = []; addEventListener("message", e => window.heights.push(e.data));</script>
<iframe src="{src}" title="Bình chọn" style="width:600px;height:150px;border:0"></iframe>
</body></html>""")


def test_article_iframe_renders_and_posts_its_height(
        page: Page, live_server: Server, live_api: Api, host_site: Callable[[str, str], str]) -> None:
    make_poll(live_api, "iframe-article", description="Mô tả.")
    make_poll(live_api, "iframe-article", question="Câu hỏi thứ hai?")
    page.goto(framing_page(host_site, "iframe-article", f"{live_server.url}/embed/articles/iframe-article"))

    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("group", name="Bạn có ủng hộ đề xuất này?")).to_be_visible()
    expect(frame.get_by_role("group", name="Câu hỏi thứ hai?")).to_be_visible()
    page.wait_for_function("() => window.heights.some(m => m.pollsvcHeight > 200)")
    messages = page.evaluate("() => window.heights")
    for message in messages:
        assert list(message) == ["pollsvcHeight"]
        assert isinstance(message["pollsvcHeight"], int | float) and message["pollsvcHeight"] >= 0
    rendered = frame.locator("html").evaluate("e => Math.ceil(e.getBoundingClientRect().height)")
    assert messages[-1]["pollsvcHeight"] == rendered

    frame.get_by_label("Có").first.check()
    frame.get_by_role("button", name="Bình chọn").first.click()
    expect(frame.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()


def test_poll_iframe_in_english(page: Page, live_server: Server, live_api: Api,
                                host_site: Callable[[str, str], str]) -> None:
    poll = make_poll(live_api, "iframe-poll", question="Do you agree?",
                     options=[{"label": "Yes"}, {"label": "No"}])
    page.goto(framing_page(host_site, "iframe-poll", f"{live_server.url}/embed/polls/{poll['id']}?lang=en"))
    frame = page.frame_locator("iframe")
    frame.get_by_label("Yes").check()
    frame.get_by_role("button", name="Vote").click()
    expect(frame.get_by_text("1 person has voted")).to_be_visible()
    page.wait_for_function("() => window.heights.some(m => m.pollsvcHeight > 0)")


def test_embed_page_headers(live_server: Server, host_origin: str) -> None:
    response = requests.get(f"{live_server.url}/embed/articles/anything", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].endswith(f"frame-ancestors 'self' {host_origin}")
    assert "X-Frame-Options" not in response.headers


def test_demo_page_works_under_its_csp(csp_page: Page, live_server: Server, live_api: Api) -> None:
    page = csp_page
    make_poll(live_api, DEMO_ARTICLE_ID, **{k: v for k, v in DEMO_POLL.items() if k != "article_id"})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/demo")
    expect(page.get_by_role("group", name=str(DEMO_POLL["question"]))).to_be_visible()
    page.get_by_role("button", name="Tăng cỡ chữ").click()
    assert page.locator("#article-body").evaluate("e => e.style.fontSize") == "1.125em"
    assert errors == []


def test_demo_page(browser: Any, live_server: Server, live_api: Api, axe_source: str) -> None:
    # axe is injected as an inline script, which the page's CSP (rightly) refuses
    context = browser.new_context(locale="vi-VN", bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/demo")

    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Huyện Quảng Ninh tổ chức Hội nghị quán triệt Kết luận số 57-KL/TW")
    expect(page.get_by_role("group", name=str(DEMO_POLL["question"]))).to_be_visible()
    expect(page.get_by_text("0 người đã tham gia bình chọn")).to_be_visible()
    assert run_axe(page, axe_source) == []

    legend = page.locator("[data-pollsvc-article] >> legend")
    size = legend.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    page.get_by_role("button", name="Tăng cỡ chữ").click()
    bigger = legend.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert bigger > size
    page.get_by_role("button", name="Giảm cỡ chữ").click()
    page.get_by_role("button", name="Giảm cỡ chữ").click()
    assert legend.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") < size
    page.get_by_role("button", name="Cỡ chữ mặc định").click()
    assert legend.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") == size

    page.get_by_label("Thiết thực", exact=True).check()
    page.get_by_role("button", name="Bình chọn").click()
    expect(page.get_by_text("1 người đã tham gia bình chọn")).to_be_visible()
    assert run_axe(page, axe_source) == []
    context.close()
