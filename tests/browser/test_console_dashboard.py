"""/dashboard in a real browser: ranking (by participants or engagement), filters, a poll's funnel,
charts and tables, live refresh, CSV, a11y."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine

from pollsvc.services.store import engine_options, make_store
from pollsvc.testing import LoopbackVoter
from tests.browser.helpers import Api, create_poll, make_key, run_axe, save_screenshot, sign_in, vote
from tests.helpers import Server

pytestmark = pytest.mark.browser

LABELS = ["Rất hài lòng", "Bình thường", "Chưa hài lòng"]


def add_views(server: Server, counts: dict[tuple[int, datetime], int]) -> None:
    """Views as the views buffer's flush writes them: ``(poll_id, UTC hour) -> n``, one batch."""
    url = server.env["POLLSVC_DATABASE_URL"]
    engine = create_engine(url, **engine_options(url))
    try:
        assert make_store(engine).add_views(uuid.uuid4().hex, counts, datetime.now(UTC))
    finally:
        engine.dispose()


def this_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def seeded(live_server: Server, live_api: Api) -> dict[str, Any]:
    """Three polls with 3, 1 and 0 participants (the least voted made first); 40 views of the top
    one (25 in the hour before, 15 in this one: 7.5 %), 4 of the middle one (25 %), none of the last;
    and the UTC hour they were cast in (``hour``)."""
    left = 3600 - time.time() % 3600
    if left < 10:  # the votes and the views must land in the same hour
        time.sleep(left + 1)
    hour = this_hour()
    options = [{"label": label} for label in LABELS]
    quiet = create_poll(live_api, article_id="tin-c", question="Ít người quan tâm?", options=options)
    middle = create_poll(live_api, article_id="tin-b", question="Có nên thu phí đỗ xe?", options=options)
    top = create_poll(live_api, article_id="tin-a", question="Dịch vụ công của phường thế nào?", options=options)
    for option in (0, 0, 2):
        vote(live_server, top, option)
    vote(live_server, middle, 1)
    add_views(live_server, {(top["id"], hour - timedelta(hours=1)): 25, (top["id"], hour): 15,
                            (middle["id"], hour): 4})
    return {"top": top, "middle": middle, "quiet": quiet, "hour": hour}


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
    cells = rows.nth(0).get_by_role("cell")  # rank, article, status, views, participants, rate, votes
    expect(cells.nth(3)).to_have_text("40")
    expect(cells.nth(4)).to_have_text("3")
    expect(cells.nth(5)).to_have_text("7,5 %")
    expect(rows.nth(1)).to_contain_text("Có nên thu phí đỗ xe?")
    expect(rows.nth(2)).to_contain_text("Ít người quan tâm?")
    # no views: a dash, which a screen reader hears as "no views yet"
    expect(rows.nth(2).get_by_role("cell").nth(5)).to_have_text("—chưa có lượt xem")
    expect(rows.nth(2).get_by_role("cell").nth(5).locator("[aria-hidden=true]")).to_have_text("—")

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


