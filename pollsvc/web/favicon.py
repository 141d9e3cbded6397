"""``/favicon.ico``: browsers ask for it on every page, the embed pages' parents included.

A real ICO (the console's ``favicon.svg`` drawn at 16, 32 and 48 px, PNG inside), cached for a day.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, request

from pollsvc.services.reads import etag_of

bp = Blueprint("favicon", __name__)

ICON = Path(__file__).parent / "static" / "favicon.ico"
CACHE = "public, max-age=86400"


@lru_cache(maxsize=1)
def icon() -> tuple[bytes, str]:
    """The file and its ETag, read once per process."""
    data = ICON.read_bytes()
    return data, etag_of(data)


@bp.get("/favicon.ico")
def favicon() -> Response:
    data, etag = icon()
    response = Response(data, mimetype="image/vnd.microsoft.icon")
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)
    return response
