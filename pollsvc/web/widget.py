"""/widget.js, the iframe embed pages and the demo article page."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, render_template, request

from pollsvc.demo import DEMO_ARTICLE_ID
from pollsvc.errors import ApiError
from pollsvc.schemas import is_article_id

STATIC = Path(__file__).parent / "static" / "widget"

bp = Blueprint("widget", __name__, template_folder="templates", static_folder="static/widget",
               static_url_path="/static/widget")

WIDGET_CACHE = "public, max-age=300"
# Embeds may be framed by any site; they only talk to this service and load nothing inline.
EMBED_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
             "connect-src 'self'; frame-ancestors *")
DEMO_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; frame-ancestors 'self'")


@lru_cache(maxsize=8)
def _asset(name: str, mtime_ns: int) -> tuple[bytes, str]:
    """The file's bytes and a content ETag (the same on every process and host)."""
    data = (STATIC / name).read_bytes()
    return data, hashlib.blake2b(data, digest_size=12).hexdigest()


@bp.get("/widget.js")
def widget_js() -> Response:
    """The embeddable widget: ETag (304 on If-None-Match) and a short public cache."""
    path = STATIC / "widget.js"
    data, etag = _asset(path.name, path.stat().st_mtime_ns)
    response = Response(data, mimetype="text/javascript")
    response.set_etag(etag)
    response.headers["Cache-Control"] = WIDGET_CACHE
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)  # 304 when If-None-Match matches
    return response


def _page(html: str, csp: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = WIDGET_CACHE
    return response


def _embed(attribute: str, value: str) -> Response:
    lang = "en" if request.args.get("lang") == "en" else "vi"
    user = request.args.get("user", "")  # a signed X-Poll-User assertion, for ``dedup: user`` polls
    html = render_template("widget/embed.html", attribute=attribute, value=value, lang=lang, user=user)
    response = _page(html, EMBED_CSP)
    if user:
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/embed/articles/<article_id>")
def embed_article(article_id: str) -> Response:
    """Every poll of an article, as a page for an ``<iframe>`` (posts its height to the parent)."""
    if not is_article_id(article_id):
        raise ApiError("not_found")
    return _embed("data-pollsvc-article", article_id)


@bp.get("/embed/polls/<int:poll_id>")
def embed_poll(poll_id: int) -> Response:
    """One poll, as a page for an ``<iframe>``."""
    return _embed("data-pollsvc-poll", str(poll_id))


@bp.get("/demo")
def demo() -> Response:
    """A sample Vietnamese news article with the widget at its end."""
    return _page(render_template("widget/demo.html", article_id=DEMO_ARTICLE_ID), DEMO_CSP)
