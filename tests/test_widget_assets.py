"""widget.js (size budget, headers, caching, its joined and minified modules), the embed and demo pages' headers."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pollsvc import create_app
from pollsvc.web.widget import WIDGET_MODULES, WIDGET_SRC, widget_bundle

WEB = Path(__file__).resolve().parents[1] / "pollsvc" / "web"
BUDGET = 11 * 1024  # bytes, gzipped, of what is shipped (minified)


def test_widget_js_fits_the_size_budget(client: Any) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    size = len(gzip.compress(response.get_data(), compresslevel=9))
    assert size <= BUDGET, f"widget.js is {size} bytes gzipped; the budget is {BUDGET}"


def test_widget_js_headers_and_revalidation(client: Any) -> None:
    response = client.get("/widget.js")
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 10

    again = client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert client.get("/widget.js", headers={"If-None-Match": '"other"'}).status_code == 200


def test_widget_js_is_every_module_joined_in_one_function(client: Any) -> None:
    source = widget_bundle().source.decode()
    assert sorted(WIDGET_MODULES) == sorted(p.name for p in WIDGET_SRC.glob("*.js")), "a module not listed"
    assert source == "".join((WIDGET_SRC / name).read_text() for name in WIDGET_MODULES)
    assert not (WEB / "static" / "widget" / "widget.js").exists(), "the source is src/"
    # one function wraps it all: the only global it sets is the guard against a second copy
    assert re.match(r"/\*!.*?\*/\n\(function \(\) \{\n\"use strict\";\n", source, re.S)
    assert source.endswith("\n})();\n") and source.count("})();\n") == 1
    assert re.findall(r"window\.(\w+) =", source) == ["__pollsvcWidget"]


def test_widget_js_is_shipped_minified_with_its_licence_banner(client: Any) -> None:
    served = client.get("/widget.js").get_data(as_text=True)
    source = widget_bundle().source.decode()
    assert len(served) < 0.8 * len(source)
    banner = re.match(r"/\*!.*?\*/", source, re.S)
    assert banner is not None and served.startswith(banner[0])
    assert "\n// ----" not in served, "line comments are gone"
    assert re.match(r"/\*!.*?\*/\(function\(\)\{\"use strict\";", served, re.S)
    assert served.endswith("})();\n") and served.count("})();") == 1
    assert re.findall(r"window\.(\w+)=(?!=)", served) == ["__pollsvcWidget"]
    # what the widget says is untouched: every vi/en text of the source is in the shipped code
    for text in re.findall(r':\s*"([^"\\\n]{12,})"', (WIDGET_SRC / "texts.js").read_text()):
        assert f'"{text}"' in served


@pytest.mark.skipif(not shutil.which("node"), reason="no node to parse the joined source")
def test_widget_js_parses(client: Any, tmp_path: Path) -> None:
    path = tmp_path / "widget.js"
    path.write_bytes(client.get("/widget.js").get_data())
    result = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("origins", "ancestors"), [("", "'self'"), ("*", "*")])
def test_embed_pages_follow_the_cors_setting(app_config: dict[str, Any], origins: str, ancestors: str) -> None:
    """By default only the service's own pages may frame them; ``*`` is an explicit choice."""
    client = create_app({**app_config, "cors_origins": origins}).test_client()
    csp = client.get("/embed/polls/7").headers["Content-Security-Policy"]
    assert csp.endswith(f"frame-ancestors {ancestors}")


def test_widget_js_never_writes_markup(client: Any) -> None:
    source = client.get("/widget.js").get_data(as_text=True)
    assert len(source) > 10_000
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source


def test_widget_js_keeps_no_cookie_and_sends_views_as_text(client: Any) -> None:
    """Views carry nothing about the reader: no cookie is set or read, and the report is a beacon
    whose body is a string (text/plain: a simple request, no preflight), else a keep-alive fetch."""
    source = widget_bundle().source.decode()
    assert "document.cookie" not in source
    assert "navigator.sendBeacon(url, body)" in source and "keepalive: true" in source
    assert "var body = JSON.stringify({ polls: " in source
    served = client.get("/widget.js").get_data(as_text=True)
    assert "document.cookie" not in served
    assert "navigator.sendBeacon(url,body)" in served and "keepalive:true" in served


@pytest.mark.parametrize("path", ["/embed/articles/hoi-nghi-ket-luan-57", "/embed/polls/7"])
def test_embed_pages_may_be_framed_only_by_the_configured_sites(app_config: dict[str, Any], path: str) -> None:
    configured = {**app_config, "cors_origins": "https://news.example, https://m.news.example/"}
    response = create_app(configured).test_client().get(path)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; frame-ancestors 'self' https://news.example https://m.news.example")
    assert "X-Frame-Options" not in response.headers
    html = response.get_data(as_text=True)
    assert re.search(r'src="/widget\.js\?v=[0-9a-f]{16}"', html)
    assert re.search(r'src="/static/widget/embed\.js\?v=[0-9a-f]{16}"', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline scripts"


def test_embed_page_language_and_escaping(client: Any) -> None:
    html = client.get('/embed/polls/3?lang=en&user="><script>x</script>').get_data(as_text=True)
    assert '<html lang="en">' in html
    assert 'data-lang="en"' in html
    assert "<script>x" not in html
    assert client.get("/embed/polls/3?lang=fr").get_data(as_text=True).count('data-lang="vi"') == 1


@pytest.mark.parametrize("path", ["/embed/articles/-bad", "/embed/articles/" + "a" * 129, "/embed/polls/abc"])
def test_bad_embed_ids_are_404_json(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_demo_page(client: Any) -> None:
    response = client.get("/demo")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    html = response.get_data(as_text=True)
    assert "Huyện Quảng Ninh tổ chức Hội nghị quán triệt Kết luận số 57-KL/TW" in html
    assert 'data-pollsvc-article="hoi-nghi-ket-luan-57"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline scripts"
    for asset in ("demo.css", "demo.js", "embed.js", "embed.css"):
        assert client.get(f"/static/widget/{asset}").status_code == 200
