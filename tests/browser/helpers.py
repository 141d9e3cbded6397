"""Plain helpers shared by the browser tests (their fixtures live in ``tests/browser/conftest.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page, expect

from tests.helpers import Server, mint_token_over_http

Api = Callable[..., requests.Response]
OPTIONS = [{"label": "Rất hữu ích"}, {"label": "Bình thường"}, {"label": "Chưa rõ"}]


def save_screenshot(page: Any, name: str) -> None:
    """Full-page screenshot into $POLLSVC_SCREENSHOT_DIR, for people reviewing the pages; else nothing."""
    folder = os.environ.get("POLLSVC_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def run_axe(page: Any, axe_source: str, context: str = "document") -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page."""
    page.add_script_tag(content=axe_source)
    result = page.evaluate(f"async () => await axe.run({context}, {{resultTypes: ['violations']}})")
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


# ---- the console (/admin, /dashboard) ----


def sign_in(page: Page, url: str, key: str, *, lang: str = "vi") -> None:
    page.goto(url)
    page.get_by_label("API key" if lang == "en" else "Khóa API").fill(key)
    page.get_by_role("button", name="Sign in" if lang == "en" else "Đăng nhập").click()
    expect(page.get_by_role("button", name="Sign out" if lang == "en" else "Đăng xuất")).to_be_visible()


def make_key(server: Server, role: str) -> str:
    out = subprocess.run([sys.executable, "-m", "pollsvc.cli", "create-api-key", "--role", role],
                         env=server.env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def create_poll(live_api: Api, **fields: Any) -> dict[str, Any]:
    body = {"article_id": "tin-phuong-1", "question": "Bạn có đồng ý mở rộng đường Lê Lợi?",
            "options": [{"label": "Đồng ý"}, {"label": "Không đồng ý"}], **fields}
    response = live_api("POST", "/api/v1/polls", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def vote(server: Server, poll: dict[str, Any], option: int = 0) -> None:
    token = mint_token_over_http(server.url)
    response = requests.post(f"{server.url}/api/v1/polls/{poll['id']}/votes", timeout=10,
                             json={"option_ids": [poll["options"][option]["id"]]},
                             headers={"X-Voter-Token": token})
    assert response.status_code == 201, response.text


# ---- the widget on a host site ----


def make_poll(live_api: Api, article_id: str, **fields: Any) -> dict[str, Any]:
    body = {"article_id": article_id, "question": "Bạn thấy hội nghị thế nào?", "options": OPTIONS, **fields}
    response = live_api("POST", "/api/v1/polls", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def host_page(host_site: Callable[[str, str], str], server: Server, name: str, embeds: str) -> str:
    """A news article on the host site with the two-line snippet."""
    return host_site(f"/{name}.html", f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Tin tức</title>
<style>body {{ font-family: Georgia, serif; }} label, button, p {{ color: red !important; font-size: 40px; }}</style>
</head><body><main><h1>Tin tức trong huyện</h1><p>Nội dung bài viết.</p>
{embeds}
<script src="{server.url}/widget.js" async></script>
</main></body></html>""")


def article_page(host_site: Callable[[str, str], str], server: Server, article_id: str, lang: str = "vi") -> str:
    return host_page(host_site, server, article_id,
                     f'<div data-pollsvc-article="{article_id}" data-lang="{lang}"></div>')
