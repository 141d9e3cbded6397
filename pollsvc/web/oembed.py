"""``GET /oembed``: the oEmbed provider (https://oembed.com) for the embed pages of this service.

Only URLs of this service's own embed pages are answered (``http(s)://<this host>/embed/polls/ID``
and ``/embed/articles/ID``, optionally with ``?lang=en``); the URL is parsed, never fetched. The
host must be the one the request came to (``Host``): the answer (the iframe's ``src``) is built
from the asked URL alone, so a cache keyed on the URL can't be taught another host's iframe.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, request

from pollsvc.api.common import json_response
from pollsvc.api.ratelimits import rate_limited
from pollsvc.errors import ApiError
from pollsvc.schemas import is_article_id
from pollsvc.web import embedinfo
from pollsvc.web.embedinfo import EmbedTarget

bp = Blueprint("oembed", __name__)

PROVIDER_NAME = embedinfo.SITE_NAME
CACHE_AGE = 3600
"""Seconds a consumer may keep an answer (``cache_age``): the iframe HTML only changes with the
poll's question; the poll itself is always live inside the iframe."""
HTTP_CACHE = "public, max-age=300"
DEFAULT_WIDTH = 600
MIN_SIZE = 1
EMBED_PATH = re.compile(r"/embed/(?P<section>polls|articles)/(?P<ident>[^/]+)")
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _host_key(netloc: str, scheme: str) -> str:
    """``Host:port`` lower-cased, without the scheme's default port."""
    host = netloc.lower()
    default = DEFAULT_PORTS.get(scheme)
    return host[: -len(default) - 1] if default and host.endswith(":" + default) else host


def embed_target(url: str) -> tuple[str, EmbedTarget, str]:
    """``(scheme://host, target, lang)`` of an embed page URL of this service; else 404."""
    try:
        parts = urlsplit(url.strip())
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if not port_ok or parts.scheme not in DEFAULT_PORTS or "@" in parts.netloc or not parts.netloc:
        raise ApiError("not_found", "Not an embed URL of this service.")
    own_host = _host_key(request.host, parts.scheme)
    if _host_key(parts.netloc, parts.scheme) != own_host:
        raise ApiError("not_found", "Not an embed URL of this service.")
    match = EMBED_PATH.fullmatch(parts.path)
    if match is None:
        raise ApiError("not_found", "Not an embed URL of this service.")
    section, ident = match["section"], match["ident"]
    if section == "polls" and not (ident.isascii() and ident.isdigit() and len(ident) <= 10):
        raise ApiError("not_found", "No such poll.")
    if section == "articles" and not is_article_id(ident):
        raise ApiError("not_found", "No such article.")
    lang = "en" if parse_qs(parts.query).get("lang", [""])[-1] == "en" else "vi"
    kind: embedinfo.Kind = "poll" if section == "polls" else "article"
    target = EmbedTarget(kind, str(int(ident)) if kind == "poll" else ident)
    return f"{parts.scheme}://{own_host}", target, lang


def _dimension(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) < MIN_SIZE or len(raw) > 6:
        raise ApiError("validation_error", errors={name: ["A positive whole number of pixels."]})
    return int(raw)


def iframe_html(src: str, title: str, width: int, height: int) -> str:
    return (f'<iframe src="{escape(src)}" title="{escape(title)}" width="{width}" height="{height}" '
            f'loading="lazy" style="border:0;max-width:100%" referrerpolicy="strict-origin-when-cross-origin">'
            f"</iframe>")


@bp.get("/oembed")
@rate_limited("public_read")
def oembed() -> Response:
    """The oEmbed answer (``type: rich``) for an embed page URL of this service."""
    url = request.args.get("url", "")
    if not url.strip():
        raise ApiError("bad_request", "The url parameter is required: the URL of an embed page.")
    response_format = request.args.get("format", "json")
    if response_format != "json":
        raise ApiError("not_implemented", "Only format=json is provided.")
    max_width, max_height = _dimension("maxwidth"), _dimension("maxheight")
    base, target, lang = embed_target(url)
    info = embedinfo.describe(target, lang)
    if target.kind == "poll" and not info.found:
        raise ApiError("not_found", "No such poll.")
    width = min(DEFAULT_WIDTH, max_width) if max_width else DEFAULT_WIDTH
    height = min(info.height, max_height) if max_height else info.height
    body = {
        "type": "rich",
        "version": "1.0",
        "title": info.title,
        "provider_name": PROVIDER_NAME,
        "provider_url": base + "/",
        "cache_age": CACHE_AGE,
        "html": iframe_html(base + target.path(lang), info.title, width, height),
        "width": width,
        "height": height,
    }
    return json_response(body, headers={"Cache-Control": HTTP_CACHE, "Cross-Origin-Resource-Policy": "cross-origin"})
