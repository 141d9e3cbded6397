"""Delivery: compressed answers (and their validators), the versioned widget URL, versioned
static files, /favicon.ico, and a description on every page."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from typing import Any

import brotli
import pytest

from pollsvc.web.widget import widget_bundle

IMMUTABLE = "public, max-age=31536000, immutable"
LONG_OPTIONS = [{"label": f"Phương án số {i}: một câu trả lời khá dài để bài đọc vượt một kilobyte"} for i in range(8)]


def decode(response: Any) -> bytes:
    data: bytes = response.get_data()
    coding = response.headers.get("Content-Encoding")
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return bytes(brotli.decompress(data))
    assert coding is None, coding
    return data


def vary(response: Any) -> list[str]:
    return [v.strip().lower() for value in response.headers.getlist("Vary") for v in value.split(",")]


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_widget_js_is_compressed_for_clients_that_accept_it(client: Any, coding: str) -> None:
    identity = client.get("/widget.js")
    assert "Content-Encoding" not in identity.headers
    compressed = client.get("/widget.js", headers={"Accept-Encoding": coding})
    assert compressed.headers["Content-Encoding"] == coding
    assert int(compressed.headers["Content-Length"]) == len(compressed.get_data())
    assert len(compressed.get_data()) < len(identity.get_data()) / 2
    assert decode(compressed) == identity.get_data()
    assert "accept-encoding" in vary(compressed) and "accept-encoding" in vary(identity)
    assert compressed.headers["ETag"] == identity.headers["ETag"][:-1] + f':{coding}"'


def test_br_is_preferred_and_q_values_are_honoured(client: Any) -> None:
    def coding(accept: str) -> str | None:
        return client.get("/widget.js", headers={"Accept-Encoding": accept}).headers.get("Content-Encoding")

    assert coding("gzip, deflate, br") == "br"
    assert coding("br;q=0.5, gzip") == "gzip"
    assert coding("br;q=0, gzip;q=0") is None
    assert coding("identity") is None
    assert coding("*") == "br"


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_compressed_widget_js_revalidates(client: Any, coding: str) -> None:
    first = client.get("/widget.js", headers={"Accept-Encoding": coding})
    again = client.get("/widget.js", headers={"Accept-Encoding": coding, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_a_compressed_poll_read_gets_304_on_reread(client: Any, make_poll: Callable[..., dict[str, Any]],
                                                   coding: str) -> None:
    poll = make_poll(article_id="delivery-304", options=LONG_OPTIONS)
    path = f"/api/v1/polls/{poll['id']}"
    plain = client.get(path)
    assert len(plain.get_data()) > 1024
    first = client.get(path, headers={"Accept-Encoding": coding})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == coding
    assert decode(first) == plain.get_data()
    etag = first.headers["ETag"]
    assert etag == plain.headers["ETag"][:-1] + f':{coding}"'
    assert vary(first)[:5] == [v.lower() for v in ("X-Voter-Token", "X-Poll-User", "X-Poll-Receipt", "Authorization",
                                                   "Accept-Encoding")], "the read's Vary is kept"
    again = client.get(path, headers={"Accept-Encoding": coding, "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == plain.headers["Cache-Control"]
    assert "accept-encoding" in vary(again)
    # the identity ETag still works, and a stale one gets the body again
    assert client.get(path, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
    assert client.get(path, headers={"Accept-Encoding": coding, "If-None-Match": '"stale:gzip"'}).status_code == 200


def test_vary_is_merged_with_origin_on_the_api(app_config: dict[str, Any], make_poll: Any) -> None:
    from pollsvc import create_app

    client = create_app({**app_config, "cors_origins": "https://news.example"}).test_client()
    response = client.get("/api/v1/articles/delivery-vary/polls", headers={"Accept-Encoding": "gzip"})
    names = vary(response)
    assert len(response.headers.getlist("Vary")) == 1
    assert {"x-voter-token", "authorization", "origin"} <= set(names)
    assert len(names) == len(set(names))


def test_tiny_answers_and_errors_are_not_compressed(client: Any, make_poll: Callable[..., dict[str, Any]]) -> None:
    for path in ("/healthz", "/api/v1/articles/delivery-none/polls", "/api/v1/polls/123456"):
        response = client.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert "Content-Encoding" not in response.headers, path
        assert len(response.get_data()) < 1024


def test_votes_are_never_compressed(client: Any, make_poll: Callable[..., dict[str, Any]],
                                    voter_token: Callable[[], str]) -> None:
    poll = make_poll(article_id="delivery-vote", options=LONG_OPTIONS)
    response = client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][0]["id"]]},
                           headers={"X-Voter-Token": voter_token(), "Accept-Encoding": "gzip, br"})
    assert response.status_code == 201
    assert len(response.get_data()) > 1024 and "Content-Encoding" not in response.headers


@pytest.mark.parametrize("path", ["/openapi.json", "/embed/articles/hoi-nghi-ket-luan-57", "/demo", "/admin",
                                  "/dashboard", "/console-static/console.css", "/console-static/admin.js",
                                  "/static/widget/demo.css"])
def test_pages_assets_and_the_openapi_document_are_compressed(client: Any, path: str) -> None:
    plain = client.get(path)
    assert plain.status_code == 200
    for coding in ("gzip", "br"):
        response = client.get(path, headers={"Accept-Encoding": coding})
        assert response.headers.get("Content-Encoding") == coding, path
        assert decode(response) == plain.get_data()


def test_a_compressed_static_file_revalidates(client: Any) -> None:
    first = client.get("/console-static/console.css", headers={"Accept-Encoding": "br"})
    assert "Accept-Ranges" not in first.headers
    again = client.get("/console-static/console.css",
                       headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]


def test_the_csv_export_is_still_correct(client: Any, admin: dict[str, str],
                                         make_poll: Callable[..., dict[str, Any]]) -> None:
    poll = make_poll(article_id="delivery-csv", options=LONG_OPTIONS)
    path = f"/api/v1/polls/{poll['id']}/results.csv"
    plain = client.get(path, headers=admin)
    compressed = client.get(path, headers={**admin, "Accept-Encoding": "gzip"})
    assert plain.get_data().startswith(b"\xef\xbb\xbfoption_id,label,votes,percent\r\n")
    assert decode(compressed) == plain.get_data()
    assert compressed.headers["Content-Disposition"] == plain.headers["Content-Disposition"]


def test_the_versioned_widget_url_is_immutable_and_the_short_one_stays(client: Any) -> None:
    bundle = widget_bundle()
    versioned = client.get(f"/widget.js?v={bundle.version}")
    assert versioned.status_code == 200
    assert versioned.headers["Cache-Control"] == IMMUTABLE
    short = client.get("/widget.js")
    assert short.headers["Cache-Control"] == "public, max-age=300"
    assert versioned.get_data() == short.get_data() == bundle.data
    # an old or unknown version gets today's code, cached briefly: never stale code for a year
    old = client.get("/widget.js?v=0123456789abcdef")
    assert old.status_code == 200 and old.get_data() == bundle.data
    assert old.headers["Cache-Control"] == "public, max-age=300"
    assert bundle.version in client.get("/demo").get_data(as_text=True)
    assert f"/widget.js?v={bundle.version}" in client.get("/embed/polls/1").get_data(as_text=True)


@pytest.mark.parametrize("page", ["/embed/polls/1", "/embed/articles/hoi-nghi-ket-luan-57", "/demo"])
def test_the_pages_static_files_are_versioned(client: Any, page: str) -> None:
    html = client.get(page).get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/widget/[a-z]+\.(?:js|css)\?v=[0-9a-f]{16})"', html)
    assert len(urls) == 2, html
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
        stale = client.get(url.split("?")[0] + "?v=0000000000000000")
        assert stale.status_code == 200 and "immutable" not in stale.headers.get("Cache-Control", "")
        assert "immutable" not in client.get(url.split("?")[0]).headers.get("Cache-Control", "")


def test_favicon(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.get_data()[:4] == b"\x00\x00\x01\x00", "an ICO file"
    assert "max-age=86400" in response.headers["Cache-Control"]
    again = client.get("/favicon.ico", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/embed/polls/1", "/embed/polls/1?lang=en", "/embed/articles/a1", "/demo",
                                  "/admin", "/admin?lang=en", "/dashboard", "/dashboard/polls/3?lang=en"])
def test_every_page_has_a_description(client: Any, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'<meta name="description" content="([^"]+)">', html)
    assert match and len(match[1]) > 20, path
    assert '<link rel="icon"' in html