def test_polls_are_ranked_by_engagement(page: Page, live_server: Server, live_admin_key: str,
                                         seeded: dict[str, Any]) -> None:
    sign_in(page, live_server.url + "/dashboard", live_admin_key)
    rows = report_rows(page)
    expect(rows).to_have_count(3)
    filters = page.get_by_role("search")
    filters.get_by_label("Xếp hạng theo").select_option(label="Tỷ lệ tương tác")
    with page.expect_request(lambda r: "/api/v1/reports/polls" in r.url and "sort=engagement" in r.url):
        filters.get_by_role("button", name="Lọc", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bình chọn theo tỷ lệ tương tác")
    expect(rows.nth(0)).to_contain_text("Có nên thu phí đỗ xe?")  # 25 %
    expect(rows.nth(0)).to_contain_text("25,0 %")
    expect(rows.nth(1)).to_contain_text("Dịch vụ công của phường thế nào?")  # 7.5 %
    expect(rows.nth(2)).to_contain_text("Ít người quan tâm?")  # no views: last
    filters.get_by_role("button", name="Xóa bộ lọc").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bình chọn theo số người tham gia")
    expect(rows.nth(0)).to_contain_text("Dịch vụ công của phường thế nào?")
    expect(filters.get_by_label("Xếp hạng theo")).to_have_value("participants")


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

    # the funnel: views, participants, the rate
    funnel = page.get_by_role("region", name="Từ lượt xem đến tham gia").get_by_role("list")
    steps = funnel.get_by_role("listitem")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_have_text("Lượt xem 40", use_inner_text=True)
    expect(steps.nth(1)).to_have_text("Người tham gia 3", use_inner_text=True)
    expect(steps.nth(2)).to_contain_text("Tỷ lệ tương tác")
    expect(page.locator("#funnel-rate")).to_have_text("7,5 %")
    widths = page.evaluate("""() => ['views', 'participants'].map(
        (n) => document.getElementById(`funnel-${n}-bar`).getBoundingClientRect().width)""")
    assert widths[0] > 0 and 0 < widths[1] < widths[0] * 0.2

    # one chart: views and participants per hour, its numbers in a table
    timeline = page.get_by_role("img", name="Biểu đồ cột lượt xem và số người tham gia theo giờ", exact=False)
    expect(timeline).to_be_visible()
    expect(timeline.locator("rect.column-views")).to_have_count(2)
    expect(timeline.locator("rect.column")).to_have_count(2)
    expect(timeline.locator("title").last).to_contain_text("15 lượt xem, 3 người tham gia")
    page.get_by_text("Xem số liệu").click()
    numbers = page.locator("#timeline-rows").get_by_role("row")
    expect(numbers).to_have_count(2)
    expect(numbers.nth(0).get_by_role("cell").nth(1)).to_have_text("25")
    expect(numbers.nth(0).get_by_role("cell").nth(2)).to_have_text("0")
    expect(numbers.nth(1).get_by_role("cell").nth(1)).to_have_text("15")
    expect(numbers.nth(1).get_by_role("cell").nth(2)).to_have_text("3")
    page.get_by_role("button", name="Theo ngày").click()
    expect(page.get_by_role("button", name="Theo ngày")).to_have_attribute("aria-pressed", "true")
    daily = page.get_by_role("img", name="Biểu đồ cột lượt xem và số người tham gia theo ngày", exact=False)
    expect(daily).to_be_visible()
    expect(daily.locator("rect.column")).to_have_count(1 if seeded["hour"].hour > 0 else 2)

    # open poll: a new vote shows up without reloading, the rate with it
    expect(page.get_by_text("Tự động cập nhật mỗi 3 giây")).to_be_visible()
    vote(live_server, top, 1)
    expect(page.locator("#stat-participants")).to_have_text("4", timeout=6_000)
    expect(results.get_by_role("row", name="Bình thường")).to_contain_text("25,0 %")
    expect(page.locator("#funnel-rate")).to_have_text("10,0 %")
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
    assert text.splitlines()[-2:] == ["views,Views (viewable impressions),4,",
                                      "engagement_rate,Engagement rate (participants / views),,25.0"]


def test_reporter_uses_the_dashboard(page: Page, live_server: Server, seeded: dict[str, Any]) -> None:
    sign_in(page, live_server.url + "/dashboard", make_key(live_server, "reporter"))
    expect(report_rows(page)).to_have_count(3)
    report_rows(page).nth(1).get_by_role("link").click()
    expect(page.get_by_role("img", name="Biểu đồ thanh kết quả", exact=False)).to_be_visible()


def test_closed_poll_is_not_refreshed(page: Page, live_server: Server, live_admin_key: str, live_api: Api) -> None:
    poll = create_poll(live_api, article_id="tin-dong", question="Đã đóng rồi?", status="closed")
    sign_in(page, f"{live_server.url}/dashboard?poll={poll['id']}", live_admin_key)
    expect(page.locator("#refresh-note")).to_contain_text("Cập nhật lúc")
    expect(page.get_by_text("Tự động cập nhật", exact=False)).to_have_count(0)
    expect(page.get_by_role("img", name="Biểu đồ cột", exact=False)).to_contain_text("Chưa có lượt xem hay phiếu nào.")
    expect(page.locator("#funnel-views")).to_have_text("0")
    expect(page.locator("#funnel-rate")).to_contain_text("chưa có lượt xem")


def test_english_dashboard(page: Page, live_server: Server, live_admin_key: str, seeded: dict[str, Any]) -> None:
    sign_in(page, live_server.url + "/dashboard?lang=en", live_admin_key, lang="en")
    expect(page.get_by_role("heading", name="Polls by participants")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Participants")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Engagement rate")).to_be_visible()
    expect(page.get_by_label("Rank by")).to_be_visible()
    page.get_by_role("link", name="Dịch vụ công của phường thế nào?").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard?poll={seeded['top']['id']}&lang=en")
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    expect(page.get_by_role("img", name="Bar chart of the results of", exact=False)).to_be_visible()
    expect(page.get_by_role("heading", name="From views to participation")).to_be_visible()
    expect(page.locator("#funnel-rate")).to_have_text(re.compile(r"^\d+\.\d %$"))
    expect(page.get_by_role("img", name="Column chart of views and participants per hour", exact=False)).to_be_visible()
    expect(page.get_by_text("Updating automatically every 3 seconds", exact=False)).to_be_visible()
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


def test_dashboard_on_a_phone(browser: Any, live_server: Server, live_admin_key: str, seeded: dict[str, Any],
                              axe_source: str) -> None:
    """375 px wide: the ranking becomes one card per poll (its figures labelled), the funnel and the
    chart fit the screen, and nothing scrolls sideways."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 375, "height": 800}, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, live_server.url + "/dashboard", live_admin_key)
        row = report_rows(page).filter(has_text="Dịch vụ công của phường thế nào?")
        expect(row.locator("td[data-label='Tỷ lệ tương tác']")).to_be_visible()
        expect(row.locator("td[data-label='Lượt xem']")).to_have_text("40")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        save_screenshot(page, "dashboard-report-phone.png")
        page.goto(f"{live_server.url}/dashboard?poll={seeded['top']['id']}")
        expect(page.locator("#funnel-views")).to_have_text("40")
        expect(page.get_by_role("img", name="Biểu đồ cột lượt xem", exact=False)).to_be_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        save_screenshot(page, "dashboard-phone.png")
        assert run_axe(page, axe_source) == []
    finally:
        context.close()
