"""/admin in a real browser: sign in, create, edit, close and archive polls, errors, roles, a11y."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Api, create_poll, make_key, run_axe, save_screenshot, sign_in, vote
from tests.helpers import Server

pytestmark = pytest.mark.browser

def total_polls(live_api: Api) -> int:
    return int(live_api("GET", "/api/v1/polls?per_page=1").json()["total"])


@pytest.fixture
def axe_page(browser: Any) -> Iterator[Page]:
    """A tab that lets axe-core be injected (the pages' CSP forbids inline scripts, rightly)."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1000, "height": 900}, bypass_csp=True)
    yield context.new_page()
    context.close()


def rows(page: Page) -> Any:
    """The rows of the poll list."""
    return page.locator("#poll-rows").get_by_role("row")


def editor(page: Page, name: str) -> Any:
    return page.get_by_role("region", name=name)


def test_editor_creates_edits_and_closes_a_poll(strict_page: Page, live_server: Server, live_admin_key: str,
                                                live_api: Api, page_errors: list[str]) -> None:
    page = strict_page
    sign_in(page, live_server.url + "/admin", live_admin_key)
    expect(page.get_by_text("Quản trị viên")).to_be_visible()
    page.get_by_role("button", name="Bình chọn mới").click()
    form = editor(page, "Bình chọn mới")
    form.get_by_label("Mã bài viết").fill("hoi-nghi-57")
    form.get_by_label("Câu hỏi").fill("Bạn thấy <b>hội nghị</b> thế nào?")
    form.get_by_label("Mô tả").fill("Ý kiến của độc giả phường")
    form.get_by_label("Lựa chọn 1", exact=True).fill("Rất hữu ích")
    form.get_by_label("Lựa chọn 2", exact=True).fill("Bình thường")
    form.get_by_role("button", name="Thêm lựa chọn").click()
    expect(form.get_by_label("Lựa chọn 3", exact=True)).to_be_focused()
    form.get_by_label("Lựa chọn 3", exact=True).fill("Chưa rõ")
    form.get_by_label("Hiển thị kết quả").select_option("always")
    form.get_by_role("button", name="Tạo bình chọn").click()

    expect(page.get_by_role("status")).to_have_text("Đã tạo bình chọn.")
    row = rows(page).filter(has_text="Bạn thấy <b>hội nghị</b> thế nào?")  # text, not HTML
    expect(row).to_have_count(1)
    expect(row).to_contain_text("hoi-nghi-57")
    expect(row).to_contain_text("Đang mở")
    poll = live_api("GET", "/api/v1/polls?article_id=hoi-nghi-57").json()["items"][0]
    assert [o["label"] for o in poll["options"]] == ["Rất hữu ích", "Bình thường", "Chưa rõ"]
    assert poll["description"] == "Ý kiến của độc giả phường"
    assert poll["results_visibility"] == "always"

    row.get_by_role("button", name="Sửa").click()
    form = editor(page, f"Sửa bình chọn #{poll['id']}")
    expect(form.get_by_label("Lựa chọn 3", exact=True)).to_have_value("Chưa rõ")
    expect(form.get_by_label("Lựa chọn 1", exact=True)).to_be_enabled()
    form.get_by_label("Câu hỏi").fill("Hội nghị có hữu ích không?")
    form.get_by_role("button", name="Lưu thay đổi").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu thay đổi.")
    row = rows(page).filter(has_text="Hội nghị có hữu ích không?")
    expect(row).to_have_count(1)
    assert live_api("GET", f"/api/v1/polls/{poll['id']}").json()["question"] == "Hội nghị có hữu ích không?"

    # once it has votes, the options and their rules are locked, and say why
    vote(live_server, poll)
    row.get_by_role("button", name="Sửa").click()
    form = editor(page, f"Sửa bình chọn #{poll['id']}")
    expect(form.get_by_label("Lựa chọn 1", exact=True)).to_be_disabled()
    expect(form.get_by_label("Số lựa chọn tối đa")).to_be_disabled()
    expect(form.get_by_label("Chống bình chọn trùng")).to_be_disabled()
    expect(form.get_by_role("button", name="Thêm lựa chọn")).to_be_disabled()
    expect(form.get_by_text("Đã khóa: bình chọn này đã có phiếu").first).to_be_visible()
    form.get_by_role("button", name="Hủy").click()

    row.get_by_role("button", name="Đóng").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Hội nghị có hữu ích không?")
    dialog.get_by_role("button", name="Đóng bình chọn").click()
    expect(row).to_contain_text("Đã đóng")
    assert live_api("GET", f"/api/v1/polls/{poll['id']}").json()["status"] == "closed"

    row.get_by_role("button", name="Mở lại").click()
    expect(row).to_contain_text("Đang mở")

    audit = page.get_by_role("region", name="Nhật ký thay đổi")
    expect(audit.get_by_role("row").filter(has_text="Tạo mới")).to_have_count(1)
    expect(audit.get_by_role("row").filter(has_text="Đóng")).to_have_count(1)
    assert page_errors == []


def test_bad_poll_shows_errors_by_the_fields_and_creates_nothing(page: Page, live_server: Server,
                                                                 live_admin_key: str, live_api: Api) -> None:
    before = total_polls(live_api)
    sign_in(page, live_server.url + "/admin", live_admin_key)
    page.get_by_role("button", name="Bình chọn mới").click()
    form = editor(page, "Bình chọn mới")
    form.get_by_label("Mã bài viết").fill("bài viết!")
    form.get_by_label("Câu hỏi").fill("Câu hỏi thử")
    form.get_by_label("Lựa chọn 1", exact=True).fill("Có")
    form.get_by_label("Lựa chọn 2", exact=True).fill("có")
    form.get_by_role("button", name="Tạo bình chọn").click()

    expect(page.locator("#err-article_id")).to_be_visible()
    expect(page.locator("#err-article_id")).to_have_attribute("role", "alert")
    expect(page.locator("#err-article_id")).to_contain_text("Mã bài viết")
    expect(page.locator("#err-options")).to_contain_text("không được trùng")
    expect(form.get_by_label("Mã bài viết")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert").filter(has_text="Chưa lưu bình chọn")).to_be_visible()

    # a blank second option: the error goes under option 2 (``options.1.label``)
    form.get_by_label("Mã bài viết").fill("bai-viet-2")
    form.get_by_label("Lựa chọn 2", exact=True).fill("   ")
    form.get_by_role("button", name="Tạo bình chọn").click()
    expect(page.locator("#err-options-1")).to_contain_text("Cần từ 1 đến 200 ký tự")
    expect(page.locator("#err-article_id")).to_be_hidden()
    expect(form.get_by_label("Lựa chọn 2", exact=True)).to_have_attribute("aria-invalid", "true")
    assert total_polls(live_api) == before

    form.get_by_role("button", name="Hủy").click()
    expect(page.get_by_role("button", name="Bình chọn mới")).to_be_visible()
    assert total_polls(live_api) == before


def test_wrong_key_is_refused(page: Page, live_server: Server) -> None:
    page.goto(live_server.url + "/admin")
    page.get_by_label("Khóa API").fill("not-a-real-key")
    page.get_by_role("button", name="Đăng nhập").click()
    alert = page.get_by_role("alert").filter(has_text="Khóa API không được chấp nhận")
    expect(alert).to_be_visible()
    expect(page.get_by_role("button", name="Bình chọn mới")).to_have_count(0)
    assert page.evaluate("() => sessionStorage.length") == 0


def test_key_lives_in_session_storage_and_sign_out_forgets_it(page: Page, live_server: Server,
                                                              live_admin_key: str) -> None:
    sign_in(page, live_server.url + "/admin", live_admin_key)
    assert page.evaluate("() => localStorage.length") == 0
    assert page.evaluate("() => sessionStorage.getItem('pollsvc.apiKey')") == live_admin_key
    page.reload()
    expect(page.get_by_role("button", name="Bình chọn mới")).to_be_visible()
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_label("Khóa API")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0


def test_reporter_sees_everything_read_only(page: Page, live_server: Server, live_api: Api) -> None:
    poll = create_poll(live_api, article_id="bao-cao-1", question="Câu hỏi cho phóng viên")
    sign_in(page, live_server.url + "/admin", make_key(live_server, "reporter"))
    expect(page.get_by_text("Quyền chỉ đọc")).to_be_visible()
    row = rows(page).filter(has_text="Câu hỏi cho phóng viên")
    expect(row).to_have_count(1)
    expect(page.get_by_role("button", name="Bình chọn mới")).to_have_count(0)
    expect(page.get_by_role("button", name="Tạo bình chọn")).to_have_count(0)
    for name in ("Sửa", "Đóng", "Lưu trữ"):
        expect(row.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_role("region", name="Nhật ký thay đổi")).to_have_count(0)
    expect(row.get_by_role("link", name="Kết quả")).to_have_attribute("href", f"/dashboard?poll={poll['id']}")
    # the engagement rate of a poll nobody has seen yet: a dash, read out as "no views yet"
    expect(row.locator('td[data-label="Tỷ lệ tương tác"]')).to_have_text("—chưa có lượt xem")


def test_embed_codes_and_archive(page: Page, live_server: Server, live_admin_key: str, live_api: Api) -> None:
    poll = create_poll(live_api, article_id="nhung-ma-1", question="Câu hỏi để nhúng")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server.url + "/admin", live_admin_key)
    row = rows(page).filter(has_text="Câu hỏi để nhúng")
    row.get_by_role("button", name="Mã nhúng").click()
    dialog = page.get_by_role("dialog", name="Mã nhúng")
    script = f'<script src="{live_server.url}/widget.js" async></script>'
    expect(dialog.get_by_role("textbox", name="Mọi bình chọn của bài viết nhung-ma-1")).to_have_value(
        f'<div data-pollsvc-article="nhung-ma-1" data-lang="vi"></div>\n{script}')
    expect(dialog.get_by_role("textbox", name="Chỉ bình chọn này")).to_have_value(
        f'<div data-pollsvc-poll="{poll["id"]}" data-lang="vi"></div>\n{script}')
    expect(dialog.get_by_role("textbox", name="Dạng iframe")).to_have_value(
        f'<iframe src="{live_server.url}/embed/articles/nhung-ma-1" title="Bình chọn" width="100%"'
        ' height="420" loading="lazy"></iframe>')
    expect(dialog.get_by_role("textbox", name="Chỉ bình chọn này")).to_have_attribute("readonly", "")
    dialog.get_by_role("button", name="Sao chép: Chỉ bình chọn này").click()
    expect(dialog.get_by_role("status")).to_have_text("Đã sao chép vào bộ nhớ tạm.")
    assert page.evaluate("() => navigator.clipboard.readText()").startswith('<div data-pollsvc-poll="')
    dialog.get_by_role("button", name="Xong").click()
    expect(dialog).to_be_hidden()

    row.get_by_role("button", name="Lưu trữ").click()
    page.get_by_role("dialog").get_by_role("button", name="Hủy").click()
    assert live_api("GET", f"/api/v1/polls/{poll['id']}").json()["status"] == "open"
    row.get_by_role("button", name="Lưu trữ").click()
    page.get_by_role("dialog").get_by_role("button", name="Lưu trữ bình chọn").click()
    expect(row).to_contain_text("Đã lưu trữ")
    assert live_api("GET", f"/api/v1/polls/{poll['id']}").json()["status"] == "archived"


def test_filters_and_pagination(page: Page, live_server: Server, live_admin_key: str, live_api: Api) -> None:
    for i in range(22):
        create_poll(live_api, article_id="nhieu-bai", question=f"Câu hỏi số {i:02d}")
    sign_in(page, live_server.url + "/admin", live_admin_key)
    page.get_by_role("search").get_by_label("Mã bài viết").fill("nhieu-bai")
    page.get_by_role("button", name="Lọc", exact=True).click()
    expect(page.get_by_text("Trang 1/2 · 22 bình chọn")).to_be_visible()
    expect(page.locator("#poll-rows tr")).to_have_count(20)
    page.get_by_role("button", name="Trang sau").click()
    expect(page.get_by_text("Trang 2/2 · 22 bình chọn")).to_be_visible()
    expect(page.locator("#poll-rows tr")).to_have_count(2)
    page.get_by_role("search").get_by_label("Trạng thái").select_option("closed")
    page.get_by_role("button", name="Lọc", exact=True).click()
    expect(page.get_by_text("Không có bình chọn nào phù hợp.")).to_be_visible()


def test_english_ui(page: Page, live_server: Server, live_admin_key: str) -> None:
    sign_in(page, live_server.url + "/admin?lang=en", live_admin_key, lang="en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="New poll").click()
    form = editor(page, "New poll")
    for label in ("Article ID", "Question", "Description", "Max choices", "Opens at", "Closes at",
                  "Results visibility", "Duplicate votes"):
        expect(form.get_by_label(label)).to_be_visible()
    expect(form.get_by_label("Option 1", exact=True)).to_be_visible()
    expect(form.get_by_role("button", name="Add option")).to_be_visible()
    expect(form.get_by_role("button", name="Create poll")).to_be_visible()
    form.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("columnheader", name="Participants")).to_be_visible()
    expect(page.get_by_role("link", name="Tiếng Việt")).to_have_attribute("href", "/admin?lang=vi")


def test_schedule_is_entered_in_local_time_and_sent_in_utc(browser: Any, live_server: Server,
                                                           live_admin_key: str, live_api: Api) -> None:
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    try:
        sign_in(page, live_server.url + "/admin", live_admin_key)
        page.get_by_role("button", name="Bình chọn mới").click()
        form = editor(page, "Bình chọn mới")
        form.get_by_label("Mã bài viết").fill("lich-hen")
        form.get_by_label("Câu hỏi").fill("Bình chọn có lịch")
        form.get_by_label("Lựa chọn 1", exact=True).fill("A")
        form.get_by_label("Lựa chọn 2", exact=True).fill("B")
        form.get_by_label("Mở lúc").fill("2099-01-02T09:30")
        form.get_by_label("Đóng lúc").fill("2099-01-03T07:00")
        form.get_by_role("button", name="Tạo bình chọn").click()
        expect(rows(page).filter(has_text="Bình chọn có lịch")).to_contain_text("Đã lên lịch")
        poll = live_api("GET", "/api/v1/polls?article_id=lich-hen").json()["items"][0]
        assert poll["opens_at"] == "2099-01-02T02:30:00Z"  # UTC+7
        assert poll["closes_at"] == "2099-01-03T00:00:00Z"
        rows(page).filter(has_text="Bình chọn có lịch").get_by_role("button", name="Sửa").click()
        expect(page.get_by_label("Mở lúc")).to_have_value("2099-01-02T09:30")
    finally:
        context.close()


def test_console_has_no_serious_accessibility_violations(axe_page: Page, live_server: Server,
                                                         live_admin_key: str, live_api: Api, axe_source: str) -> None:
    page = axe_page
    create_poll(live_api, article_id="a11y-1", question="Câu hỏi kiểm tra trợ năng")
    page.goto(live_server.url + "/admin")
    expect(page.get_by_label("Khóa API")).to_be_visible()
    assert run_axe(page, axe_source) == []
    sign_in(page, live_server.url + "/admin", live_admin_key)
    expect(rows(page).filter(has_text="Câu hỏi kiểm tra trợ năng")).to_have_count(1)
    save_screenshot(page, "admin.png")
    assert run_axe(page, axe_source) == []
    page.get_by_role("button", name="Bình chọn mới").click()
    page.get_by_role("button", name="Tạo bình chọn").click()  # empty form: errors shown
    expect(page.locator("#err-question")).to_be_visible()
    save_screenshot(page, "admin-form.png")
    assert run_axe(page, axe_source) == []
