"""/widget.js (short URL, short cache; versioned URL, cached for a year) and the iframe embed pages."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import rjsmin
from flask import Blueprint, Response, render_template, request, url_for

from pollsvc.errors import ApiError
from pollsvc.runtime import runtime
from pollsvc.schemas import is_article_id
from pollsvc.services.reads import etag_of
from pollsvc.web import embedinfo, pageurls

STATIC = Path(__file__).parent / "static" / "widget"

bp = Blueprint("widget", __name__, template_folder="templates", static_folder="static/widget",
               static_url_path="/static/widget")

WIDGET_CACHE = "public, max-age=300"
IMMUTABLE = "public, max-age=31536000, immutable"
"""For URLs that name their content (``?v=<hash>``): a new version is a new URL."""
# Embeds may be framed by any site; they only talk to this service and load nothing inline.
EMBED_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
             "connect-src 'self'; frame-ancestors {ancestors}")


# The widget's source: small modules joined in this order (the one place it is declared) inside
# one function that prologue.js opens and epilogue.js closes, so nothing leaks into the host page
# but the ``window.__pollsvcWidget`` guard. No build step: joined (and minified) at the first request.
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
VERSION_LENGTH = 16


@dataclass(frozen=True, slots=True)
class WidgetBundle:
    source: bytes
    """The modules joined, as written."""
    data: bytes
    """What is served: the source minified (``rjsmin``; ``/*! ... */`` licence banners kept)."""
    etag: str

    @property
    def version(self) -> str:
        """What names this content in the versioned URL (``/widget.js?v=...``)."""
        return self.etag[:VERSION_LENGTH]


def _join(parts: list[bytes]) -> bytes:
    return b"".join(part if part.endswith(b"\n") else part + b"\n" for part in parts)


@lru_cache(maxsize=4)
def _bundle(stamp: tuple[int, ...]) -> WidgetBundle:
    """``stamp`` (the modules' mtimes) only keys the per-process cache, so an edited module is
    served at once."""
    source = _join([(WIDGET_SRC / name).read_bytes() for name in WIDGET_MODULES])
    data = rjsmin.jsmin(source.decode("utf-8"), keep_bang_comments=True).encode("utf-8") + b"\n"
    return WidgetBundle(source, data, etag_of(data))


def widget_bundle() -> WidgetBundle:
    """The widget as served now."""
    return _bundle(tuple((WIDGET_SRC / name).stat().st_mtime_ns for name in WIDGET_MODULES))


def widget_url() -> str:
    """The versioned URL of the current widget, for our own pages. A query string, not a path:
    widget.js finds the API from its own ``src``, which must end in ``/widget.js``."""
    return url_for("widget.widget_js", v=widget_bundle().version)


@bp.get("/widget.js")
def widget_js() -> Response:
    """The embeddable widget: ETag (304 on If-None-Match). Cached for a year at the versioned URL
    (``?v=`` the current version); otherwise, and for an old or unknown version, which gets the
    current code, a short public cache: an old page never pins old code for long."""
    bundle = widget_bundle()
    response = Response(bundle.data, mimetype="text/javascript")
    response.set_etag(bundle.etag)
    response.headers["Cache-Control"] = IMMUTABLE if request.args.get("v") == bundle.version else WIDGET_CACHE
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)  # 304 when If-None-Match matches
    return response


@lru_cache(maxsize=64)
def _asset_version(name: str, stamp: int) -> str:
    return etag_of((STATIC / name).read_bytes())[:VERSION_LENGTH]


def asset_version(name: str) -> str | None:
    """The version of a file in ``static/widget`` (None when there is no such file)."""
    path = STATIC / name
    if "/" in name or not path.is_file():
        return None
    return _asset_version(name, path.stat().st_mtime_ns)


def asset_url(name: str) -> str:
    """A versioned URL of a file of ``static/widget``: cached for a year (see ``_cache_versioned``)."""
    return url_for("widget.static", filename=name, v=asset_version(name))


@bp.after_request
def _cache_versioned(response: Response) -> Response:
    """A static file asked for with its current version (``?v=``) is immutable; any other
    version gets the usual short cache."""
    if request.endpoint == "widget.static" and response.status_code in (200, 304):
        version = request.args.get("v")
        filename = (request.view_args or {}).get("filename", "")
        if version is not None and version == asset_version(str(filename)):
            response.headers["Cache-Control"] = IMMUTABLE
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


def _embed(target: embedinfo.EmbedTarget, attribute: str, value: str) -> Response:
    lang = "en" if request.args.get("lang") == "en" else "vi"
    user = request.args.get("user", "")  # a signed X-Poll-User assertion, for ``dedup: user`` polls
    base = pageurls.public_base()
    info = embedinfo.describe(target, lang)
    page_url = base + target.path(lang)
    html = render_template(
        "widget/embed.html", attribute=attribute, value=value, lang=lang, user=user, info=info,
        page_url=page_url, oembed_url=base + embedinfo.oembed_path(page_url), site_name=embedinfo.SITE_NAME,
        widget_src=widget_url(), asset_url=asset_url)
    response = page(html, EMBED_CSP.format(ancestors=frame_ancestors(runtime().settings.cors_origin_list)))
    if user:
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/embed/articles/<article_id>")
def embed_article(article_id: str) -> Response:
    """Every poll of an article, as a page for an ``<iframe>`` (posts its height to the parent)."""
    if not is_article_id(article_id):
        raise ApiError("not_found")
    return _embed(embedinfo.EmbedTarget("article", article_id), "data-pollsvc-article", article_id)


@bp.get("/embed/polls/<int:poll_id>")
def embed_poll(poll_id: int) -> Response:
    """One poll, as a page for an ``<iframe>``."""
    return _embed(embedinfo.EmbedTarget("poll", str(poll_id)), "data-pollsvc-poll", str(poll_id))
