"""GET /oembed (https://oembed.com) and the embed pages' discovery link and Open Graph tags."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pollsvc import create_app

HOST = "http://localhost"


def oembed(client: Any, url: str | None, **params: str) -> Any:
    query = {**({"url": url} if url is not None else {}), **params}
    return client.get("/oembed", query_string=query)


def iframe_attributes(markup: str) -> dict[str, str]:
    match = re.fullmatch(r"<iframe ([^>]*)></iframe>", markup)
    assert match, markup
    return {name: htmllib.unescape(value) for name, value in re.findall(r'([a-z-]+)="([^"]*)"', match[1])}


def test_a_poll_url_gets_a_rich_iframe(client: Any, make_poll: Callable[..., dict[str, Any]]) -> None:
    poll = make_poll(article_id="oembed-poll", question="Bạn thấy hội nghị thế nào?")
    response = oembed(client, f"{HOST}/embed/polls/{poll['id']}")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.json
    assert body["type"] == "rich" and body["version"] == "1.0"
    assert body["title"] == "Bạn thấy hội nghị thế nào?"
    assert body["provider_name"] == "pollsvc" and body["provider_url"] == f"{HOST}/"
    assert isinstance(body["cache_age"], int) and body["cache_age"] > 0
    assert isinstance(body["width"], int) and isinstance(body["height"], int)
    assert body["width"] > 0 and body["height"] > 0
    frame = iframe_attributes(body["html"])
    assert frame["src"] == f"{HOST}/embed/polls/{poll['id']}"
    assert frame["title"] == body["title"]
    assert frame["loading"] == "lazy"
    assert (frame["width"], frame["height"]) == (str(body["width"]), str(body["height"]))
    assert "max-age" in response.headers["Cache-Control"]
    assert "X-RateLimit-Limit" in response.headers, "counted like public reads"


def test_an_english_article_url(client: Any, make_poll: Callable[..., dict[str, Any]]) -> None:
    make_poll(article_id="oembed-article", question="Câu hỏi một?")
    make_poll(article_id="oembed-article", question="Câu hỏi hai?")
    body = oembed(client, f"{HOST}/embed/articles/oembed-article?lang=en").json
    assert body["title"] == "Câu hỏi một? (and 1 more)"
    assert iframe_attributes(body["html"])["src"] == f"{HOST}/embed/articles/oembed-article?lang=en"
    empty = oembed(client, f"{HOST}/embed/articles/no-polls-yet")
    assert empty.status_code == 200, "an article's polls may come later: its embed is valid"
    assert empty.json["title"] == "Bình chọn của bài viết"


def test_maxwidth_and_maxheight_are_respected(client: Any, make_poll: Callable[..., dict[str, Any]]) -> None:
    poll = make_poll(article_id="oembed-size")
    url = f"{HOST}/embed/polls/{poll['id']}"
    wide = oembed(client, url).json
    small = oembed(client, url, maxwidth="320", maxheight="150").json
    assert small["width"] == 320 and small["height"] == 150
    assert wide["width"] > 320 and wide["height"] > 150
    frame = iframe_attributes(small["html"])
    assert (frame["width"], frame["height"]) == ("320", "150")
    assert oembed(client, url, maxwidth="5000").json["width"] == wide["width"]
    for bad in ("-1", "0", "abc", "1e3"):
        response = oembed(client, url, maxwidth=bad)
        assert response.status_code == 422 and response.json["error"] == "validation_error"


def test_a_question_with_markup_characters_is_escaped(client: Any,
                                                      make_poll: Callable[..., dict[str, Any]]) -> None:
    question = 'Say "<b>hi</b>" & <script>alert(1)</script> \'ok\'?'
    poll = make_poll(article_id="oembed-escape", question=question)
    body = oembed(client, f"{HOST}/embed/polls/{poll['id']}").json
    assert body["title"] == question
    assert "<b>" not in body["html"] and "<script>" not in body["html"]
    assert iframe_attributes(body["html"])["title"] == question
    page = client.get(f"/embed/polls/{poll['id']}").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>hi" not in page
    og_title = re.search(r'<meta property="og:title" content="([^"<>]*)">', page)
    assert og_title and htmllib.unescape(og_title[1]) == question


@pytest.mark.parametrize("status", ["draft", "archived", "scheduled", "unknown"])
def test_a_poll_the_public_may_not_see_is_404(client: Any, admin: dict[str, str],
                                              make_poll: Callable[..., dict[str, Any]], status: str) -> None:
    poll_id = 2_000_000_000
    if status == "draft":
        poll_id = make_poll(article_id="oembed-hidden", question="Secret draft?", status="draft")["id"]
    elif status == "scheduled":
        poll_id = make_poll(article_id="oembed-hidden", question="Secret later?",
                            opens_at="2999-01-01T00:00:00Z")["id"]
    elif status == "archived":
        poll_id = make_poll(article_id="oembed-hidden", question="Secret archived?")["id"]
        assert client.delete(f"/api/v1/polls/{poll_id}", headers=admin).status_code == 204
    response = oembed(client, f"{HOST}/embed/polls/{poll_id}")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert "Secret" not in response.get_data(as_text=True)
    page = client.get(f"/embed/polls/{poll_id}")
    assert page.status_code == 200, "the page is served as before, with generic tags"
    text = page.get_data(as_text=True)
    assert "Secret" not in text and "<title>Bình chọn</title>" in text


@pytest.mark.parametrize("url", [
    "https://evil.example/embed/polls/1",
    "http://localhost.evil.example/embed/polls/1",
    "http://evil.example@localhost/embed/polls/1",
    "http://localhost:8080/embed/polls/1",
    "ftp://localhost/embed/polls/1",
    "//localhost/embed/polls/1",
    "/embed/polls/1",
    "http://localhost/api/v1/polls/1",
    "http://localhost/embed/polls/1/extra",
    "http://localhost/embed/polls/abc",
    "http://localhost/embed/polls/" + "9" * 5000,
    "http://localhost/embed/articles/-bad",
    "http://[::1/embed/polls/1",
    "http://localhost:99999/embed/polls/1",
    "not a url",
])
def test_foreign_or_unknown_urls_are_404(client: Any, url: str) -> None:
    response = oembed(client, url)
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.json["error"] == "not_found"


def test_the_default_port_and_case_of_the_host_do_not_matter(client: Any,
                                                             make_poll: Callable[..., dict[str, Any]]) -> None:
    poll = make_poll(article_id="oembed-host")
    assert oembed(client, f"http://LOCALHOST:80/embed/polls/{poll['id']}").status_code == 200
    assert oembed(client, f"https://localhost:443/embed/polls/{poll['id']}").json["provider_url"] == (
        "https://localhost/")


def test_the_host_is_the_one_the_request_came_to(client: Any, make_poll: Callable[..., dict[str, Any]]) -> None:
    poll = make_poll(article_id="oembed-host2")
    url = f"https://polls.example/embed/polls/{poll['id']}"
    assert oembed(client, url).status_code == 404
    response = client.get("/oembed", query_string={"url": url}, headers={"Host": "polls.example"})
    assert response.status_code == 200
    assert iframe_attributes(response.json["html"])["src"] == url
    forwarded = client.get("/oembed", query_string={"url": url}, headers={"X-Forwarded-Host": "polls.example"})
    assert forwarded.status_code == 404, "X-Forwarded-Host is never trusted"


def test_format_xml_is_501_and_a_missing_url_400(client: Any, make_poll: Callable[..., dict[str, Any]]) -> None:
    poll = make_poll(article_id="oembed-format")
    response = oembed(client, f"{HOST}/embed/polls/{poll['id']}", format="xml")
    assert response.status_code == 501
    assert response.json["error"] == "not_implemented" and response.json["message"]
    assert oembed(client, f"{HOST}/embed/polls/{poll['id']}", format="json").status_code == 200
    for missing in (None, "", "  "):
        response = oembed(client, missing)
        assert response.status_code == 400
        assert response.json["error"] == "bad_request"


def test_cors_follows_the_public_api(app_config: dict[str, Any]) -> None:
    client = create_app({**app_config, "cors_origins": "https://news.example"}).test_client()
    ok = client.get("/oembed", query_string={"url": f"{HOST}/embed/articles/a1"},
                    headers={"Origin": "https://news.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://news.example"
    foreign = client.get("/oembed", query_string={"url": f"{HOST}/embed/articles/a1"},
                         headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers
    error = client.get("/oembed", headers={"Origin": "https://news.example"})
    assert error.status_code == 400 and error.headers["Access-Control-Allow-Origin"] == "https://news.example"


def test_rate_limited_like_public_reads(app_config: dict[str, Any]) -> None:
    client = create_app({**app_config, "rate_limit_public_read": "2/minute"}).test_client()
    url = {"url": f"{HOST}/embed/articles/a1"}
    assert [client.get("/oembed", query_string=url).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/api/v1/articles/a1/polls").status_code == 429, "one bucket with the public reads"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_embed_pages_link_to_their_oembed_and_carry_open_graph(client: Any, lang: str,
                                                               make_poll: Callable[..., dict[str, Any]]) -> None:
    poll = make_poll(article_id="oembed-og", question="Câu hỏi của bài?", description="Mô tả ngắn.")
    suffix = "?lang=en" if lang == "en" else ""
    for path in (f"/embed/polls/{poll['id']}{suffix}", f"/embed/articles/oembed-og{suffix}"):
        page = client.get(path).get_data(as_text=True)
        link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)" title="([^"]+)">',
                         page)
        assert link, page
        href = htmllib.unescape(link[1])
        assert href.startswith(f"{HOST}/oembed?")
        query = parse_qs(urlsplit(href).query)
        assert query["url"] == [f"{HOST}{path}"] and query["format"] == ["json"]
        answer = client.get(href.removeprefix(HOST))
        assert answer.status_code == 200 and answer.json["title"] == "Câu hỏi của bài?"
        assert htmllib.unescape(link[2]) == "Câu hỏi của bài?"
        meta = dict(re.findall(r'<meta property="(og:[a-z_]+)" content="([^"]*)">', page))
        assert meta["og:title"] == "Câu hỏi của bài?"
        assert meta["og:type"] == "website"
        assert htmllib.unescape(meta["og:url"]) == f"{HOST}{path}"
        assert meta["og:site_name"] == "pollsvc"
        assert meta["og:description"] == "Mô tả ngắn."
        assert meta["og:locale"] == ("en_US" if lang == "en" else "vi_VN")
        assert '<meta name="description" content="Mô tả ngắn.">' in page
        assert re.search(r'<link rel="icon" href="[^"]+favicon\.svg" type="image/svg\+xml">', page)


def test_og_url_takes_the_scheme_from_a_trusted_proxy(app_config: dict[str, Any]) -> None:
    headers = {"X-Forwarded-Proto": "https", "Host": "polls.example"}
    trusting = create_app({**app_config, "trusted_proxies": 1}).test_client()
    page = trusting.get("/embed/articles/a1", headers=headers).get_data(as_text=True)
    assert '<meta property="og:url" content="https://polls.example/embed/articles/a1">' in page
    untrusting = create_app({**app_config, "trusted_proxies": 0}).test_client()
    page = untrusting.get("/embed/articles/a1", headers=headers).get_data(as_text=True)
    assert '<meta property="og:url" content="http://polls.example/embed/articles/a1">' in page
