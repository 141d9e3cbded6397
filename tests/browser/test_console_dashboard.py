"""/dashboard in a real browser: ranking, filters, a poll's charts and tables, live refresh, CSV, a11y."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pollsvc.testing import LoopbackVoter
from tests.browser.helpers import Api, create_poll, make_key, run_axe, save_screenshot, sign_in, vote
from tests.helpers import Server

pytestmark = pytest.mark.browser

LABELS = ["Rất hài lòng", "Bình thường", "Chưa hài lòng"]


@pytest.fixture(scope="module")
def seeded(live_server: Server, live_api: Api) -> dict[str, dict[str, Any]]:
    """Three polls with 3, 1 and 0 participants (the least voted made first)."""
    options = [{"label": label} for label in LABELS]
    quiet = create_poll(live_api, article_id="tin-c", question="Ít người quan tâm?", options=options)
    middle = create_poll(live_api, article_id="tin-b", question="Có nên thu phí đỗ xe?", options=options)
    top = create_poll(live_api, article_id="tin-a", question="Dịch vụ công của phường thế nào?", options=options)
    for option in (0, 0, 2):
        vote(live_server, top, option)
    vote(live_server, middle, 1)
    return {"top": top, "middle": middle, "quiet": quiet}


@pytest.fixture
def axe_page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1000, "height": 900}, bypass_csp=True,
                                  accept_downloads=True)
    yield context.new_page()
    context.close()


def report_rows(page: Page) -> Any:
    return page.locator("#report-rows").get_by_role("row")


def test_polls_are_ranked_by_participants_and_filtered(page: Page, live_server: Server, live_admin_key: str,
                                                       seeded: dict[str, Any]) -> None:
    sign_in(page, live_server.url + "/dashboard", live_admin_key)
    expect(page.get_by_role("columnheader", name="Người tham gia")).to_be_visible()
    rows = report_rows(page)
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Dịch vụ công của phường thế nào?")
    expect(rows.nth(0).get_by_role("cell").nth(3)).to_have_text("3")
    expect(rows.nth(1)).to_contain_text("Có nên thu phí đỗ xe?")
    expect(rows.nth(2)).to_contain_text("Ít người quan tâm?")

    filters = page.get_by_role("search")
    filters.get_by_label("Mã bài viết").fill("tin-b")
    filters.get_by_role("button", name="Lọc", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Có nên thu phí đỗ xe?")

    filters.get_by_role("button", name="Xóa bộ lọc").click()
    expect(rows).to_have_count(3)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    filters.get_by_label("Tạo từ ngày").fill(tomorrow)
    filters.get_by_role("button", name="Lọc", exact=True).click()
    expect(page.get_by_text("Không có bình chọn nào phù hợp.")).to_be_visible()
    filters.get_by_label("Tạo từ ngày").fill("")
    filters.get_by_label("Tạo đến ngày").fill(tomorrow)
    filters.get_by_label("Trạng thái").select_option("open")
    filters.get_by_role("button", name="Lọc", exact=True).click()
    expect(rows).to_have_count(3)


def test_poll_page_shows_charts_tables_and_refreshes(strict_page: Page, live_server: Server, live_admin_key: str,
                                                     seeded: dict[str, Any], page_errors: list[str]) -> None:
    page = strict_page
    top = seeded["top"]
    sign_in(page, live_server.url + "/dashboard", live_admin_key)
    report_rows(page).nth(0).get_by_role("link", name="Dịch vụ công của phường thế nào?").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard?poll={top['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dịch vụ công của phường thế nào?")

    chart = page.get_by_role("img", name="Biểu đồ thanh kết quả của “Dịch vụ công của phường thế nào?”")
    expect(chart).to_be_visible()
    assert chart.evaluate("el => el.tagName") == "svg"
    expect(chart).to_contain_text("Rất hài lòng")
    results = page.get_by_role("region", name="Kết quả").get_by_role("table")
    expect(results.get_by_role("row", name="Rất hài lòng")).to_contain_text("2")
    expect(results.get_by_role("row", name="Rất hài lòng")).to_contain_text("66,7 %")
    expect(results.get_by_role("row", name="Chưa hài lòng")).to_contain_text("33,3 %")
    expect(page.locator("#stat-participants")).to_have_text("3")
    expect(page.locator("#stat-first")).not_to_have_text("—")
    expect(page.locator("#stat-last")).not_to_have_text("—")

    timeline = page.get_by_role("img", name="Biểu đồ cột số người tham gia theo giờ", exact=False)
    expect(timeline).to_be_visible()
    expect(timeline.locator("rect.column")).to_have_count(1)
    page.get_by_role("button", name="Theo ngày").click()
    expect(page.get_by_role("button", name="Theo ngày")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("img", name="Biểu đồ cột số người tham gia theo ngày", exact=False)).to_be_visible()

    # open poll: a new vote shows up without reloading
    expect(page.get_by_text("Tự động cập nhật mỗi 5 giây")).to_be_visible()
    vote(live_server, top, 1)
    expect(page.locator("#stat-participants")).to_have_text("4", timeout=12_000)
    expect(results.get_by_role("row", name="Bình thường")).to_contain_text("25,0 %")
    assert page_errors == []


def test_csv_download_keeps_vietnamese(page: Page, live_server: Server, live_admin_key: str,
                                       seeded: dict[str, Any]) -> None:
    middle = seeded["middle"]
    sign_in(page, f"{live_server.url}/dashboard?poll={middle['id']}", live_admin_key)
    expect(page.locator("#stat-participants")).to_have_text("1")
    with page.expect_download() as info:
        page.get_by_role("button", name="Tải CSV").click()
    download = info.value
    assert download.suggested_filename == f"poll-{middle['id']}-results.csv"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "option_id,label,votes,percent"
    assert "Chưa hài lòng" in text and "Bình thường" in text


def test_reporter_uses_the_dashboard(page: Page, live_server: Server, seeded: dict[str, Any]) -> None:
    sign_in(page, live_server.url + "/dashboard", make_key(live_server, "reporter"))
    expect(report_rows(page)).to_have_count(3)
    report_rows(page).nth(1).get_by_role("link").click()
    expect(page.get_by_role("img", name="Biểu đồ thanh kết quả", exact=False)).to_be_visible()


def test_closed_poll_is_not_refreshed(page: Page, live_server: Server, live_admin_key: str, live_api: Api) -> None:
    poll = create_poll(live_api, article_id="tin-dong", question="Đã đóng rồi?", status="closed")
    sign_in(page, f"{live_server.url}/dashboard?poll={poll['id']}", live_admin_key)
    expect(page.locator("#refresh-note")).to_contain_text("Cập nhật lúc")
    expect(page.get_by_text("Tự động cập nhật mỗi 5 giây")).to_have_count(0)
    expect(page.get_by_role("img", name="Biểu đồ cột", exact=False)).to_contain_text("Chưa có phiếu nào.")


def test_english_dashboard(page: Page, live_server: Server, live_admin_key: str, seeded: dict[str, Any]) -> None:
    sign_in(page, live_server.url + "/dashboard?lang=en", live_admin_key, lang="en")
    expect(page.get_by_role("heading", name="Polls by participants")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Participants")).to_be_visible()
    page.get_by_role("link", name="Dịch vụ công của phường thế nào?").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard?poll={seeded['top']['id']}&lang=en")
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    expect(page.get_by_role("img", name="Bar chart of the results of", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Per day")).to_be_visible()
    expect(page.get_by_role("link", name="Tiếng Việt")).to_have_attribute(
        "href", f"/dashboard?poll={seeded['top']['id']}&lang=vi")


def test_dashboard_has_no_serious_accessibility_violations(axe_page: Page, live_server: Server,
                                                           live_admin_key: str, seeded: dict[str, Any],
                                                           axe_source: str) -> None:
    page = axe_page
    sign_in(page, live_server.url + "/dashboard", live_admin_key)
    expect(report_rows(page).first).to_contain_text("Dịch vụ công của phường thế nào?")
    assert run_axe(page, axe_source) == []
    page.goto(f"{live_server.url}/dashboard?poll={seeded['top']['id']}")
    expect(page.get_by_role("img", name="Biểu đồ thanh kết quả", exact=False)).to_be_visible()
    page.locator("details summary").click()
    save_screenshot(page, "dashboard.png")
    assert run_axe(page, axe_source) == []
    page.goto(live_server.url + "/dashboard")
    expect(report_rows(page).first).to_contain_text("Dịch vụ công của phường thế nào?")
    save_screenshot(page, "dashboard-report.png")


def test_integrity_panel_shows_a_burst_and_voids_and_restores_it(axe_page: Page, live_server: Server,
                                                                  live_api: Api, live_admin_key: str,
                                                                  axe_source: str) -> None:
    """Ten ballots in a minute from one /24, with tokens it minted just before, and three readers
    elsewhere: the panel calls the ten stuffing, marks them on the chart, and voiding them (and
    restoring them) moves every figure on the page."""
    page = axe_page
    poll = create_poll(live_api, article_id="tin-integrity", question="Ai xứng đáng giải thưởng?",
                       options=[{"label": label} for label in LABELS], results_visibility="always")
    port = int(live_server.url.rsplit(":", 1)[1])
    if time.time() % 60 > 40:  # the ten go in within seconds: keep them in one minute
        time.sleep(61 - time.time() % 60)
    for i in range(10):
        assert LoopbackVoter(port, f"127.66.1.{i + 1}").vote(poll, 2) == 201
    for i in range(3):
        assert LoopbackVoter(port, f"127.67.{i + 1}.1").vote(poll, 0) == 201
    sign_in(page, f"{live_server.url}/dashboard?poll={poll['id']}", live_admin_key)
    expect(page.locator("#stat-participants")).to_have_text("13")
    panel = page.get_by_role("region", name="Đợt bỏ phiếu dồn dập")
    burst = panel.get_by_role("row").filter(has_text="Gian lận")
    expect(burst).to_have_count(1)
    expect(burst).to_contain_text("10")
    expect(page.locator("#timeline-chart .column.burst")).to_have_count(1)
    expect(page.locator("#integrity-summary")).to_contain_text("10 phiếu bị đánh dấu")
    assert run_axe(page, axe_source) == []

    burst.get_by_role("button", name="Hủy 10 phiếu").click()
    expect(page.get_by_role("status").filter(has_text="Đã hủy 10 phiếu")).to_be_visible()
    expect(page.locator("#stat-participants")).to_have_text("3")
    expect(page.locator("#stat-voided")).to_have_text("10")
    expect(page.locator("#results-rows").get_by_role("row").nth(2)).to_contain_text("0")
    voids = page.get_by_role("region", name="Phiếu đã hủy")
    voids.get_by_role("button", name="Khôi phục").click()
    expect(page.locator("#stat-participants")).to_have_text("13")
    expect(page.locator("#stat-voided")).to_have_text("0")
    expect(voids).to_contain_text("Đã khôi phục")
    save_screenshot(page, "dashboard-integrity")
