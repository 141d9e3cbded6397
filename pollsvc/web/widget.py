"""/widget.js and the iframe embed pages."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, render_template, request

from pollsvc.errors import ApiError
from pollsvc.runtime import runtime
from pollsvc.schemas import is_article_id

STATIC = Path(__file__).parent / "static" / "widget"

bp = Blueprint("widget", __name__, template_folder="templates", static_folder="static/widget",
               static_url_path="/static/widget")

WIDGET_CACHE = "public, max-age=300"
# Embeds may be framed by any site; they only talk to this service and load nothing inline.
EMBED_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
             "connect-src 'self'; frame-ancestors {ancestors}")


# The widget's source: small modules joined in this order (the one place it is declared) inside
# one function that prologue.js opens and epilogue.js closes, so nothing leaks into the host page
# but the ``window.__pollsvcWidget`` guard. No build step: joined at the first request.
WIDGET_SRC = STATIC / "src"
WIDGET_MODULES = (
    "prologue.js",  # the banner, the function's start, the guard against a second copy
    "texts.js",  # vi/en strings
    "style.js",  # the CSS and the shadow roots' adopted sheet
    "dom.js",  # element helpers: text only, never markup
    "pow.js",  # the proof of work a voter token costs (WebCrypto, off the main thread)
    "api.js",  # where the service is; reads, votes, the voter token
    "storage.js",  # localStorage (memory when blocked): token, receipts, polls of each article
    "view.js",  # one poll: choices, voting, results; updated in place by a later read
    "views.js",  # viewable impressions (IntersectionObserver), batched beacons to /api/v1/views
    "live.js",  # re-reads an open poll at the X-Poll-Refresh pace while the page is visible
    "space.js",  # the room a host element keeps while its polls load (its last height, remembered)
    "host.js",  # one host element: its polls in a shadow root
    "boot.js",  # finding host elements, now and later (MutationObserver)
    "epilogue.js",  # the function's end
)


@lru_cache(maxsize=4)
def _widget_source(stamp: tuple[int, ...]) -> tuple[bytes, str]:
    """The joined modules and a content ETag (the same on every process and host); ``stamp`` (the
    modules' mtimes) only keys the per-process cache, so an edited module is served at once."""
    parts = [(WIDGET_SRC / name).read_bytes() for name in WIDGET_MODULES]
    data = b"".join(part if part.endswith(b"\n") else part + b"\n" for part in parts)
    return data, hashlib.blake2b(data, digest_size=12).hexdigest()


def widget_source() -> tuple[bytes, str]:
    """What ``/widget.js`` serves: its bytes and ETag."""
    return _widget_source(tuple((WIDGET_SRC / name).stat().st_mtime_ns for name in WIDGET_MODULES))


@bp.get("/widget.js")
def widget_js() -> Response:
    """The embeddable widget: ETag (304 on If-None-Match) and a short public cache."""
    data, etag = widget_source()
    response = Response(data, mimetype="text/javascript")
    response.set_etag(etag)
    response.headers["Cache-Control"] = WIDGET_CACHE
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)  # 304 when If-None-Match matches
    return response


def frame_ancestors(origins: list[str] | str) -> str:
    """Who may frame the embed pages: the same sites that may call the API (``POLLSVC_CORS_ORIGINS``),
    and the service's own pages."""
    if origins == "*":
        return "*"
    return " ".join(["'self'", *origins])


def page(html: str, csp: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = WIDGET_CACHE
    return response


def _embed(attribute: str, value: str) -> Response:
    lang = "en" if request.args.get("lang") == "en" else "vi"
    user = request.args.get("user", "")  # a signed X-Poll-User assertion, for ``dedup: user`` polls
    html = render_template("widget/embed.html", attribute=attribute, value=value, lang=lang, user=user)
    response = page(html, EMBED_CSP.format(ancestors=frame_ancestors(runtime().settings.cors_origin_list)))
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

