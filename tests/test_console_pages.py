"""The console and dashboard pages: security headers, no inline code, both languages."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from pollsvc.web.console import MESSAGES_FILE

PAGES = ["/admin", "/admin?lang=en", "/dashboard", "/dashboard?lang=en", "/dashboard?poll=3",
         "/dashboard/polls/3"]


class _Scan(HTMLParser):
    """Collects scripts (attributes and body), inline handlers and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, Any]] = []
        self.inline_attrs: list[str] = []
        self.style_tags = 0
        self.html_lang = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "html":
            self.html_lang = names.get("lang") or ""
        if tag == "script":
            self.scripts.append({"attrs": names, "body": ""})
            self._in_script = True
        if tag == "style":
            self.style_tags += 1
        self.inline_attrs += [f"{tag}[{n}]" for n, _ in attrs if n.startswith("on") or n == "style"]
        self.inline_attrs += [f"{tag}[{n}]" for n, v in attrs if (v or "").strip().lower().startswith("javascript:")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1]["body"] += data


def scan(html: str) -> _Scan:
    parser = _Scan()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_strict_csp_and_refuse_framing(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    csp = {d.split()[0]: d.split()[1:] for d in response.headers["Content-Security-Policy"].split(";") if d.strip()}
    assert csp["script-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_code(client: Any, path: str) -> None:
    page = scan(client.get(path).get_data(as_text=True))
    assert page.scripts, "the page loads its script"
    for script in page.scripts:
        assert script["attrs"].get("src", "").startswith("/console-static/"), script
        assert script["body"].strip() == "", "no inline script"
    assert page.inline_attrs == []
    assert page.style_tags == 0


def test_static_files_are_served_with_the_same_headers(client: Any) -> None:
    for name in ("admin.js", "dashboard.js", "common.js", "poll-form.js", "charts.js", "console.css"):
        response = client.get(f"/console-static/{name}")
        assert response.status_code == 200, name
        assert response.headers["X-Frame-Options"] == "DENY"
    assert client.get("/console-static/admin.js").mimetype in ("text/javascript", "application/javascript")


def test_vietnamese_is_the_default_and_lang_en_switches(client: Any) -> None:
    vi = client.get("/admin").get_data(as_text=True)
    en = client.get("/admin?lang=en").get_data(as_text=True)
    assert scan(vi).html_lang == "vi" and scan(en).html_lang == "en"
    assert "Khóa API" in vi and "Đăng nhập" in vi and "Tạo bình chọn" in vi
    assert "API key" in en and "Sign in" in en and "Create poll" in en
    assert 'href="/admin?lang=en"' in vi  # the language switch
    assert 'href="/admin?lang=vi"' in en
    assert scan(client.get("/admin?lang=xx").get_data(as_text=True)).html_lang == "vi"


def test_language_switch_keeps_the_poll(client: Any) -> None:
    html = client.get("/dashboard?poll=7").get_data(as_text=True)
    assert 'href="/dashboard?poll=7&amp;lang=en"' in html
    assert 'data-poll-id="7"' in html
    assert 'data-poll-id=""' in client.get("/dashboard?poll=abc").get_data(as_text=True)


def test_both_languages_have_every_text() -> None:
    messages = json.loads(MESSAGES_FILE.read_text("utf-8"))
    assert set(messages) == {"vi", "en"}
    assert set(messages["vi"]) == set(messages["en"])
    assert all(text.strip() for lang in messages.values() for text in lang.values())
